/** The conversations table: every query on it, scoped by workspace (async for requests, sync for the processor). */

import { sql, type Insertable, type Kysely, type Transaction, type Updateable } from 'kysely'
import type { Database } from '../db/database.ts'
import type { SyncDb } from '../db/client.ts'
import type { ConversationsTable } from './messaging.table.ts'

import { containing } from '../db/like.ts'

type Db = Kysely<Database> | Transaction<Database>

export const findConversation = (db: Db, workspaceId: string, conversationId: string) =>
  db
    .selectFrom('conversations')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', conversationId)
    .executeTakeFirst()

export const findConversationOf = (db: Db, workspaceId: string, channelId: string, contactId: string) =>
  db
    .selectFrom('conversations')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('channel_id', '=', channelId)
    .where('contact_id', '=', contactId)
    .executeTakeFirst()

export async function insertConversationRow(db: Db, row: Insertable<ConversationsTable>): Promise<void> {
  await db.insertInto('conversations').values(row).execute()
}

export async function updateConversation(
  db: Db,
  workspaceId: string,
  conversationId: string,
  patch: Updateable<ConversationsTable>,
): Promise<void> {
  await db
    .updateTable('conversations')
    .set(patch)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', conversationId)
    .execute()
}

export type ConversationFilter = {
  status?: 'open' | 'closed'
  channelId?: string
  unread?: boolean
  assignee?: string | null
  /** Finds the contact: `text` in its name, profile name or username (any case); `digits` in its phone number. */
  search?: { text: string; digits: string | null }
  before?: { t: string; i: string }
  limit: number
}

/** Conversations with their contact, most recent first (index: workspace_id, last_message_at, id). */
export function listConversations(db: Db, workspaceId: string, f: ConversationFilter) {
  let q = db
    .selectFrom('conversations as c')
    .innerJoin('contacts as k', (j) => j.onRef('k.id', '=', 'c.contact_id').on('k.workspace_id', '=', workspaceId))
    .selectAll('c')
    .select(['k.wa_id', 'k.bsuid', 'k.name as contact_name', 'k.profile_name', 'k.username'])
    .where('c.workspace_id', '=', workspaceId)
  if (f.status) q = q.where('c.status', '=', f.status)
  if (f.channelId) q = q.where('c.channel_id', '=', f.channelId)
  if (f.unread === true) q = q.where('c.unread_count', '>', 0)
  if (f.unread === false) q = q.where('c.unread_count', '=', 0)
  if (f.assignee === null) q = q.where('c.assignee_user_id', 'is', null)
  else if (f.assignee) q = q.where('c.assignee_user_id', '=', f.assignee)
  if (f.search) {
    const { text, digits } = f.search
    // lower() on both sides: case-insensitive on SQLite and PostgreSQL alike (PostgreSQL's LIKE is case-sensitive).
    const matches = (column: 'k.name' | 'k.profile_name' | 'k.username', value: string) =>
      sql<boolean>`lower(${sql.ref(column)}) LIKE lower(${containing(value)}) ESCAPE '\\'`
    q = q.where((eb) =>
      eb.or([
        matches('k.name', text),
        matches('k.profile_name', text),
        matches('k.username', text.replace(/^@/, '') || text),
        ...(digits ? [eb('k.wa_id', 'like', `%${digits}%`)] : []),
      ]),
    )
  }
  if (f.before)
    q = q.where((eb) =>
      eb.or([
        eb('c.last_message_at', '<', f.before!.t),
        eb.and([eb('c.last_message_at', '=', f.before!.t), eb('c.id', '<', f.before!.i)]),
      ]),
    )
  return q.orderBy('c.last_message_at', 'desc').orderBy('c.id', 'desc').limit(f.limit).execute()
}

// ---- the intake processor's synchronous hot path -------------------------------------------------
// Plain SQL on the synchronous connection (db/client.ts SyncDb): the processor runs hundreds of small statements
// per batch, and a promise plus a query build per statement cost more than the statements. SQLite dialect (DESIGN
// §12 allows it here); every statement is scoped by workspace; every insert is idempotent by its unique key.

export const conversationFor = (db: SyncDb, workspaceId: string, channelId: string, contactId: string) =>
  db.get<ConversationsTable>(
    'SELECT * FROM conversations WHERE workspace_id = ? AND channel_id = ? AND contact_id = ?',
    workspaceId,
    channelId,
    contactId,
  )

export function insertConversation(db: SyncDb, c: ConversationsTable): void {
  db.run(
    `INSERT INTO conversations (id, workspace_id, channel_id, contact_id, status, assignee_user_id, unread_count, last_message_at, last_inbound_at, last_message_preview, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    c.id,
    c.workspace_id,
    c.channel_id,
    c.contact_id,
    c.status,
    c.assignee_user_id,
    c.unread_count,
    c.last_message_at,
    c.last_inbound_at,
    c.last_message_preview,
    c.created_at,
    c.updated_at,
  )
}

/** Records a new inbound message on its conversation: unread +1, clocks forward, reopened. */
export function bumpConversation(
  db: SyncDb,
  workspaceId: string,
  id: string,
  u: { lastInboundAt: string; lastMessageAt: string; preview: string | null; updatedAt: string },
): void {
  db.run(
    `UPDATE conversations SET unread_count = unread_count + 1, last_inbound_at = ?, last_message_at = ?,
       last_message_preview = coalesce(?, last_message_preview), status = 'open', updated_at = ?
     WHERE workspace_id = ? AND id = ?`,
    u.lastInboundAt,
    u.lastMessageAt,
    u.preview,
    u.updatedAt,
    workspaceId,
    id,
  )
}

/** Records a message the business sent from elsewhere: clocks and preview move, nothing becomes unread. */
export function touchConversationOutbound(
  db: SyncDb,
  workspaceId: string,
  id: string,
  u: { lastMessageAt: string; preview: string | null; updatedAt: string },
): void {
  db.run(
    `UPDATE conversations SET last_message_at = max(last_message_at, ?), last_message_preview = coalesce(?, last_message_preview), updated_at = ?
     WHERE workspace_id = ? AND id = ?`,
    u.lastMessageAt,
    u.preview,
    u.updatedAt,
    workspaceId,
    id,
  )
}
