/**
 * Applies one inbound event to the workspace's data, inside the processor's synchronous transaction (which
 * also marks the intake event processed). Every step is idempotent on its own as well — a message is inserted
 * once per wamid, a status once per (wamid, status) — so a replayed event changes nothing.
 */
import type { SyncDb } from '../db/client.ts'
import { newId } from '../crypto/tokens.ts'
import type {
  ChannelNoticeEvent,
  InboundEvent,
  InboundMessageEvent,
  InboundStatusEvent,
} from '../channels/inbound-events.ts'
import type { ContactsTable, ConversationsTable } from './messaging.table.ts'
import { emitSync } from '../events/emit.ts'
import { safeMimeType } from './mime.ts'
import * as channelEventsRepo from '../channels/channel-events.repo.ts'
import * as channelsRepo from '../channels/channels.repo.ts'
import * as contactsRepo from './contacts.repo.ts'
import * as conversationsRepo from './conversations.repo.ts'
import * as messagesRepo from './messages.repo.ts'
import * as outboxRepo from './outbox.repo.ts'
import * as statusesRepo from './message-statuses.repo.ts'
import { messageDetailOf, statusDetailOf, withStatusReport } from './message-detail.ts'

/** How far along a delivery is. A status never moves a message backwards (read stays read). */
const STATUS_RANK: Record<string, number> = {
  queued: 0,
  sending: 0,
  sent: 1,
  delivered: 2,
  failed: 2.5,
  read: 3,
  played: 4,
}
const rank = (s: string) => STATUS_RANK[s] ?? -1

export type ApplyResult = { conversationId?: string; messageId?: string; created: boolean }

export function applyInbound(
  db: SyncDb,
  workspaceId: string,
  channelId: string,
  event: InboundEvent,
  now: string,
): ApplyResult {
  switch (event.kind) {
    case 'message':
      return applyMessage(db, workspaceId, channelId, event, now)
    case 'status':
      return applyStatus(db, workspaceId, channelId, event, now)
    case 'field':
      return applyNotice(db, workspaceId, channelId, event)
    case 'unknown':
      // The processor parks these as dead letters before applying anything (intake/processor.ts).
      throw new Error(`wabox does not know this notice: ${event.reason}`)
  }
}

/** Finds the contact by phone (wa_id) or business-scoped id, creating it or filling in what is new. */
function upsertContact(db: SyncDb, workspaceId: string, c: InboundMessageEvent['contact'], now: string): ContactsTable {
  const found =
    (c.waId ? contactsRepo.contactByWaId(db, workspaceId, c.waId) : undefined) ??
    (c.bsuid ? contactsRepo.contactByBsuid(db, workspaceId, c.bsuid) : undefined)
  if (!found) {
    if (!c.waId && !c.bsuid) throw new Error('inbound message names no sender (neither wa_id nor user_id)')
    const contact: ContactsTable = {
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
    contactsRepo.insertContact(db, contact)
    return contact
  }
  // Another contact may already hold the id this one would gain (seen first under that id alone): leave it there
  // rather than break the one-contact-per-id rule.
  const gainWaId = !found.wa_id && c.waId && !contactsRepo.contactByWaId(db, workspaceId, c.waId)
  const gainBsuid = !found.bsuid && c.bsuid && !contactsRepo.contactByBsuid(db, workspaceId, c.bsuid)
  const next = {
    profile_name: c.profileName ?? found.profile_name,
    username: c.username ?? found.username,
    wa_id: gainWaId ? c.waId : found.wa_id,
    bsuid: gainBsuid ? c.bsuid : found.bsuid,
  }
  const changed = (['profile_name', 'username', 'wa_id', 'bsuid'] as const).filter((k) => next[k] !== found[k])
  if (changed.length > 0) {
    contactsRepo.refreshContact(db, workspaceId, found.id, { ...next, updated_at: now })
    const contact = { ...found, ...next, updated_at: now }
    emitSync(db, workspaceId, 'contact.updated', { ...contactPayload(contact), changed: changed.map(camel) }, now)
    return contact
  }
  return found
}

const camel = (k: string) => k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase())
export const contactPayload = (c: ContactsTable) => ({
  contactId: c.id,
  waId: c.wa_id,
  profileName: c.profile_name,
  name: c.name,
  optedOut: c.opted_out === 1,
})

