/** The messages table: every query on it, scoped by workspace (async for requests, sync for the processor). */

import type { Insertable, Kysely, Transaction, Updateable } from 'kysely'
import type { Database } from '../db/database.ts'
import type { SyncDb } from '../db/client.ts'
import type { MessagesTable } from './messaging.table.ts'

import * as statusesRepo from './message-statuses.repo.ts'

type Db = Kysely<Database> | Transaction<Database>

export const findMessage = (db: Db, workspaceId: string, messageId: string) =>
  db
    .selectFrom('messages')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', messageId)
    .executeTakeFirst()

/** A message of one conversation, named by its id or its wamid. */
export const findMessageInConversation = (db: Db, workspaceId: string, conversationId: string, ref: string) =>
  db
    .selectFrom('messages')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('conversation_id', '=', conversationId)
    .where((eb) => eb.or([eb('id', '=', ref), eb('wamid', '=', ref)]))
    .executeTakeFirst()

/**
 * The messages of one conversation with these wamids (the ones a page of messages quotes): one query per page.
 * The channel narrows it to the (workspace, channel, wamid) index; a conversation has one channel.
 */
export function messagesByWamid(
  db: Db,
  workspaceId: string,
  conversation: { id: string; channelId: string },
  wamids: string[],
) {
  if (wamids.length === 0) return Promise.resolve([])
  return db
    .selectFrom('messages')
    .select(['id', 'wamid', 'direction', 'type', 'text'])
    .where('workspace_id', '=', workspaceId)
    .where('channel_id', '=', conversation.channelId)
    .where('wamid', 'in', wamids)
    .where('conversation_id', '=', conversation.id)
    .execute()
}

