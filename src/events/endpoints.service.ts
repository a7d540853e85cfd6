/**
 * Webhook endpoints of a workspace and their delivery log. A signing secret (`whsec_…`, Standard Webhooks) is
 * generated here, shown once, sealed at rest; rotating it keeps the old one signing for an overlap period so
 * receivers can switch without losing a delivery. URLs pass the SSRF guard (url-guard.ts) on every change.
 */
import { randomBytes } from 'node:crypto'
import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { newId } from '../crypto/tokens.ts'
import { openColumn, sealColumn } from '../lib/secrets.ts'
import { AppError, invalidField, notFound } from '../lib/errors.ts'
import * as audit from '../audit/audit.service.ts'
import { decodeCursor, pageOf } from '../pagination.ts'
import { z } from 'zod'
import type { WorkspaceContext } from '../workspaces/workspace-context.ts'
import type { Selectable } from 'kysely'
import type { WebhookAttemptsTable, WebhookDeliveriesTable, WebhookEndpointsTable } from './events.table.ts'

type Attempt = Selectable<WebhookAttemptsTable>
import { checkOutboundUrl, UrlRefused } from '../lib/url-guard.ts'
import { emit } from './emit.ts'
import * as attemptsRepo from './attempts.repo.ts'
import * as deliveriesRepo from './deliveries.repo.ts'
import * as endpointsRepo from './endpoints.repo.ts'
import * as repo from './events.repo.ts'

export type SecretColumn = 'secret' | 'previous_secret'

const place = (workspaceId: string, endpointId: string, column: SecretColumn) => ({
  workspaceId,
  table: 'webhook_endpoints',
  rowId: endpointId,
  column,
})
export const sealEndpointSecret = (deps: ServiceDeps, ws: string, id: string, column: SecretColumn, value: string) =>
  sealColumn(deps.keyring, place(ws, id, column), value)
