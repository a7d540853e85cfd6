/** Reading conversations, messages and contacts; editing contacts; serving stored media. */
import { z } from 'zod'
import { join } from 'node:path'
import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { AppError, notFound, invalidField } from '../lib/errors.ts'
import * as audit from '../audit/audit.service.ts'
import { decodeCursor, pageOf } from '../pagination.ts'
import type { WorkspaceContext } from '../workspaces/workspace-context.ts'
import type { ContactsTable, MessagesTable } from './messaging.table.ts'
import type { MessageStatus } from './messaging.schema.ts'
import { sendTargetOf } from '../channels/send-targets.ts'
import { emit } from '../events/emit.ts'
import { contactPayload } from './inbound.service.ts'
import * as membershipsRepo from '../workspaces/memberships.repo.ts'
import { contentTypeOf, safeMimeType } from './mime.ts'
import { parseDetail } from './message-detail.ts'
import * as contactsRepo from './contacts.repo.ts'
import * as conversationsRepo from './conversations.repo.ts'
import * as messagesRepo from './messages.repo.ts'

const contactView = (c: ContactsTable) => ({
  id: c.id,
  waId: c.wa_id,
  phone: c.wa_id ? `+${c.wa_id}` : null,
  bsuid: c.bsuid,
  displayName: c.name ?? c.profile_name ?? c.username ?? (c.wa_id ? `+${c.wa_id}` : c.bsuid),
  name: c.name,
  profileName: c.profile_name,
  username: c.username,
  labels: JSON.parse(c.labels) as string[],
  notes: c.notes,
  optedOut: c.opted_out === 1,
  optedOutAt: c.opted_out_at,
  createdAt: c.created_at,
  updatedAt: c.updated_at,
})

/** The message a reply quotes, when it is in the same conversation (it may be older than the loaded page). */
export type QuotedMessage = { id: string; direction: 'in' | 'out'; type: string; text: string | null }

export const messageView = (m: MessagesTable, quoted: QuotedMessage | null) => ({
  id: m.id,
  conversationId: m.conversation_id,
  channelId: m.channel_id,
  wamid: m.wamid,
  direction: m.direction,
  type: m.type,
  text: m.text,
  content: JSON.parse(m.content) as Record<string, unknown>,
  replyTo: m.context_wamid,
  quoted,
  // A closed set (MESSAGE_STATUSES): sends write queued/sent/failed, the inbox received/sent, and a status webhook
  // only moves a message to a status its rank knows (inbound.service.ts STATUS_RANK).
  status: m.status as MessageStatus,
  statusAt: m.status_at,
  error: m.error_code !== null ? { code: m.error_code, title: m.error_title, details: m.error_details } : null,
  pricing: m.pricing ? (JSON.parse(m.pricing) as Record<string, unknown>) : null,
  media: m.media_id
    ? {
        mimeType: safeMimeType(m.media_mime),
        filename: m.media_filename,
        size: m.media_size,
        state: m.media_state,
        sha256: m.media_sha256,
      }
    : null,
  sentAt: m.sent_at,
  detail: parseDetail(m.detail),
})

type ConversationRow = Awaited<ReturnType<typeof conversationsRepo.listConversations>>[number]
const conversationView = (c: ConversationRow) => ({
  id: c.id,
  channelId: c.channel_id,
  status: c.status,
  assigneeUserId: c.assignee_user_id,
  unreadCount: c.unread_count,
  lastMessageAt: c.last_message_at,
  lastInboundAt: c.last_inbound_at,
  lastMessagePreview: c.last_message_preview,
  contact: {
    id: c.contact_id,
    waId: c.wa_id,
    displayName: c.contact_name ?? c.profile_name ?? c.username ?? (c.wa_id ? `+${c.wa_id}` : c.bsuid),
    phone: c.wa_id ? `+${c.wa_id}` : null,
    username: c.username,
  },
  createdAt: c.created_at,
})

const timeCursor = z.object({ t: z.string(), i: z.string() })

/**
 * What `q` looks for: the text in names and usernames; and, when it reads like a phone number (digits, with or
 * without `+`, spaces, dashes, dots or brackets), its digits in the contact's number.
 */
export function conversationSearch(q: string | undefined): { text: string; digits: string | null } | undefined {
  if (!q) return undefined
  const digits = /^\+?[\d\s().-]+$/.test(q) ? q.replace(/\D/g, '') : ''
  return { text: q, digits: digits || null }
}

export async function listConversations(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  q: {
    q?: string
    status?: 'open' | 'closed'
    channelId?: string
    unread?: boolean
    assignee?: string
    cursor?: string
    limit: number
  },
) {
  const assignee =
    q.assignee === undefined
      ? undefined
      : q.assignee === 'none'
        ? null
        : q.assignee === 'me'
          ? (ctx.caller.actor.id ?? '')
          : q.assignee
  const rows = await conversationsRepo.listConversations(deps.db, ctx.workspace.id, {
    status: q.status,
    channelId: q.channelId,
    unread: q.unread,
    assignee,
    search: conversationSearch(q.q),
    before: decodeCursor(q.cursor, timeCursor),
    limit: q.limit + 1,
  })
  return pageOf(rows, q.limit, conversationView, (c) => ({ t: c.last_message_at, i: c.id }))
}