const preview = (e: InboundMessageEvent) => (e.text ?? `[${e.type}]`).slice(0, 200)
const later = (a: string | null, b: string) => (a && a > b ? a : b)

function applyMessage(
  db: SyncDb,
  workspaceId: string,
  channelId: string,
  e: InboundMessageEvent,
  now: string,
): ApplyResult {
  const contact = upsertContact(db, workspaceId, e.contact, now)
  let conversation = conversationsRepo.conversationFor(db, workspaceId, channelId, contact.id)
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
    } satisfies ConversationsTable
    conversationsRepo.insertConversation(db, conversation)
    emitSync(
      db,
      workspaceId,
      'conversation.created',
      { conversationId: conversation.id, channelId, contactId: contact.id, status: 'open' },
      now,
    )
  }
  const messageId = newId('msg')
  const detail = messageDetailOf(e)
  const created = messagesRepo.insertMessageOnce(db, {
    id: messageId,
    workspace_id: workspaceId,
    conversation_id: conversation.id,
    channel_id: channelId,
    wamid: e.wamid,
    direction: e.fromMe ? 'out' : 'in',
    type: e.type,
    text: e.text,
    content: JSON.stringify(e.content),
    context_wamid: e.contextWamid,
    status: e.fromMe ? 'sent' : 'received',
    status_at: e.sentAt,
    error_code: e.error?.code ?? null,
    error_title: e.error?.title ?? null,
    error_details: e.error?.details ?? null,
    pricing: null,
    media_id: e.media?.id ?? null,
    media_mime: safeMimeType(e.media?.mime),
    media_sha256: e.media?.sha256 ?? null,
    media_filename: e.media?.filename ?? null,
    media_path: null,
    media_size: null,
    media_state: e.media ? 'pending' : null,
    media_attempts: 0,
    sent_at: e.sentAt,
    created_at: now,
    detail: detail ? JSON.stringify(detail) : null,
  })
  if (!created) return { conversationId: conversation.id, created: false }
  if (e.fromMe) {
    conversationsRepo.touchConversationOutbound(db, workspaceId, conversation.id, {
      lastMessageAt: e.sentAt,
      preview: e.sentAt >= conversation.last_message_at ? preview(e) : null,
      updatedAt: now,
    })
    emitSync(
      db,
      workspaceId,
      'message.sent',
      { messageId, conversationId: conversation.id, channelId, wamid: e.wamid, at: e.sentAt },
      now,
    )
    return { conversationId: conversation.id, messageId, created: true }
  }
  // Messages can arrive out of order: only a newer one moves the conversation's clock and preview.
  conversationsRepo.bumpConversation(db, workspaceId, conversation.id, {
    lastInboundAt: later(conversation.last_inbound_at, e.sentAt),
    lastMessageAt: later(conversation.last_message_at, e.sentAt),
    preview: e.sentAt >= conversation.last_message_at ? preview(e) : null,
    updatedAt: now,
  })
  emitSync(
    db,
    workspaceId,
    'message.received',
    {
      messageId,
      conversationId: conversation.id,
      channelId,
      wamid: e.wamid,
      contactId: contact.id,
      from: contact.wa_id,
      type: e.type,
      text: e.text,
      sentAt: e.sentAt,
      detail,
    },
    now,
  )
  // A new message reopens a closed conversation.
  if (conversation.status === 'closed') {
    emitSync(
      db,
      workspaceId,
      'conversation.updated',
      {
        conversationId: conversation.id,
        status: 'open',
        assigneeUserId: conversation.assignee_user_id,
        changed: ['status'],
      },
      now,
    )
  }
  return { conversationId: conversation.id, messageId, created: true }
}

