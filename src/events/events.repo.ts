/** Events, endpoints, deliveries and attempts: queries only. Every query on tenant rows names the workspace. */
import type { Insertable, Kysely, Transaction, Updateable } from 'kysely'
import type { Database } from '../db/database.ts'
import type { SyncDb } from '../db/client.ts'
import type { EventsTable, WebhookDeliveriesTable, WebhookEndpointsTable } from './events.table.ts'

type Db = Kysely<Database> | Transaction<Database>

export async function insertEvent(db: Db, e: Insertable<EventsTable>): Promise<void> {
  await db.insertInto('events').values(e).execute()
}

export function insertEventSync(db: SyncDb, e: Omit<EventsTable, 'seq'>): void {
  db.run(
    'INSERT INTO events (id, workspace_id, type, data, created_at) VALUES (?, ?, ?, ?, ?)',
    e.id,
    e.workspace_id,
    e.type,
    e.data,
    e.created_at,
  )
}

export const lastSeq = async (db: Db) =>
  (
    await db
      .selectFrom('events')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst()
  )?.seq ?? 0

/** A workspace's events after `seq`, oldest first (the live stream and its resume). */
export const eventsAfter = (db: Db, workspaceId: string, seq: number, limit: number) =>
  db
    .selectFrom('events')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('seq', '>', seq)
    .orderBy('seq')
    .limit(limit)
    .execute()

/** Every workspace's events after `seq` (the fan-out to endpoints). */
export const allEventsAfter = (db: Db, seq: number, limit: number) =>
  db.selectFrom('events').selectAll().where('seq', '>', seq).orderBy('seq').limit(limit).execute()

export const findEvent = (db: Db, workspaceId: string, id: string) =>
  db.selectFrom('events').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst()

export const cursor = async (db: Db, name: string) =>
  (await db.selectFrom('event_cursors').select('seq').where('name', '=', name).executeTakeFirst())?.seq

export async function setCursor(db: Db, name: string, seq: number): Promise<void> {
  await db
    .insertInto('event_cursors')
    .values({ name, seq })
    .onConflict((oc) => oc.column('name').doUpdateSet({ seq }))
    .execute()
}

// ---- endpoints ----

export async function insertEndpoint(db: Db, e: WebhookEndpointsTable): Promise<void> {
  await db.insertInto('webhook_endpoints').values(e).execute()
}

export const findEndpoint = (db: Db, workspaceId: string, id: string) =>
  db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst()

export const listEndpoints = (
  db: Db,
  workspaceId: string,
  after: { createdAt: string; id: string } | undefined,
  limit: number,
) => {
  let q = db.selectFrom('webhook_endpoints').selectAll().where('workspace_id', '=', workspaceId)
  if (after)
    q = q.where((eb) =>
      eb.or([
        eb('created_at', '>', after.createdAt),
        eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)]),
      ]),
    )
  return q
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit + 1)
    .execute()
}

export const countEndpoints = async (db: Db, workspaceId: string) =>
  Number(
    (
      await db
        .selectFrom('webhook_endpoints')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirst()
    )?.n ?? 0,
  )

/**
 * Endpoints that get deliveries (the fan-out's view): enabled ones, and those disabled for failing — what happens
 * meanwhile waits for them. One an admin switched off gets nothing.
 */
export const receivingEndpoints = (db: Db) =>
  db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where((eb) => eb.or([eb('enabled', '=', 1), eb('disabled_reason', 'is not', null)]))
    .execute()

export async function updateEndpoint(
  db: Db,
  workspaceId: string,
  id: string,
  set: Updateable<WebhookEndpointsTable>,
): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set(set)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute()
}

export async function deleteEndpoint(db: Db, workspaceId: string, id: string): Promise<void> {
  await db.deleteFrom('webhook_endpoints').where('workspace_id', '=', workspaceId).where('id', '=', id).execute()
}

// ---- deliveries ----

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

export async function insertAttempt(db: Db, a: Insertable<Database['webhook_attempts']>): Promise<void> {
  await db.insertInto('webhook_attempts').values(a).execute()
}

export const attemptsOf = (db: Db, workspaceId: string, deliveryIds: string[]) =>
  deliveryIds.length === 0
    ? Promise.resolve([])
    : db
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('delivery_id', 'in', deliveryIds)
        .orderBy('id')
        .execute()

const PRUNE_BATCH = 500

/**
 * Deletes events and finished deliveries (with their attempts, by cascade) created before `before`, in small
 * transactions with a pause between them: the connection is shared with the API and webhook acks. Deliveries still
 * pending for an endpoint that stays disabled expire first (failed), so a forgotten endpoint cannot hold history
 * forever.
 */
export async function pruneEventsBefore(
  db: Kysely<Database>,
  before: string,
  at: string,
): Promise<{ expired: number; events: number; deliveries: number }> {
  const expired = await db
    .updateTable('webhook_deliveries')
    .set({
      state: 'failed',
      last_error: 'expired: the endpoint stayed disabled past the retention period',
      updated_at: at,
    })
    .where('state', '=', 'pending')
    .where('created_at', '<', before)
    .where('endpoint_id', 'in', (eb) => eb.selectFrom('webhook_endpoints').select('id').where('enabled', '=', 0))
    .executeTakeFirst()
  const batches = async (remove: () => Promise<number>) => {
    let total = 0
    for (;;) {
      const n = await remove()
      total += n
      if (n < PRUNE_BATCH) return total
      await new Promise((r) => setTimeout(r, 5))
    }
  }
  const deliveries = await batches(async () => {
    const r = await db
      .deleteFrom('webhook_deliveries')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('state', 'in', ['delivered', 'failed'])
          .where('created_at', '<', before)
          .limit(PRUNE_BATCH),
      )
      .executeTakeFirst()
    return Number(r.numDeletedRows)
  })
  // An event a pending delivery still needs stays.
  const events = await batches(async () => {
    const r = await db
      .deleteFrom('events')
      .where('seq', 'in', (eb) =>
        eb
          .selectFrom('events as e')
          .select('e.seq')
          .where('e.created_at', '<', before)
          .where(({ not, exists, selectFrom }) =>
            not(exists(selectFrom('webhook_deliveries as d').select('d.id').whereRef('d.event_id', '=', 'e.id'))),
          )
          .limit(PRUNE_BATCH),
      )
      .executeTakeFirst()
    return Number(r.numDeletedRows)
  })
  return { expired: Number(expired.numUpdatedRows), events, deliveries }
}
