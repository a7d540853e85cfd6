/** The webhook_deliveries table: one row per event and endpoint, its state, retries and outcome. */
import type { Kysely, Transaction, Updateable } from 'kysely'
import type { Database } from '../db/database.ts'
import type { WebhookDeliveriesTable } from './events.table.ts'

type Db = Kysely<Database> | Transaction<Database>

/** Once per (endpoint, event): a fan-out replayed after a crash adds nothing. */
export async function insertDeliveries(db: Db, rows: WebhookDeliveriesTable[]): Promise<void> {
  if (rows.length > 0)
    await db
      .insertInto('webhook_deliveries')
      .values(rows)
      .onConflict((oc) => oc.doNothing())
      .execute()
}

/** Pending deliveries whose time has come, to enabled endpoints (a test event goes to a disabled one too). */
export const dueDeliveries = (db: Db, now: string, limit: number) =>
  db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', (j) =>
      j.onRef('e.id', '=', 'd.endpoint_id').onRef('e.workspace_id', '=', 'd.workspace_id'),
    )
    .selectAll('d')
    .where('d.state', '=', 'pending')
    .where('d.next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('e.enabled', '=', 1), eb('d.event_type', '=', 'webhook.test')]))
    .orderBy('d.next_attempt_at')
    .limit(limit)
    .execute()

export const nextDeliveryAt = (db: Db) =>
  db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', (j) =>
      j.onRef('e.id', '=', 'd.endpoint_id').onRef('e.workspace_id', '=', 'd.workspace_id'),
    )
    .select('d.next_attempt_at')
    .where('d.state', '=', 'pending')
    .where((eb) => eb.or([eb('e.enabled', '=', 1), eb('d.event_type', '=', 'webhook.test')]))
    .orderBy('d.next_attempt_at')
    .limit(1)
    .executeTakeFirst()

export const findDelivery = (db: Db, workspaceId: string, id: string) =>
  db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst()

export async function updateDelivery(
  db: Db,
  workspaceId: string,
  id: string,
  set: Updateable<WebhookDeliveriesTable>,
): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set(set)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute()
}

export type DeliveryFilter = {
  endpointId?: string
  state?: WebhookDeliveriesTable['state']
  eventType?: string
  from?: string
  to?: string
}

export const listDeliveries = (
  db: Db,
  workspaceId: string,
  f: DeliveryFilter,
  before: { createdAt: string; id: string } | undefined,
  limit: number,
) => {
  let q = db.selectFrom('webhook_deliveries').selectAll().where('workspace_id', '=', workspaceId)
  if (f.endpointId) q = q.where('endpoint_id', '=', f.endpointId)
  if (f.state) q = q.where('state', '=', f.state)
  if (f.eventType) q = q.where('event_type', '=', f.eventType)
  if (f.from) q = q.where('created_at', '>=', f.from)
  if (f.to) q = q.where('created_at', '<', f.to)
  if (before)
    q = q.where((eb) =>
      eb.or([
        eb('created_at', '<', before.createdAt),
        eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)]),
      ]),
    )
  return q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute()
}

/** Failed deliveries of an endpoint in a time range, back to pending now (bulk replay). */
export async function requeueFailed(
  db: Db,
  workspaceId: string,
  endpointId: string,
  from: string,
  to: string,
  now: string,
): Promise<number> {
  const r = await db
    .updateTable('webhook_deliveries')
    .set({ state: 'pending', next_attempt_at: now, updated_at: now })
    .where('workspace_id', '=', workspaceId)
    .where('endpoint_id', '=', endpointId)
    .where('state', '=', 'failed')
    .where('created_at', '>=', from)
    .where('created_at', '<', to)
    .executeTakeFirst()
  return Number(r.numUpdatedRows)
}

// ---- what /metrics counts at each scrape (each an indexed or small-table query) -----------------------------

/** Webhook deliveries still pending (webhook_deliveries_due). */
export async function deliveriesPending(db: Db): Promise<number> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', '=', 'pending')
    .executeTakeFirstOrThrow()
  return Number(row.n)
}