async function conversationOf(deps: ServiceDeps, ctx: WorkspaceContext, conversationId: string) {
  const c = await conversationsRepo.findConversation(deps.db, ctx.workspace.id, conversationId)
  if (!c) throw notFound('conversation')
  return c
}

export async function getConversation(deps: ServiceDeps, ctx: WorkspaceContext, conversationId: string) {
  const c = await conversationOf(deps, ctx, conversationId)
  const contact = (await contactsRepo.findContact(deps.db, ctx.workspace.id, c.contact_id))!
  return {
    ...conversationView({
      ...c,
      wa_id: contact.wa_id,
      bsuid: contact.bsuid,
      contact_name: contact.name,
      profile_name: contact.profile_name,
      username: contact.username,
    }),
    contact: contactView(contact),
  }
}

/** Closes or reopens a conversation, or (un)assigns it to a member of the workspace. */
export async function updateConversation(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  conversationId: string,
  input: { status?: 'open' | 'closed'; assigneeUserId?: string | null },
) {
  const c = await conversationOf(deps, ctx, conversationId)
  const at = iso(ctx.caller.meta.at)
  if (
    input.assigneeUserId &&
    !(await membershipsRepo.findMembership(deps.db, ctx.workspace.id, input.assigneeUserId))
  ) {
    throw invalidField('assigneeUserId', 'not a member of this workspace')
  }
  const changed: ('status' | 'assignee')[] = []
  if (input.status !== undefined && input.status !== c.status) changed.push('status')
  if (input.assigneeUserId !== undefined && input.assigneeUserId !== c.assignee_user_id) changed.push('assignee')
  const next = {
    ...c,
    status: input.status ?? c.status,
    assignee_user_id: input.assigneeUserId === undefined ? c.assignee_user_id : input.assigneeUserId,
    updated_at: at,
  }
  if (changed.length > 0) {
    await deps.db.transaction().execute(async (trx) => {
      await conversationsRepo.updateConversation(trx, ctx.workspace.id, c.id, {
        status: next.status,
        assignee_user_id: next.assignee_user_id,
        updated_at: at,
      })
      await emit(
        trx,
        ctx.workspace.id,
        'conversation.updated',
        { conversationId: c.id, status: next.status, assigneeUserId: next.assignee_user_id, changed },
        at,
      )
    })
  }
  return getConversation(deps, ctx, c.id)
}

/**
 * What each of these rows quotes, looked up in their conversation all at once (one query, not one per row): the
 * quoted message may be older than the page being shown.
 */
async function quotesOf(
  deps: ServiceDeps,
  workspaceId: string,
  conversation: { id: string; channelId: string },
  rows: MessagesTable[],
): Promise<(m: MessagesTable) => QuotedMessage | null> {
  const wamids = [...new Set(rows.flatMap((m) => (m.context_wamid ? [m.context_wamid] : [])))]
  const found = new Map(
    (await messagesRepo.messagesByWamid(deps.db, workspaceId, conversation, wamids)).map((q) => [
      q.wamid,
      { id: q.id, direction: q.direction, type: q.type, text: q.text },
    ]),
  )
  return (m) => (m.context_wamid ? (found.get(m.context_wamid) ?? null) : null)
}

export async function listMessages(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  conversationId: string,
  cursor: string | undefined,
  limit: number,
) {
  const conversation = await conversationOf(deps, ctx, conversationId)
  const rows = await messagesRepo.listMessages(
    deps.db,
    ctx.workspace.id,
    conversationId,
    decodeCursor(cursor, timeCursor),
    limit + 1,
  )
  const quoted = await quotesOf(
    deps,
    ctx.workspace.id,
    { id: conversation.id, channelId: conversation.channel_id },
    rows.slice(0, limit),
  )
  return pageOf(
    rows,
    limit,
    (m) => messageView(m, quoted(m)),
    (m) => ({ t: m.sent_at, i: m.id }),
  )
}

/** One message, as the conversation's message list shows it (the live stream names new ones by id). */
export async function getMessage(deps: ServiceDeps, ctx: WorkspaceContext, messageId: string) {
  const m = await messagesRepo.findMessage(deps.db, ctx.workspace.id, messageId)
  if (!m) throw notFound('message')
  const quoted = await quotesOf(deps, ctx.workspace.id, { id: m.conversation_id, channelId: m.channel_id }, [m])
  return messageView(m, quoted(m))
}

/**
 * Marks the conversation read: the unread counter in wabox, and a read receipt (blue ticks) on WhatsApp for
 * the last inbound message. The receipt is best effort: if Meta refuses it, the answer says so.
 */
