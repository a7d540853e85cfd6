/**
 * The intake queue's rows: insert-or-ignore by idempotency key, due rows, outcomes, dead letters.
 * The queries the processor and the dead-letter routes await go through the Kysely builder (portable); only the
 * synchronous hot path at the bottom is SQLite SQL.
 */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { SyncDb } from '../db/client.ts'

type Db = Kysely<Database> | Transaction<Database>

/** Pending rows whose time has come, oldest first, across all workspaces (the processor serves them all). */
export const due = (db: Db, now: string, limit: number) =>
  db
    .selectFrom('intake_events')
    .selectAll()
    .where('state', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .orderBy('next_attempt_at')
    .orderBy('id')
    .limit(limit)
    .execute()

export async function markFailed(
  db: Db,
  workspaceId: string,
  id: number,
  f: { attempts: number; dead: boolean; nextAttemptAt: string; error: string },
): Promise<void> {
  await db
    .updateTable('intake_events')
    .set({
      attempts: f.attempts,
      state: f.dead ? 'dead' : 'pending',
      next_attempt_at: f.nextAttemptAt,
      last_error: f.error,
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute()
}

export function listDead(db: Db, workspaceId: string, beforeId: number | undefined, limit: number) {
  let q = db.selectFrom('intake_events').selectAll().where('workspace_id', '=', workspaceId).where('state', '=', 'dead')
  if (beforeId !== undefined) q = q.where('id', '<', beforeId)
  return q.orderBy('id', 'desc').limit(limit).execute()
}

/** Puts dead rows back in the queue (all of the workspace's, or the given ids); returns how many. */
export async function requeueDead(db: Db, workspaceId: string, ids: number[] | null, now: string): Promise<number> {
  let q = db
    .updateTable('intake_events')
    .set({ state: 'pending', attempts: 0, next_attempt_at: now })
    .where('workspace_id', '=', workspaceId)
    .where('state', '=', 'dead')
  if (ids) q = q.where('id', 'in', ids.length ? ids : [-1])
  return Number((await q.executeTakeFirst()).numUpdatedRows)
}

// ---- the hot path: the intake writer's and the processor's synchronous statements -------------------------------
// Plain SQL on the synchronous connection (db/client.ts SyncDb): every acknowledgement waits on the insert, and the
// processor runs hundreds of small statements per batch; a promise plus a query build per statement would cost
// more than the statements. SQLite dialect (DESIGN §12 allows it in the sync hot-path repo functions only); every
// statement is scoped by workspace; every insert is idempotent by its unique key.

export type NewIntakeEvent = {
  workspace_id: string
  channel_id: string
  idempotency_key: string
  kind: string
  payload: string
  received_at: string
  next_attempt_at: string
}

/** The durable intake insert: a repeated idempotency key (a Meta retry, a redelivered message) is ignored. True when new. */
export function insertIntakeEventIgnoringDuplicate(db: SyncDb, r: NewIntakeEvent): boolean {
  return (
    db.run(
      'INSERT INTO intake_events (workspace_id, channel_id, idempotency_key, kind, payload, received_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      r.workspace_id,
      r.channel_id,
      r.idempotency_key,
      r.kind,
      r.payload,
      r.received_at,
      r.next_attempt_at,
    ).changes > 0
  )
}

export function markIntakeEventProcessed(db: SyncDb, workspaceId: string, id: number, at: string): void {
  db.run(
    "UPDATE intake_events SET state = 'processed', processed_at = ?, last_error = NULL WHERE workspace_id = ? AND id = ?",
    at,
    workspaceId,
    id,
  )
}

// ---- what /metrics counts at each scrape (each an indexed or small-table query) -----------------------------

/** Pending intake events and the oldest one's arrival (intake_events_pending covers both). */
export async function intakeBacklog(db: Db): Promise<{ pending: number; oldestReceivedAt: string | null }> {
  const row = await db
    .selectFrom('intake_events')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('id').as('oldest')])
    .where('state', '=', 'pending')
    .executeTakeFirstOrThrow()
  if (!row.n || row.oldest === null) return { pending: 0, oldestReceivedAt: null }
  const oldest = await db
    .selectFrom('intake_events')
    .select('received_at')
    .where('id', '=', Number(row.oldest))
    .executeTakeFirst()
  return { pending: Number(row.n), oldestReceivedAt: oldest?.received_at ?? null }
}

/** Dead letters, workspace by workspace through intake_events_dead (workspace_id, state, id). */
export async function deadLetters(db: Db): Promise<number> {
  const row = await db
    .selectFrom('intake_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', 'in', db.selectFrom('workspaces').select('id'))
    .where('state', '=', 'dead')
    .executeTakeFirstOrThrow()
  return Number(row.n)
}
