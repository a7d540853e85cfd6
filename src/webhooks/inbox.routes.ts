/** Dead letters: inbox events that failed every retry, listed and replayed (channels.manage). */
import { Elysia } from 'elysia'
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { iso } from '../clock.ts'
import * as audit from '../audit/audit.service.ts'
import { decodeCursor, listQuery, pageOf } from '../pagination.ts'
import { workspaceParams } from '../workspaces/workspaces.schema.ts'
import type { InboxProcessor } from './processor.ts'
import * as inboxRepo from './inbox.repo.ts'

export function inboxRoutes(deps: ServiceDeps, auth: AuthPlugin, processor: InboxProcessor) {
  return new Elysia({ prefix: '/api/v1/workspaces/:workspaceId/inbox', tags: ['webhooks'] })
    .use(auth)
    .get(
      '/dead',
      async ({ tenant, query }) => {
        const before = decodeCursor(query.cursor, z.object({ i: z.number().int() }))
        const rows = await inboxRepo.listDead(deps.db, tenant.workspace.id, before?.i, query.limit + 1)
        return pageOf(
          rows,
          query.limit,
          (r) => ({
            id: r.id,
            channelId: r.channel_id,
            kind: r.kind,
            attempts: r.attempts,
            lastError: r.last_error,
            receivedAt: r.received_at,
            event: JSON.parse(r.payload),
          }),
          (r) => ({ i: r.id }),
        )
      },
      {
        permission: 'channels.manage',
        params: workspaceParams,
        query: listQuery,
        detail: { summary: 'Webhook events parked after failing every retry' },
      },
    )
    .post(
      '/dead/replay',
      async ({ tenant, body }) => {
        const ids = body.ids ?? null
        const requeued = await deps.db.transaction().execute(async (trx) => {
          const n = await inboxRepo.requeueDead(trx, tenant.workspace.id, ids, iso(tenant.caller.meta.at))
          await audit.record(trx, tenant.caller, {
            workspaceId: tenant.workspace.id,
            action: 'inbox.replayed',
            metadata: { requeued: n, ids: ids ?? 'all' },
          })
          return n
        })
        processor.wake()
        return { requeued }
      },
      {
        permission: 'channels.manage',
        params: workspaceParams,
        body: z.object({ ids: z.array(z.number().int().positive()).max(1000).optional() }),
        detail: { summary: 'Re-queue dead events (the given ids, or all of them)' },
      },
    )
}
