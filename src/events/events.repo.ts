/**
 * The events table: what happened, in order (`seq`), written in the transaction of the change it describes; and
 * retention, which prunes old events with the deliveries that point at them. Every query on tenant rows names the
 * workspace.
 */
import type { Insertable, Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { SyncDb } from '../db/client.ts'
import type { EventsTable } from './events.table.ts'

type Db = Kysely<Database> | Transaction<Database>

const PRUNE_BATCH = 500

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