function applyStatus(
  db: SyncDb,
  workspaceId: string,
  channelId: string,
  e: InboundStatusEvent,
  now: string,
): ApplyResult {
  const pricing = e.pricing ? JSON.stringify(e.pricing) : null
  const report = statusDetailOf(e)
  const created = statusesRepo.insertStatusOnce(db, {
    workspace_id: workspaceId,
    channel_id: channelId,
    wamid: e.wamid,
    status: e.status,
    occurred_at: e.occurredAt,
    recipient: e.recipient,
    error_code: e.error?.code ?? null,
    error_title: e.error?.title ?? null,
    error_details: e.error?.details ?? null,
    pricing,
    participant: e.group?.participant ?? '',
    detail: report ? JSON.stringify(report) : null,
  })
  let message = messagesRepo.messageByWamid(db, workspaceId, channelId, e.wamid)
  // Only wabox's own marker links a send (callbackDataFor in channels/inbound-events.ts); anything else is someone else's.
  const ours = e.callbackData?.startsWith('wabox:') ? e.callbackData.slice('wabox:'.length) : null
  if (!message && ours && messagesRepo.linkInterruptedSend(db, workspaceId, channelId, ours, e.wamid, e.occurredAt)) {
    outboxRepo.settleLinkedSend(db, workspaceId, ours, e.occurredAt)
    message = messagesRepo.messageByWamid(db, workspaceId, channelId, e.wamid)
    if (message)
      emitSync(
        db,
        workspaceId,
        'message.sent',
        { messageId: message.id, conversationId: message.conversation_id, channelId, wamid: e.wamid, at: e.occurredAt },
        now,
      )
  }
  // A status for a message sent elsewhere stays in message_statuses; a message sent later picks it up there.
  if (!message) return { created }
  if (outboxRepo.settleRequeuedSend(db, workspaceId, message.id, now)) {
    emitSync(
      db,
      workspaceId,
      'message.sent',
      { messageId: message.id, conversationId: message.conversation_id, channelId, wamid: e.wamid, at: e.occurredAt },
      now,
    )
  }
  const forward = rank(e.status) > rank(message.status)
  // The message shows the latest report of each status; every report (each group member's) stays in message_statuses.
  const detail = report ? JSON.stringify(withStatusReport(message.detail, e.status, e.occurredAt, report)) : null
  if (forward || e.error || pricing || detail) {
    messagesRepo.updateMessageStatus(db, workspaceId, message.id, {
      status: forward ? e.status : null,
      statusAt: forward ? e.occurredAt : null,
      error: e.error,
      pricing,
      detail,
    })
  }
  if (forward) {
    const about = { messageId: message.id, conversationId: message.conversation_id, channelId, wamid: e.wamid }
    if (e.status === 'failed')
      emitSync(
        db,
        workspaceId,
        'message.failed',
        {
          ...about,
          error: { code: e.error?.code ?? 0, title: e.error?.title ?? 'failed' },
          errors: e.errors ?? [],
          at: e.occurredAt,
        },
        now,
      )
    else if (e.status === 'sent' || e.status === 'delivered' || e.status === 'read' || e.status === 'played')
      emitSync(db, workspaceId, 'message.status', { ...about, status: e.status, at: e.occurredAt }, now)
  }
  return { conversationId: message.conversation_id, messageId: message.id, created }
}

function applyNotice(db: SyncDb, workspaceId: string, channelId: string, e: ChannelNoticeEvent): ApplyResult {
  channelEventsRepo.insertChannelEvent(db, {
    workspaceId,
    channelId,
    field: e.field,
    event: e.event,
    payload: JSON.stringify(e.value),
    occurredAt: e.occurredAt,
  })
  const v = e.value
  if (e.field === 'phone_number_quality_update') {
    // `current_limit` is being replaced by `max_daily_conversations_per_business` (reference §2.7).
    const limit = v.max_daily_conversations_per_business ?? v.current_limit
    channelsRepo.updateChannelStanding(db, workspaceId, channelId, {
      messagingLimit: typeof limit === 'string' ? limit : undefined,
      qualityRating: e.event ? qualityFromEvent(e.event, v) : undefined,
    })
  } else if (e.field === 'account_update' && e.event) {
    channelsRepo.updateChannelStanding(db, workspaceId, channelId, { accountStatus: e.event })
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
