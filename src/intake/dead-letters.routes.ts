/**
 * Dead letters: intake events that failed every retry, listed and replayed (channels.manage), under
 * `/workspaces/:workspaceId/intake/dead`. The same routes still answer under `…/inbox/dead`, their path before
 * the queue was named the intake (the inbox is the team's conversations now): existing API clients keep working,
 * and the OpenAPI document marks those paths deprecated.
 */
import { Elysia } from 'elysia'
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { iso } from '../clock.ts'
import * as audit from '../audit/audit.service.ts'
import { decodeCursor, listQuery, pageOf } from '../pagination.ts'
import { page, workspaceParams } from '../workspaces/workspaces.schema.ts'
import { deadLetterView, replayResult } from './intake.schema.ts'
import type { IntakeProcessor } from './processor.ts'
import * as intakeRepo from './intake.repo.ts'

const PATH = '/api/v1/workspaces/:workspaceId/intake'
/** The path these routes had first; kept as an alias. */
const DEPRECATED_PATH = '/api/v1/workspaces/:workspaceId/inbox'

export function deadLetterRoutes(deps: ServiceDeps, auth: AuthPlugin, processor: IntakeProcessor) {
  return new Elysia()
    .use(deadLetters(deps, auth, processor, PATH, false))
    .use(deadLetters(deps, auth, processor, DEPRECATED_PATH, true))
}

/** The dead-letter routes under `prefix`: the same handlers and permission checks wherever they are mounted. */
function deadLetters(
  deps: ServiceDeps,
  auth: AuthPlugin,
  processor: IntakeProcessor,
  prefix: string,
  deprecated: boolean,
) {
  const documented = (summary: string) =>
    deprecated
      ? { summary: `${summary} (deprecated path: use ${PATH.replace(/:(\w+)/g, '{$1}')}/…)`, deprecated }
      : { summary }
  return new Elysia({ prefix, tags: ['webhooks'] })
    .use(auth)
    .get(
      '/dead',
      async ({ tenant, query }) => {
        const before = decodeCursor(query.cursor, z.object({ i: z.number().int() }))
        const rows = await intakeRepo.listDead(deps.db, tenant.workspace.id, before?.i, query.limit + 1)
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
        response: page(deadLetterView),
        detail: documented('Inbound events parked after failing every retry'),
      },
    )
    .post(
      '/dead/replay',
      async ({ tenant, body }) => {
        const ids = body.ids ?? null
        const requeued = await deps.db.transaction().execute(async (trx) => {
          const n = await intakeRepo.requeueDead(trx, tenant.workspace.id, ids, iso(tenant.caller.meta.at))
          // The action keeps its first name: audit searches and exports filter on it.
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
        response: replayResult,
        detail: documented('Re-queue dead events (the given ids, or all of them)'),
      },
    )
}