export const openEndpointSecret = (deps: ServiceDeps, ws: string, id: string, column: SecretColumn, sealed: string) =>
  openColumn(deps.keyring, place(ws, id, column), sealed)

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`

/** Only where the URL points, for audit rows: paths and queries may carry a receiver's own token. */
const originOf = (url: string) => {
  try {
    return new URL(url).origin
  } catch {
    return ''
  }
}

export const endpointView = (e: WebhookEndpointsTable) => ({
  id: e.id,
  url: e.url,
  description: e.description,
  eventTypes: JSON.parse(e.event_types) as string[],
  enabled: e.enabled === 1,
  disabledReason: e.disabled_reason,
  failingSince: e.failing_since,
  previousSecretUntil: e.previous_secret_until,
  createdAt: e.created_at,
  updatedAt: e.updated_at,
})

/** Refuses a URL the guard refuses, as a 422 naming the field. */
export async function guardUrl(deps: ServiceDeps, url: string): Promise<void> {
  try {
    await checkOutboundUrl(url, {
      allowHttp: deps.config.webhookAllowHttp,
      allowedNetworks: deps.config.webhookAllowedNetworks,
    })
  } catch (err) {
    if (err instanceof UrlRefused) throw invalidField('url', err.message)
    throw err
  }
}

async function endpointOf(deps: ServiceDeps, ctx: WorkspaceContext, id: string) {
  const e = await endpointsRepo.findEndpoint(deps.db, ctx.workspace.id, id)
  if (!e) throw notFound('webhook endpoint')
  return e
}

export async function createEndpoint(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  input: { url: string; eventTypes: string[]; description: string; enabled: boolean },
) {
  await guardUrl(deps, input.url)
  const ws = ctx.workspace.id
  const at = iso(ctx.caller.meta.at)
  const id = newId('whe')
  const secret = newSecret()
  const row = await deps.db.transaction().execute(async (trx) => {
    if ((await endpointsRepo.countEndpoints(trx, ws)) >= 20)
      throw new AppError(409, 'too_many_endpoints', 'A workspace can have at most 20 webhook endpoints.')
    const row: WebhookEndpointsTable = {
      id,
      workspace_id: ws,
      url: input.url,
      description: input.description,
      event_types: JSON.stringify(input.eventTypes.includes('*') ? ['*'] : [...new Set(input.eventTypes)]),
      enabled: input.enabled ? 1 : 0,
      secret: sealEndpointSecret(deps, ws, id, 'secret', secret),
      previous_secret: null,
      previous_secret_until: null,
      after_seq: await repo.lastSeq(trx),
      failing_since: null,
      disabled_reason: null,
      created_at: at,
      updated_at: at,
    }
    await endpointsRepo.insertEndpoint(trx, row)
    await audit.record(trx, ctx.caller, {
      workspaceId: ws,
      action: 'webhook.created',
      target: { type: 'webhook_endpoint', id },
      metadata: { origin: originOf(input.url), eventTypes: JSON.parse(row.event_types) },
    })
    return row
  })
  return { endpoint: endpointView(row), secret }
}

export async function listEndpoints(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  cursor: string | undefined,
  limit: number,
) {
  const after = decodeCursor(cursor, z.object({ c: z.string(), i: z.string() }))
  const rows = await endpointsRepo.listEndpoints(
    deps.db,
    ctx.workspace.id,
    after && { createdAt: after.c, id: after.i },
    limit,
  )
  return pageOf(rows, limit, endpointView, (e) => ({ c: e.created_at, i: e.id }))
}

export const getEndpoint = async (deps: ServiceDeps, ctx: WorkspaceContext, id: string) =>
  endpointView(await endpointOf(deps, ctx, id))

export async function updateEndpoint(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  id: string,
  input: { url?: string; eventTypes?: string[]; description?: string; enabled?: boolean },
) {
  const e = await endpointOf(deps, ctx, id)
  if (input.url !== undefined) await guardUrl(deps, input.url)
  const at = iso(ctx.caller.meta.at)
  const patch: Partial<WebhookEndpointsTable> = { updated_at: at }
  if (input.url !== undefined) patch.url = input.url
  if (input.description !== undefined) patch.description = input.description
  if (input.eventTypes !== undefined)
    patch.event_types = JSON.stringify(input.eventTypes.includes('*') ? ['*'] : [...new Set(input.eventTypes)])
  if (input.enabled !== undefined) {
    patch.enabled = input.enabled ? 1 : 0
    // Turned back on: the failure clock starts again.
    if (input.enabled) Object.assign(patch, { failing_since: null, disabled_reason: null })
  }
  await deps.db.transaction().execute(async (trx) => {
    await endpointsRepo.updateEndpoint(trx, ctx.workspace.id, id, patch)
    const changed = Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] !== undefined)
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'webhook.updated',
      target: { type: 'webhook_endpoint', id },
      metadata: { changed, origin: originOf(patch.url ?? e.url), enabled: input.enabled },
    })
  })
  return endpointView({ ...e, ...patch })
}

/** A new secret, shown once; the old one keeps signing for `overlapHours` (0 = retired at once). */
export async function rotateSecret(deps: ServiceDeps, ctx: WorkspaceContext, id: string, overlapHours: number) {
  await endpointOf(deps, ctx, id)
  const ws = ctx.workspace.id
  const now = ctx.caller.meta.at
  const secret = newSecret()
  // Read and written in one transaction: two rotations at once must not hand out a secret that never signs.
  const row = await deps.db.transaction().execute(async (trx) => {
    const e = (await endpointsRepo.findEndpoint(trx, ws, id))!
    const old = openEndpointSecret(deps, ws, id, 'secret', e.secret)
    const patch: Partial<WebhookEndpointsTable> = {
      secret: sealEndpointSecret(deps, ws, id, 'secret', secret),
      previous_secret: overlapHours > 0 ? sealEndpointSecret(deps, ws, id, 'previous_secret', old) : null,
      previous_secret_until: overlapHours > 0 ? iso(now + overlapHours * 3_600_000) : null,
      updated_at: iso(now),
    }
    await endpointsRepo.updateEndpoint(trx, ws, id, patch)
    await audit.record(trx, ctx.caller, {
      workspaceId: ws,
      action: 'webhook.secret_rotated',
      target: { type: 'webhook_endpoint', id },
      metadata: { overlapHours },
    })
    return { ...e, ...patch }
  })
  return { endpoint: endpointView(row), secret }
}

export async function deleteEndpoint(deps: ServiceDeps, ctx: WorkspaceContext, id: string): Promise<void> {
  const e = await endpointOf(deps, ctx, id)
  await deps.db.transaction().execute(async (trx) => {
    await endpointsRepo.deleteEndpoint(trx, ctx.workspace.id, id)
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'webhook.deleted',
      target: { type: 'webhook_endpoint', id },
      metadata: { origin: originOf(e.url) },
    })
  })
}

/** A `webhook.test` event delivered to this endpoint only (through the same log, signing and retries). */
export async function sendTestEvent(deps: ServiceDeps, ctx: WorkspaceContext, id: string) {
  const e = await endpointOf(deps, ctx, id)
  const at = iso(ctx.caller.meta.at)
  const deliveryId = newId('whd')
  await deps.db.transaction().execute(async (trx) => {
    const eventId = await emit(
      trx,
      ctx.workspace.id,
      'webhook.test',
      { endpointId: id, note: 'A test event sent from wabox.' },
      at,
    )
    await deliveriesRepo.insertDeliveries(trx, [
      {
        id: deliveryId,
        workspace_id: ctx.workspace.id,
        endpoint_id: e.id,
        event_id: eventId,
        event_type: 'webhook.test',
        state: 'pending',
        attempts: 0,
        next_attempt_at: at,
        last_status: null,
        last_error: null,
        created_at: at,
        updated_at: at,
      },
    ])
  })
  return getDelivery(deps, ctx, deliveryId)
}

// ---- delivery log ----

const attemptView = (a: Attempt) => ({
  at: a.at,
  statusCode: a.status_code,
  latencyMs: a.latency_ms,
  response: a.response_excerpt,
  error: a.error,
})

const deliveryView = (d: WebhookDeliveriesTable, attempts: Attempt[]) => ({
  id: d.id,
  endpointId: d.endpoint_id,
  eventId: d.event_id,
  eventType: d.event_type,
  state: d.state,
  attempts: d.attempts,
  nextAttemptAt: d.state === 'pending' ? d.next_attempt_at : null,
  lastStatus: d.last_status,
  lastError: d.last_error,
  createdAt: d.created_at,
  updatedAt: d.updated_at,
  log: attempts.filter((a) => a.delivery_id === d.id).map(attemptView),
})

export async function listDeliveries(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  q: deliveriesRepo.DeliveryFilter & { cursor?: string; limit: number },
) {
  const before = decodeCursor(q.cursor, z.object({ c: z.string(), i: z.string() }))
  const f = { ...q, from: q.from && iso(Date.parse(q.from)), to: q.to && iso(Date.parse(q.to)) }
  const rows = await deliveriesRepo.listDeliveries(
    deps.db,
    ctx.workspace.id,
    f,
    before && { createdAt: before.c, id: before.i },
    q.limit,
  )
  const attempts = await attemptsRepo.attemptsOf(
    deps.db,
    ctx.workspace.id,
    rows.slice(0, q.limit).map((r) => r.id),
  )
  return pageOf(
    rows,
    q.limit,
    (d) => deliveryView(d, attempts),
    (d) => ({ c: d.created_at, i: d.id }),
  )
}

export async function getDelivery(deps: ServiceDeps, ctx: WorkspaceContext, id: string) {
  const d = await deliveriesRepo.findDelivery(deps.db, ctx.workspace.id, id)
  if (!d) throw notFound('delivery')
  return deliveryView(d, await attemptsRepo.attemptsOf(deps.db, ctx.workspace.id, [d.id]))
}

/** Sends one delivery again, now, with a fresh retry budget (same event id, so receivers can deduplicate). */
export async function replayDelivery(deps: ServiceDeps, ctx: WorkspaceContext, id: string) {
  const d = await deliveriesRepo.findDelivery(deps.db, ctx.workspace.id, id)
  if (!d) throw notFound('delivery')
  const at = iso(ctx.caller.meta.at)
  await deps.db.transaction().execute(async (trx) => {
    await deliveriesRepo.updateDelivery(trx, ctx.workspace.id, id, {
      state: 'pending',
      attempts: 0,
      next_attempt_at: at,
      updated_at: at,
    })
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'webhook.delivery_replayed',
      target: { type: 'webhook_delivery', id },
      metadata: { endpointId: d.endpoint_id, eventId: d.event_id },
    })
  })
  return getDelivery(deps, ctx, id)
}

/** Every failed delivery of an endpoint created in [from, to), back in the queue. */
export async function replayFailed(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  input: { endpointId: string; from: string; to: string },
) {
  await endpointOf(deps, ctx, input.endpointId)
  const at = iso(ctx.caller.meta.at)
  const replayed = await deps.db.transaction().execute(async (trx) => {
    const n = await deliveriesRepo.requeueFailed(
      trx,
      ctx.workspace.id,
      input.endpointId,
      iso(Date.parse(input.from)),
      iso(Date.parse(input.to)),
      at,
    )
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'webhook.deliveries_replayed',
      target: { type: 'webhook_endpoint', id: input.endpointId },
      metadata: { from: input.from, to: input.to, count: n },
    })
    return n
  })
  return { replayed }
}
