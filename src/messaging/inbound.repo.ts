/**
 * The inbox processor's write path as plain SQL on a synchronous connection (db/client.ts SyncDb): it runs
 * hundreds of small statements per batch, and a promise plus a query build per statement cost more than
 * the statements. Every statement is scoped by workspace; every insert is idempotent by its unique key.
 */
import type { SyncDb } from '../db/client.ts'
import type { ContactsTable, ConversationsTable, MessageStatusesTable, MessagesTable } from './messaging.table.ts'

export const contactByWaId = (db: SyncDb, workspaceId: string, waId: string) =>
  db.get<ContactsTable>('SELECT * FROM contacts WHERE workspace_id = ? AND wa_id = ?', workspaceId, waId)

export const contactByBsuid = (db: SyncDb, workspaceId: string, bsuid: string) =>
  db.get<ContactsTable>('SELECT * FROM contacts WHERE workspace_id = ? AND bsuid = ?', workspaceId, bsuid)

export function insertContact(db: SyncDb, c: ContactsTable): void {
  db.run(
    `INSERT INTO contacts (id, workspace_id, wa_id, bsuid, profile_name, username, name, labels, notes, opted_out, opted_out_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    c.id,
    c.workspace_id,
    c.wa_id,
    c.bsuid,
    c.profile_name,
    c.username,
    c.name,
    c.labels,
    c.notes,
    c.opted_out,
    c.opted_out_at,
    c.created_at,
    c.updated_at,
  )
}

/** Fills in what WhatsApp newly told us about a contact (profile name, username, phone or BSUID). */
export function refreshContact(
  db: SyncDb,
  workspaceId: string,
  id: string,
  c: Pick<ContactsTable, 'profile_name' | 'username' | 'wa_id' | 'bsuid' | 'updated_at'>,
): void {
  db.run(
    'UPDATE contacts SET profile_name = ?, username = ?, wa_id = ?, bsuid = ?, updated_at = ? WHERE workspace_id = ? AND id = ?',
    c.profile_name,
    c.username,
    c.wa_id,
    c.bsuid,
    c.updated_at,
    workspaceId,
    id,
  )
}

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

/** Inserts unless the channel already has this wamid; true when the row is new. */
export function insertMessageOnce(db: SyncDb, m: MessagesTable): boolean {
  return (
    db.run(
      `INSERT INTO messages (id, workspace_id, conversation_id, channel_id, wamid, direction, type, text, content, context_wamid, status, status_at,
         error_code, error_title, error_details, pricing, media_id, media_mime, media_sha256, media_filename, media_path, media_size, media_state, media_attempts, sent_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
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
    ).changes > 0
  )
}

export const messageByWamid = (db: SyncDb, workspaceId: string, channelId: string, wamid: string) =>
  db.get<Pick<MessagesTable, 'id' | 'status' | 'conversation_id'>>(
    'SELECT id, status, conversation_id FROM messages WHERE workspace_id = ? AND channel_id = ? AND wamid = ?',
    workspaceId,
    channelId,
    wamid,
  )

/**
 * An outbound message whose send a crash interrupted (no wamid recorded): the status webhook's callback
 * data names it, and the wamid is linked here; its outbox row is then done.
 */
export function linkInterruptedSend(
  db: SyncDb,
  workspaceId: string,
  channelId: string,
  messageId: string,
  wamid: string,
  at: string,
): boolean {
  const linked =
    db.run(
      "UPDATE messages SET wamid = ?, status = 'sent', status_at = ? WHERE workspace_id = ? AND channel_id = ? AND id = ? AND direction = 'out' AND wamid IS NULL",
      wamid,
      at,
      workspaceId,
      channelId,
      messageId,
    ).changes > 0
  if (linked)
    db.run(
      "UPDATE outbox SET state = 'sent', claimed_at = NULL, last_error = NULL, updated_at = ? WHERE workspace_id = ? AND message_id = ? AND state IN ('queued', 'sending')",
      at,
      workspaceId,
      messageId,
    )
  return linked
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

export function updateMessageStatus(
  db: SyncDb,
  workspaceId: string,
  id: string,
  s: {
    status: string | null
    statusAt: string | null
    error: { code: number; title: string; details: string | null } | null
    pricing: string | null
  },
): void {
  db.run(
    `UPDATE messages SET status = coalesce(?, status), status_at = coalesce(?, status_at),
       error_code = coalesce(?, error_code), error_title = coalesce(?, error_title), error_details = coalesce(?, error_details), pricing = coalesce(?, pricing)
     WHERE workspace_id = ? AND id = ?`,
    s.status,
    s.statusAt,
    s.error?.code ?? null,
    s.error?.title ?? null,
    s.error?.details ?? null,
    s.pricing,
    workspaceId,
    id,
  )
}

export function insertStatusOnce(db: SyncDb, s: MessageStatusesTable): boolean {
  return (
    db.run(
      `INSERT INTO message_statuses (workspace_id, channel_id, wamid, status, occurred_at, recipient, error_code, error_title, error_details, pricing)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      s.workspace_id,
      s.channel_id,
      s.wamid,
      s.status,
      s.occurred_at,
      s.recipient,
      s.error_code,
      s.error_title,
      s.error_details,
      s.pricing,
    ).changes > 0
  )
}

export function insertChannelEvent(
  db: SyncDb,
  e: {
    workspaceId: string
    channelId: string
    field: string
    event: string | null
    payload: string
    occurredAt: string
  },
): void {
  db.run(
    'INSERT INTO channel_events (workspace_id, channel_id, field, event, payload, occurred_at) VALUES (?, ?, ?, ?, ?, ?)',
    e.workspaceId,
    e.channelId,
    e.field,
    e.event,
    e.payload,
    e.occurredAt,
  )
}

export function updateChannelStanding(
  db: SyncDb,
  workspaceId: string,
  channelId: string,
  s: { messagingLimit?: string; qualityRating?: string; accountStatus?: string },
): void {
  db.run(
    'UPDATE channels SET messaging_limit = coalesce(?, messaging_limit), quality_rating = coalesce(?, quality_rating), account_status = coalesce(?, account_status) WHERE workspace_id = ? AND id = ?',
    s.messagingLimit ?? null,
    s.qualityRating ?? null,
    s.accountStatus ?? null,
    workspaceId,
    channelId,
  )
}

export type NewInboxRow = {
  workspace_id: string
  channel_id: string
  idempotency_key: string
  kind: string
  payload: string
  received_at: string
  next_attempt_at: string
}

/** The durable inbox insert: a repeated idempotency key (a Meta retry) is ignored. True when new. */
export function insertInboxRowIgnoringDuplicate(db: SyncDb, r: NewInboxRow): boolean {
  return (
    db.run(
      'INSERT INTO webhook_inbox (workspace_id, channel_id, idempotency_key, kind, payload, received_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
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

export function markInboxProcessed(db: SyncDb, workspaceId: string, id: number, at: string): void {
  db.run(
    "UPDATE webhook_inbox SET state = 'processed', processed_at = ?, last_error = NULL WHERE workspace_id = ? AND id = ?",
    at,
    workspaceId,
    id,
  )
}