export async function markConversationRead(deps: ServiceDeps, ctx: WorkspaceContext, conversationId: string) {
  const conversation = await conversationOf(deps, ctx, conversationId)
  const at = iso(ctx.caller.meta.at)
  await deps.db.transaction().execute(async (trx) => {
    await conversationsRepo.updateConversation(trx, ctx.workspace.id, conversationId, {
      unread_count: 0,
      updated_at: at,
    })
    // Other agents' unread counts follow live.
    if (conversation.unread_count > 0) {
      await emit(
        trx,
        ctx.workspace.id,
        'conversation.updated',
        {
          conversationId,
          status: conversation.status,
          assigneeUserId: conversation.assignee_user_id,
          changed: ['read'],
        },
        at,
      )
    }
  })
  let readReceipt: 'sent' | 'failed' | 'none' = 'none'
  const last = await messagesRepo.lastInboundWithWamid(deps.db, ctx.workspace.id, conversationId)
  const contact = last ? await contactsRepo.findContact(deps.db, ctx.workspace.id, conversation.contact_id) : undefined
  const via = last ? await sendTargetOf(deps, ctx.workspace.id, conversation.channel_id, contact?.wa_id ?? null) : null
  if (last?.wamid && via && 'provider' in via) {
    try {
      await via.provider.markRead(via.target, last.wamid)
      readReceipt = 'sent'
    } catch (err) {
      readReceipt = 'failed'
      deps.logger.warn({ conversationId, error: (err as Error).message }, 'read receipt failed')
    }
  }
  return { ...(await getConversation(deps, ctx, conversationId)), readReceipt }
}

export async function listContacts(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  q: { q?: string; optedOut?: boolean; cursor?: string; limit: number },
) {
  const rows = await contactsRepo.listContacts(deps.db, ctx.workspace.id, {
    q: q.q,
    optedOut: q.optedOut,
    before: decodeCursor(q.cursor, z.object({ u: z.string(), i: z.string() })),
    limit: q.limit + 1,
  })
  return pageOf(rows, q.limit, contactView, (c) => ({ u: c.updated_at, i: c.id }))
}

async function contactOf(deps: ServiceDeps, ctx: WorkspaceContext, contactId: string) {
  const c = await contactsRepo.findContact(deps.db, ctx.workspace.id, contactId)
  if (!c) throw notFound('contact')
  return c
}

export async function getContact(deps: ServiceDeps, ctx: WorkspaceContext, contactId: string) {
  return contactView(await contactOf(deps, ctx, contactId))
}

export async function updateContact(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  contactId: string,
  input: { name?: string | null; labels?: string[]; notes?: string; optedOut?: boolean },
) {
  const c = await contactOf(deps, ctx, contactId)
  const at = iso(ctx.caller.meta.at)
  const patch: Partial<ContactsTable> = { updated_at: at }
  if (input.name !== undefined) patch.name = input.name || null
  if (input.labels !== undefined) patch.labels = JSON.stringify([...new Set(input.labels)])
  if (input.notes !== undefined) patch.notes = input.notes
  if (input.optedOut !== undefined && input.optedOut !== (c.opted_out === 1)) {
    patch.opted_out = input.optedOut ? 1 : 0
    patch.opted_out_at = input.optedOut ? at : null
  }
  const changed = Object.keys(patch)
    .filter((k) => k !== 'updated_at' && k !== 'opted_out_at')
    .map((k) => (k === 'opted_out' ? 'optedOut' : k))
  await deps.db.transaction().execute(async (trx) => {
    await contactsRepo.updateContact(trx, ctx.workspace.id, contactId, patch)
    await emit(trx, ctx.workspace.id, 'contact.updated', { ...contactPayload({ ...c, ...patch }), changed }, at)
    // Consent changes are worth a trail; names and notes are everyday edits.
    if (patch.opted_out !== undefined) {
      await audit.record(trx, ctx.caller, {
        workspaceId: ctx.workspace.id,
        action: input.optedOut ? 'contact.opted_out' : 'contact.opted_in',
        target: { type: 'contact', id: contactId },
      })
    }
  })
  return contactView({ ...c, ...patch })
}

/** The stored file of a message's media, for authorised members only. */
export async function mediaFile(deps: ServiceDeps, ctx: WorkspaceContext, messageId: string) {
  const m = await messagesRepo.findMessage(deps.db, ctx.workspace.id, messageId)
  if (!m?.media_id) throw notFound('media')
  if (m.media_state !== 'stored' || !m.media_path) {
    throw new AppError(
      409,
      'media_not_ready',
      m.media_state === 'failed'
        ? 'The media could not be downloaded from WhatsApp.'
        : 'The media is still being downloaded; try again shortly.',
    )
  }
  // Sanitised again on the way out: a row stored before values were checked must not make its download fail.
  return {
    path: join(deps.config.dataDir, m.media_path),
    mime: contentTypeOf(m.media_mime),
    filename: m.media_filename,
  }
}
