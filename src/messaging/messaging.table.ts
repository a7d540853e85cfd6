export interface ContactsTable {
  id: string
  workspace_id: string
  wa_id: string | null
  bsuid: string | null
  profile_name: string | null
  username: string | null
  /** The name agents gave the contact (overrides the WhatsApp profile name in views). */
  name: string | null
  labels: string
  notes: string
  opted_out: number
  opted_out_at: string | null
  created_at: string
  updated_at: string
}

export interface ConversationsTable {
  id: string
  workspace_id: string
  channel_id: string
  contact_id: string
  status: 'open' | 'closed'
  assignee_user_id: string | null
  unread_count: number
  last_message_at: string
  last_inbound_at: string | null
  last_message_preview: string
  created_at: string
  updated_at: string
}

export type MediaState = 'pending' | 'stored' | 'failed'

export interface MessagesTable {
  id: string
  workspace_id: string
  conversation_id: string
  channel_id: string
  wamid: string | null
  direction: 'in' | 'out'
  type: string
  text: string | null
  /** JSON: the type-specific part (location, contacts, interactive reply, reaction, errors…). */
  content: string
  context_wamid: string | null
  status: string
  status_at: string | null
  error_code: number | null
  error_title: string | null
  error_details: string | null
  pricing: string | null
  media_id: string | null
  media_mime: string | null
  media_sha256: string | null
  media_filename: string | null
  media_path: string | null
  media_size: number | null
  media_state: MediaState | null
  media_attempts: number
  /** When WhatsApp says it happened (provider timestamp). */
  sent_at: string
  created_at: string
  /**
   * JSON (MessageDetail in messaging/message-detail.ts): what WhatsApp sent beyond the columns — every error, the
   * product asked about, the sender's identity check, parent ids, the group, unmapped fields — and, on a message
   * wabox sent, the latest status report's; null when there is nothing more.
   */
  detail: string | null
}

export interface MessageStatusesTable {
  workspace_id: string
  channel_id: string
  wamid: string
  status: string
  occurred_at: string
  recipient: string | null
  error_code: number | null
  error_title: string | null
  error_details: string | null
  pricing: string | null
  /** The member of a group a status is about; '' outside groups (each member reports its own statuses). */
  participant: import('kysely').Generated<string>
  /** JSON (StatusDetail in messaging/message-detail.ts): every error, the billing conversation, recipient ids, the group, unmapped fields. */
  detail: string | null
}

export interface OutboxTable {
  id: import('kysely').Generated<number>
  workspace_id: string
  message_id: string
  channel_id: string
  recipient: string
  /** JSON of the provider request, built and validated when the message was queued. */
  request: string
  state: 'queued' | 'sending' | 'sent' | 'failed'
  attempts: number
  next_attempt_at: string
  claimed_at: string | null
  last_error: string | null
  created_at: string
  updated_at: string
}

export interface IdempotencyKeysTable {
  workspace_id: string
  key: string
  request_hash: string
  status: number
  response: string
  created_at: string
}
