/**
 * Applies one inbound event to the workspace's data, inside the caller's transaction (the inbox processor
 * marks the inbox row processed in the same one). Every step is idempotent on its own as well — a message
 * is inserted once per wamid, a status once per (wamid, status) — so a replayed event changes nothing.
 */
import type { Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import { newId } from '../crypto/tokens.ts'
import * as channelsRepo from '../channels/channels.repo.ts'
import type { ChannelNoticeEvent, InboundEvent, InboundMessageEvent, InboundStatusEvent } from './inbound-events.ts'
import type { ContactsTable } from './messaging.table.ts'
import * as repo from './messaging.repo.ts'

type Trx = Transaction<Database>

/** How far along a delivery is. A status never moves a message backwards (read stays read). */
const STATUS_RANK: Record<string, number> = { queued: 0, sending: 0, sent: 1, delivered: 2, failed: 2.5, read: 3, played: 4 }
const rank = (s: string) => STATUS_RANK[s] ?? -1

export type ApplyResult = { conversationId?: string; messageId?: string; created: boolean }

export async function applyInbound(trx: Trx, workspaceId: string, channelId: string, event: InboundEvent, now: string): Promise<ApplyResult> {
  switch (event.kind) {
    case 'message':
      return applyMessage(trx, workspaceId, channelId, event, now)
    case 'status':
      return applyStatus(trx, workspaceId, channelId, event)
    case 'field':
      return applyNotice(trx, workspaceId, channelId, event)
  }
}

/** Finds the contact by phone (wa_id) or business-scoped id, creating it or filling in what is new. */
async function upsertContact(trx: Trx, workspaceId: string, c: InboundMessageEvent['contact'], now: string): Promise<ContactsTable> {
  let contact = (c.waId ? await repo.findContactByWaId(trx, workspaceId, c.waId) : undefined) ?? (c.bsuid ? await repo.findContactByBsuid(trx, workspaceId, c.bsuid) : undefined)
  if (!contact) {
    if (!c.waId && !c.bsuid) throw new Error('inbound message names no sender (neither wa_id nor user_id)')
    contact = {
      id: newId('ct'),
      workspace_id: workspaceId,
      wa_id: c.waId,
      bsuid: c.bsuid,
      profile_name: c.profileName,
      username: c.username,
      name: null,
      labels: '[]',
      notes: '',
      opted_out: 0,
      opted_out_at: null,
      created_at: now,
      updated_at: now,
    }
    await repo.insertContact(trx, contact)
    return contact
  }
  const patch: Partial<ContactsTable> = {}
  if (c.profileName && c.profileName !== contact.profile_name) patch.profile_name = c.profileName
  if (c.username && c.username !== contact.username) patch.username = c.username
  if (c.waId && !contact.wa_id) patch.wa_id = c.waId
  if (c.bsuid && !contact.bsuid) patch.bsuid = c.bsuid
  if (Object.keys(patch).length > 0) {
    await repo.updateContact(trx, workspaceId, contact.id, { ...patch, updated_at: now })
    contact = { ...contact, ...patch, updated_at: now }
  }
  return contact
}

const preview = (e: InboundMessageEvent) => (e.text ?? `[${e.type}]`).slice(0, 200)
const later = (a: string | null, b: string) => (a && a > b ? a : b)

async function applyMessage(trx: Trx, workspaceId: string, channelId: string, e: InboundMessageEvent, now: string): Promise<ApplyResult> {
  const contact = await upsertContact(trx, workspaceId, e.contact, now)
  let conversation = await repo.findConversationFor(trx, workspaceId, channelId, contact.id)
  if (!conversation) {
    conversation = {
      id: newId('cv'),
      workspace_id: workspaceId,
      channel_id: channelId,
      contact_id: contact.id,
      status: 'open',
      assignee_user_id: null,
      unread_count: 0,
      last_message_at: e.sentAt,
      last_inbound_at: null,
      last_message_preview: '',
      created_at: now,
      updated_at: now,
    }
    await repo.insertConversation(trx, conversation)
  }
  const messageId = newId('msg')
  const created = await repo.insertMessageOnce(trx, {
    id: messageId,
    workspace_id: workspaceId,
    conversation_id: conversation.id,
    channel_id: channelId,
    wamid: e.wamid,
    direction: 'in',
    type: e.type,
    text: e.text,
    content: JSON.stringify(e.content),
    context_wamid: e.contextWamid,
    status: 'received',
    status_at: e.sentAt,
    error_code: e.error?.code ?? null,
    error_title: e.error?.title ?? null,
    error_details: e.error?.details ?? null,
    pricing: null,
    media_id: e.media?.id ?? null,
    media_mime: e.media?.mime ?? null,
    media_sha256: e.media?.sha256 ?? null,
    media_filename: e.media?.filename ?? null,
    media_path: null,
    media_size: null,
    media_state: e.media ? 'pending' : null,
    media_attempts: 0,
    sent_at: e.sentAt,
    created_at: now,
  })
  if (!created) return { conversationId: conversation.id, created: false }
  // Messages can arrive out of order: only a newer one moves the conversation's clock and preview.
  const newest = e.sentAt >= conversation.last_message_at
  await repo.updateConversation(trx, workspaceId, conversation.id, {
    unread_count: conversation.unread_count + 1,
    last_inbound_at: later(conversation.last_inbound_at, e.sentAt),
    last_message_at: later(conversation.last_message_at, e.sentAt),
    ...(newest ? { last_message_preview: preview(e) } : {}),
    status: 'open',
    updated_at: now,
  })
  return { conversationId: conversation.id, messageId, created: true }
}

async function applyStatus(trx: Trx, workspaceId: string, channelId: string, e: InboundStatusEvent): Promise<ApplyResult> {
  const created = await repo.insertStatusOnce(trx, {
    workspace_id: workspaceId,
    channel_id: channelId,
    wamid: e.wamid,
    status: e.status,
    occurred_at: e.occurredAt,
    recipient: e.recipient,
    error_code: e.error?.code ?? null,
    error_title: e.error?.title ?? null,
    error_details: e.error?.details ?? null,
    pricing: e.pricing ? JSON.stringify(e.pricing) : null,
  })
  const message = await repo.findMessageByWamid(trx, workspaceId, channelId, e.wamid)
  // A status for a message sent elsewhere stays in message_statuses; a message sent later picks it up there.
  if (!message) return { created }
  const patch: Parameters<typeof repo.updateMessage>[3] = {}
  if (rank(e.status) > rank(message.status)) Object.assign(patch, { status: e.status, status_at: e.occurredAt })
  if (e.error) Object.assign(patch, { error_code: e.error.code, error_title: e.error.title, error_details: e.error.details })
  if (e.pricing) patch.pricing = JSON.stringify(e.pricing)
  if (Object.keys(patch).length > 0) await repo.updateMessage(trx, workspaceId, message.id, patch)
  return { conversationId: message.conversation_id, messageId: message.id, created }
}

async function applyNotice(trx: Trx, workspaceId: string, channelId: string, e: ChannelNoticeEvent): Promise<ApplyResult> {
  await channelsRepo.insertEvent(trx, { workspace_id: workspaceId, channel_id: channelId, field: e.field, event: e.event, payload: JSON.stringify(e.value), occurred_at: e.occurredAt })
  const v = e.value
  if (e.field === 'phone_number_quality_update') {
    // `current_limit` is being replaced by `max_daily_conversations_per_business` (reference §2.7).
    const limit = v.max_daily_conversations_per_business ?? v.current_limit
    await channelsRepo.update(trx, workspaceId, channelId, { ...(typeof limit === 'string' ? { messaging_limit: limit } : {}), ...(e.event ? { quality_rating: qualityFromEvent(e.event, v) } : {}) })
  } else if (e.field === 'account_update' && e.event) {
    await channelsRepo.update(trx, workspaceId, channelId, { account_status: e.event })
  }
  return { created: true }
}

/** FLAGGED/UNFLAGGED speak of quality; throughput and tier events keep the last known rating. */
function qualityFromEvent(event: string, v: Record<string, unknown>): string | undefined {
  if (typeof v.quality_rating === 'string') return v.quality_rating
  if (event === 'FLAGGED') return 'RED'
  if (event === 'UNFLAGGED') return 'GREEN'
  return undefined
}
