/** Reading the audit log: per workspace (audit.read) and instance-level (operator). Read-only by design. */
import { Elysia } from 'elysia'
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { textAs } from '../http/responses.ts'
import { page, workspaceParams } from '../workspaces/workspaces.schema.ts'
import { auditEntryView, auditQuery, type AuditQuery } from './audit.schema.ts'
import { listEntries, toCsv } from './audit.service.ts'

/** Both routes answer a page of entries as JSON, or the same entries as CSV (`format=csv`). */
const auditLog = z
  .union([
    page(auditEntryView),
    textAs(
      'text/csv',
      "One line per entry under a header line (RFC 4180); the next page's cursor is in the X-Next-Cursor header",
    ),
  ])
  .describe('Entries, newest first: JSON, or CSV with format=csv')

export function auditRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  const respond = async (workspaceId: string | null, query: AuditQuery, set: { headers: Record<string, unknown> }) => {
    const page = await listEntries(deps.db, workspaceId, query)
    if (query.format === 'json') return page
    set.headers['content-type'] = 'text/csv; charset=utf-8'
    set.headers['content-disposition'] = `attachment; filename="audit-${workspaceId ?? 'instance'}.csv"`
    if (page.nextCursor) set.headers['x-next-cursor'] = page.nextCursor
    return toCsv(page.items)
  }
  return new Elysia({ prefix: '/api/v1', tags: ['audit'] })
    .use(auth)
    .get('/workspaces/:workspaceId/audit', ({ tenant, query, set }) => respond(tenant.workspace.id, query, set), {
      permission: 'audit.read',
      params: workspaceParams,
      query: auditQuery,
      response: auditLog,
      detail: {
        summary:
          'Audit log of the workspace, newest first; filters: action (or prefix.*), actor, from, to; format=json|csv',
      },
    })
    .get('/admin/audit', ({ query, set }) => respond(null, query, set), {
      operator: true,
      query: auditQuery,
      response: auditLog,
      detail: { summary: 'Instance-level audit log (sign-in failures, lockouts, setup), newest first' },
    })
}