export const lastInboundWithWamid = (db: Db, workspaceId: string, conversationId: string) =>
  db
    .selectFrom('messages')
    .select(['id', 'wamid'])
    .where('workspace_id', '=', workspaceId)
    .where('conversation_id', '=', conversationId)
    .where('direction', '=', 'in')
    .where('wamid', 'is not', null)
    .orderBy('sent_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()

export async function insertMessageRow(db: Db, row: Insertable<MessagesTable>): Promise<void> {
  await db.insertInto('messages').values(row).execute()
}

export function listMessages(
  db: Db,
  workspaceId: string,
  conversationId: string,
  before: { t: string; i: string } | undefined,
  limit: number,
) {
  let q = db
    .selectFrom('messages')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('conversation_id', '=', conversationId)
  if (before)
    q = q.where((eb) =>
      eb.or([eb('sent_at', '<', before.t), eb.and([eb('sent_at', '=', before.t), eb('id', '<', before.i)])]),
    )
  return q.orderBy('sent_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
}

/**
 * Records the provider's id on a sent message and moves it to `sent` — or further, when status webhooks
 * for that id arrived before the send was recorded (they wait in message_statuses).
 */
export async function markMessageSent(
  db: Db,
  workspaceId: string,
  messageId: string,
  wamid: string,
  at: string,
): Promise<void> {
  await db
    .updateTable('messages')
    .set({ wamid, status: 'sent', status_at: at })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', messageId)
    .where('status', 'in', ['queued', 'sending'])
    .execute()
  const early = await statusesRepo.reportedFor(db, workspaceId, wamid)
  const rank: Record<string, number> = { sent: 1, delivered: 2, failed: 2.5, read: 3, played: 4 }
  const furthest = early.sort((a, b) => (rank[b.status] ?? 0) - (rank[a.status] ?? 0))[0]
  if (furthest && (rank[furthest.status] ?? 0) > 1) {
    await db
      .updateTable('messages')
      .set({ status: furthest.status, status_at: furthest.occurred_at })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', messageId)
      .execute()
  }
}

export async function updateMessage(
  db: Db,
  workspaceId: string,
  messageId: string,
  patch: Updateable<MessagesTable>,
): Promise<void> {
  await db
    .updateTable('messages')
    .set(patch)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', messageId)
    .execute()
}

export const pendingMedia = (db: Db, limit: number) =>
  db
    .selectFrom('messages')
    .selectAll()
    .where('media_state', '=', 'pending')
    .orderBy('created_at')
    .limit(limit)
    .execute()

// ---- what /metrics counts at each scrape (each an indexed or small-table query) -----------------------------

/** Inbound media waiting for download (messages_media_pending). */
export async function mediaPending(db: Db): Promise<number> {
  const row = await db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('media_state', '=', 'pending')
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

// ---- the intake processor's synchronous hot path -------------------------------------------------
// Plain SQL on the synchronous connection (db/client.ts SyncDb): the processor runs hundreds of small statements
// per batch, and a promise plus a query build per statement cost more than the statements. SQLite dialect (DESIGN
// §12 allows it here); every statement is scoped by workspace; every insert is idempotent by its unique key.

/** Inserts unless the channel already has this wamid; true when the row is new. */
export function insertMessageOnce(db: SyncDb, m: MessagesTable): boolean {
  return (
    db.run(
      `INSERT INTO messages (id, workspace_id, conversation_id, channel_id, wamid, direction, type, text, content, context_wamid, status, status_at,
         error_code, error_title, error_details, pricing, media_id, media_mime, media_sha256, media_filename, media_path, media_size, media_state, media_attempts, sent_at, created_at, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      m.id,
      m.workspace_id,
      m.conversation_id,
      m.channel_id,
      m.wamid,
      m.direction,
      m.type,
      m.text,
      m.content,
      m.context_wamid,
      m.status,
      m.status_at,
      m.error_code,
      m.error_title,
      m.error_details,
      m.pricing,
      m.media_id,
      m.media_mime,
      m.media_sha256,
      m.media_filename,
      m.media_path,
      m.media_size,
      m.media_state,
      m.media_attempts,
      m.sent_at,
      m.created_at,
      m.detail,
    ).changes > 0
  )
}

export const messageByWamid = (db: SyncDb, workspaceId: string, channelId: string, wamid: string) =>
  db.get<Pick<MessagesTable, 'id' | 'status' | 'conversation_id' | 'detail'>>(
    'SELECT id, status, conversation_id, detail FROM messages WHERE workspace_id = ? AND channel_id = ? AND wamid = ?',
    workspaceId,
    channelId,
    wamid,
  )

/**
 * An outbound message whose send a crash interrupted (no wamid recorded): the status webhook's callback
 * data names it, and the wamid is linked here; its outbox row is then settled (outbox.repo settleLinkedSend).
 */
export function linkInterruptedSend(
  db: SyncDb,
  workspaceId: string,
  channelId: string,
  messageId: string,
  wamid: string,
  at: string,
): boolean {
  return (
    db.run(
      "UPDATE messages SET wamid = ?, status = 'sent', status_at = ? WHERE workspace_id = ? AND channel_id = ? AND id = ? AND direction = 'out' AND wamid IS NULL",
      wamid,
      at,
      workspaceId,
      channelId,
      messageId,
    ).changes > 0
  )
}

export function updateMessageStatus(
  db: SyncDb,
  workspaceId: string,
  id: string,
  s: {
    status: string | null
    statusAt: string | null
    error: { code: number; title: string; details: string | null } | null
    pricing: string | null
    /** The message's whole detail JSON with this status report in it; null leaves it as it is. */
    detail?: string | null
  },
): void {
  db.run(
    `UPDATE messages SET status = coalesce(?, status), status_at = coalesce(?, status_at),
       error_code = coalesce(?, error_code), error_title = coalesce(?, error_title), error_details = coalesce(?, error_details), pricing = coalesce(?, pricing),
       detail = coalesce(?, detail)
     WHERE workspace_id = ? AND id = ?`,
    s.status,
    s.statusAt,
    s.error?.code ?? null,
    s.error?.title ?? null,
    s.error?.details ?? null,
    s.pricing,
    s.detail ?? null,
    workspaceId,
    id,
  )
}
