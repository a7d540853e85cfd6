/**
 * audit.record(): one row per sensitive action, written with the same transaction handle as the change
 * itself, so a change that rolls back leaves no audit row and an audited change cannot lose its row.
 */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { Caller } from '../auth/principal.ts'
import { redactSecrets } from '../crypto/redact.ts'
import { iso } from '../clock.ts'
import { z } from 'zod'
import { decodeCursor, pageOf } from '../pagination.ts'
import * as auditRepo from './audit.repo.ts'
import type { AuditEntryView, AuditQuery } from './audit.schema.ts'

export type AuditEntry = {
  workspaceId: string | null
  action: string
  target?: { type: string; id: string }
  /** Context worth keeping (names, roles, counts). Credential-named fields are stripped regardless. */
  metadata?: Record<string, unknown>
}

export async function record(
  trx: Transaction<Database> | Kysely<Database>,
  caller: Caller,
  entry: AuditEntry,
): Promise<void> {
  await auditRepo.insert(trx, {
    workspace_id: entry.workspaceId,
    created_at: iso(caller.meta.at),
    action: entry.action,
    actor_type: caller.actor.type,
    actor_id: caller.actor.id,
    actor_label: caller.actor.label,
    target_type: entry.target?.type ?? null,
    target_id: entry.target?.id ?? null,
    metadata: JSON.stringify(redactSecrets(entry.metadata ?? {})),
    ip: caller.meta.ip,
    request_id: caller.meta.requestId,
  })
}

const entryView = (r: Awaited<ReturnType<typeof auditRepo.list>>[number]): AuditEntryView => ({
  id: r.id,
  workspaceId: r.workspace_id,
  at: r.created_at,
  action: r.action,
  actor: { type: r.actor_type, id: r.actor_id, label: r.actor_label },
  target: r.target_type && r.target_id ? { type: r.target_type, id: r.target_id } : null,
  metadata: JSON.parse(r.metadata) as Record<string, unknown>,
  ip: r.ip,
  requestId: r.request_id,
})

/** A page of audit entries, newest first; `workspaceId: null` reads the instance-level log. */
export async function listEntries(db: Kysely<Database>, workspaceId: string | null, q: AuditQuery) {
  const before = decodeCursor(q.cursor, z.object({ i: z.number().int() }))
  const rows = await auditRepo.list(db, {
    workspaceId,
    action: q.action,
    actorId: q.actor,
    from: q.from ? iso(Date.parse(q.from)) : undefined,
    to: q.to ? iso(Date.parse(q.to)) : undefined,
    beforeId: before?.i,
    limit: q.limit + 1,
  })
  return pageOf(rows, q.limit, entryView, (r) => ({ i: r.id }))
}

const CSV_COLUMNS = [
  'id',
  'at',
  'action',
  'actor_type',
  'actor_id',
  'actor_label',
  'target_type',
  'target_id',
  'ip',
  'request_id',
  'metadata',
] as const

/** RFC 4180 CSV; cells that a spreadsheet would run as a formula are prefixed with a quote. */
export function toCsv(entries: AuditEntryView[]): string {
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v)
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }
  const lines = entries.map((e) =>
    [
      e.id,
      e.at,
      e.action,
      e.actor.type,
      e.actor.id,
      e.actor.label,
      e.target?.type,
      e.target?.id,
      e.ip,
      e.requestId,
      e.metadata,
    ]
      .map(cell)
      .join(','),
  )
  return `${[CSV_COLUMNS.join(','), ...lines].join('\r\n')}\r\n`
}
