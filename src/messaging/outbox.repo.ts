/**
 * The outbox table and its state machine, in one place: a message is queued (insert) → claimed by the sender
 * (claim: `sending`) → `sent`, back to `queued` with a later attempt, or `failed` (finishClaimed, guarded so a
 * status webhook that settled the send first is never undone); a status webhook settles a send that a crash
 * interrupted (settleLinkedSend, settleRequeuedSend); a pair-rate refusal pushes a recipient's rows back
 * (deferRecipient).
 */

import type { Insertable, Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { SyncDb } from '../db/client.ts'
import type { OutboxTable } from './messaging.table.ts'

type Db = Kysely<Database> | Transaction<Database>

export async function insert(db: Db, row: Insertable<OutboxTable>): Promise<void> {
  await db.insertInto('outbox').values(row).execute()
}

/**
 * Channels with messages due, with what their pace depends on: each is paced on its own, so one busy number never holds
 * up another. Driven from `channels` (few rows) so a deep backlog is never scanned.
 */
export const dueChannels = (db: Db, now: string) =>
  db
    .selectFrom('channels as c')
    // What the channel's provider paces it by (provider.ts DueChannel).
    .select([
      'c.workspace_id',
      'c.id',
      'c.provider',
      'c.send_rate',
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

/** Send starts of a channel since `since` (a pacer's memory across restarts). */
export const sendStartsSince = (db: Db, workspaceId: string, channelId: string, since: string) =>
  db
    .selectFrom('outbox')
    .select('updated_at')
    .where('workspace_id', '=', workspaceId)
    .where('channel_id', '=', channelId)
    .where('state', 'in', ['sent', 'sending'])
    .where('updated_at', '>=', since)
    .execute()

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

// ---- what /metrics counts at each scrape (each an indexed or small-table query) -----------------------------

/**
 * Queued messages per channel (the partial index outbox_channel_due holds queued rows only), and those being sent,
 * channel by channel through outbox_channel_recent (channel_id, state, …).
 */
export async function outboxDepth(db: Db): Promise<{ channel_id: string; state: 'queued' | 'sending'; n: number }[]> {
  const queued = await db
    .selectFrom('outbox')
    .select((eb) => ['channel_id', eb.fn.countAll<number>().as('n')])
    .where('state', '=', 'queued')
    .groupBy('channel_id')
    .execute()
  const sending = await db
    .selectFrom('outbox')
    .select((eb) => ['channel_id', eb.fn.countAll<number>().as('n')])
    .where('channel_id', 'in', db.selectFrom('channels').select('id'))
    .where('state', '=', 'sending')
    .groupBy('channel_id')
    .execute()
  return [
    ...queued.map((r) => ({ ...r, state: 'queued' as const })),
    ...sending.map((r) => ({ ...r, state: 'sending' as const })),
  ].map((r) => ({ ...r, n: Number(r.n) }))
}

// ---- the intake processor's synchronous hot path -------------------------------------------------
// Plain SQL on the synchronous connection (db/client.ts SyncDb): the processor runs hundreds of small statements
// per batch, and a promise plus a query build per statement cost more than the statements. SQLite dialect (DESIGN
// §12 allows it here); every statement is scoped by workspace; every insert is idempotent by its unique key.

/** The outbox row of a send whose wamid a status webhook just linked (messages.repo linkInterruptedSend): done. */
export function settleLinkedSend(db: SyncDb, workspaceId: string, messageId: string, at: string): void {
  db.run(
    "UPDATE outbox SET state = 'sent', claimed_at = NULL, last_error = NULL, updated_at = ? WHERE workspace_id = ? AND message_id = ? AND state IN ('queued', 'sending')",
    at,
    workspaceId,
    messageId,
  )
}

/**
 * A status for a message whose send is back in the queue (a crash or an unclear failure interrupted it, on any
 * attempt): WhatsApp has it, so it is done — it must not go out again. A send not yet made has no status to
 * receive (its id is known only to wabox). True when such a row was settled.
 */
export function settleRequeuedSend(db: SyncDb, workspaceId: string, messageId: string, at: string): boolean {
  return (
    db.run(
      "UPDATE outbox SET state = 'sent', claimed_at = NULL, last_error = NULL, updated_at = ? WHERE workspace_id = ? AND message_id = ? AND state = 'queued'",
      at,
      workspaceId,
      messageId,
    ).changes > 0
  )
}
