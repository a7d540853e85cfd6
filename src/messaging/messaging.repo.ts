/** Contacts, conversations, messages and delivery statuses: queries only, every one scoped by workspace. */
import { sql, type Insertable, type Kysely, type Transaction, type Updateable } from 'kysely'
import type { Database } from '../db/database.ts'
import type { ContactsTable, ConversationsTable, MessagesTable } from './messaging.table.ts'

type Db = Kysely<Database> | Transaction<Database>

// ---- contacts ---------------------------------------------------------------------------------------

export const findContact = (db: Db, workspaceId: string, contactId: string) =>
  db
    .selectFrom('contacts')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', contactId)
    .executeTakeFirst()

/** By phone (wa_id): the send API addresses people by number. */
export const findContactByPhone = (db: Db, workspaceId: string, waId: string) =>
  db
    .selectFrom('contacts')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('wa_id', '=', waId)
    .executeTakeFirst()

export async function insertContactRow(db: Db, row: Insertable<ContactsTable>): Promise<void> {
  await db.insertInto('contacts').values(row).execute()
}

export async function updateContact(
  db: Db,
  workspaceId: string,
  contactId: string,
  patch: Updateable<ContactsTable>,
): Promise<void> {
  await db
    .updateTable('contacts')
    .set(patch)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', contactId)
    .execute()
}

/** A LIKE pattern matching `text` anywhere, its wildcards (`%`, `_`) and the escape character taken literally. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

export function listContacts(
  db: Db,
  workspaceId: string,
  f: { q?: string; optedOut?: boolean; before?: { u: string; i: string }; limit: number },
) {
  let q = db.selectFrom('contacts').selectAll().where('workspace_id', '=', workspaceId)
  if (f.q) {
    const like = containing(f.q)
    q = q.where((eb) =>
      eb.or([
        eb(sql`wa_id`, 'like', sql`${like} ESCAPE '\\'`),
        eb(sql`coalesce(name, '')`, 'like', sql`${like} ESCAPE '\\'`),
        eb(sql`coalesce(profile_name, '')`, 'like', sql`${like} ESCAPE '\\'`),
        eb(sql`coalesce(username, '')`, 'like', sql`${like} ESCAPE '\\'`),
      ]),
    )
  }
  if (f.optedOut !== undefined) q = q.where('opted_out', '=', f.optedOut ? 1 : 0)
  if (f.before)
    q = q.where((eb) =>
      eb.or([
        eb('updated_at', '<', f.before!.u),
        eb.and([eb('updated_at', '=', f.before!.u), eb('id', '<', f.before!.i)]),
      ]),
    )
  return q.orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute()
}

// ---- conversations ----------------------------------------------------------------------------------

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

// ---- messages ---------------------------------------------------------------------------------------

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
  const early = await db
    .selectFrom('message_statuses')
    .select(['status', 'occurred_at'])
    .where('workspace_id', '=', workspaceId)
    .where('wamid', '=', wamid)
    .execute()
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
