/** The outbox and idempotency keys: queries only. */
import type { Insertable, Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { IdempotencyKeysTable, OutboxTable } from './messaging.table.ts'

type Db = Kysely<Database> | Transaction<Database>

export async function insert(db: Db, row: Insertable<OutboxTable>): Promise<void> {
  await db.insertInto('outbox').values(row).execute()
}

/**
 * Channels with messages due, with their send rate: each is paced on its own, so one busy number never holds
 * up another. Driven from `channels` (few rows) so a deep backlog is never scanned.
 */
export const dueChannels = (db: Db, now: string) =>
  db
    .selectFrom('channels as c')
    .select([
      'c.workspace_id',
      'c.id as channel_id',
      'c.send_rate',
      'c.provider',
      'c.qr_settings',
      'c.linked_at',
      'c.connection_state',
    ])
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('outbox as o')
          .select('o.id')
          .whereRef('o.channel_id', '=', 'c.id')
          .where('o.state', '=', 'queued')
          .where('o.next_attempt_at', '<=', now),
      ),
    )
    .execute()

/** A channel's queued rows whose time has come, oldest first, with their message's conversation. */
export const dueFor = (db: Db, workspaceId: string, channelId: string, now: string, limit: number) =>
  db
    .selectFrom('outbox')
    .innerJoin('messages', (j) =>
      j.onRef('messages.id', '=', 'outbox.message_id').onRef('messages.workspace_id', '=', 'outbox.workspace_id'),
    )
    .selectAll('outbox')
    .select('messages.conversation_id')
    .where('outbox.workspace_id', '=', workspaceId)
    .where('outbox.channel_id', '=', channelId)
    .where('outbox.state', '=', 'queued')
    .where('outbox.next_attempt_at', '<=', now)
    .orderBy('outbox.next_attempt_at')
    .orderBy('outbox.id')
    .limit(limit)
    .execute()

export const nextDueAt = (db: Db) =>
  db
    .selectFrom('outbox')
    .select('next_attempt_at')
    .where('state', '=', 'queued')
    .orderBy('next_attempt_at')
    .limit(1)
    .executeTakeFirst()

/** Claims queued rows for sending; returns the ids claimed (a row another pass took first is left out). */
export async function claim(db: Db, workspaceId: string, ids: number[], at: string): Promise<Set<number>> {
  const rows = await db
    .updateTable('outbox')
    .set({ state: 'sending', claimed_at: at, updated_at: at })
    .where('workspace_id', '=', workspaceId)
    .where('id', 'in', ids)
    .where('state', '=', 'queued')
    .returning('id')
    .execute()
  return new Set(rows.map((r) => r.id))
}

/**
 * Records the outcome of a claimed row. Only a row still `sending` changes: a status webhook that linked
 * the send meanwhile (marking it sent) must not be undone. False when the row had moved on.
 */
export async function finishClaimed(
  db: Db,
  workspaceId: string,
  id: number,
  f: {
    state: 'queued' | 'sent' | 'failed'
    attempts: number
    nextAttemptAt?: string
    error: string | null
    at: string
  },
): Promise<boolean> {
  const r = await db
    .updateTable('outbox')
    .set({
      state: f.state,
      attempts: f.attempts,
      last_error: f.error,
      updated_at: f.at,
      claimed_at: null,
      ...(f.nextAttemptAt ? { next_attempt_at: f.nextAttemptAt } : {}),
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('state', '=', 'sending')
    .executeTakeFirst()
  return Number(r.numUpdatedRows) === 1
}

/** Pushes back every queued message to one recipient of a channel (pair-rate limit: slow that pair only). */
export async function deferRecipient(
  db: Db,
  workspaceId: string,
  channelId: string,
  recipient: string,
  until: string,
): Promise<void> {
  await db
    .updateTable('outbox')
    .set({ next_attempt_at: until })
    .where('workspace_id', '=', workspaceId)
    .where('channel_id', '=', channelId)
    .where('recipient', '=', recipient)
    .where('state', '=', 'queued')
    .where('next_attempt_at', '<', until)
    .execute()
}

/** Rows a crash left in `sending`: the send may or may not have reached the provider. */
export const interrupted = (db: Db) =>
  db
    .selectFrom('outbox')
    .innerJoin('messages', (j) =>
      j.onRef('messages.id', '=', 'outbox.message_id').onRef('messages.workspace_id', '=', 'outbox.workspace_id'),
    )
    .selectAll('outbox')
    .select(['messages.wamid', 'messages.status as message_status', 'messages.conversation_id'])
    .where('outbox.state', '=', 'sending')
    .execute()

export const findIdempotency = (db: Db, workspaceId: string, key: string) =>
  db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('key', '=', key)
    .executeTakeFirst()

export async function saveIdempotency(db: Db, row: IdempotencyKeysTable): Promise<void> {
  await db.insertInto('idempotency_keys').values(row).execute()
}
