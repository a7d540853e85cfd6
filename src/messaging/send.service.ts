/**
 * Queuing an outbound message. Every rule is checked before anything is written: the channel can send,
 * the contact has not opted out, the channel's provider admits the message (the Cloud API's 24-hour
 * customer-service window), the reply or reaction target belongs to the conversation, and the provider can build
 * its request from it. The message row and its outbox row are written in
 * one transaction, and an Idempotency-Key replays the first answer instead of queuing twice.
 */
import { createHash } from 'node:crypto'
import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { newId } from '../crypto/tokens.ts'
import { AppError, notFound, invalidField } from '../lib/errors.ts'
import * as channelsRepo from '../channels/channels.repo.ts'
import { providerOf, type Deferral } from '../channels/provider.ts'
import type { WorkspaceContext } from '../workspaces/workspace-context.ts'
import type { SendMessageInput } from '../channels/send-input.ts'
import { emit } from '../events/emit.ts'
import * as contactsRepo from './contacts.repo.ts'
import * as conversationsRepo from './conversations.repo.ts'
import * as idempotencyRepo from './idempotency-keys.repo.ts'
import * as messagesRepo from './messages.repo.ts'
import * as outboxRepo from './outbox.repo.ts'
import { phoneSpellings } from './phone-spellings.ts'

/** The contact with this number, as typed or in its other spelling (the typed one first). */
async function findByPhone(db: Parameters<typeof contactsRepo.findContactByPhone>[0], ws: string, to: string) {
  for (const spelling of phoneSpellings(to)) {
    const found = await contactsRepo.findContactByPhone(db, ws, spelling)
    if (found) return found
  }
  return undefined
}

/** `deferred`: why and until when the message waits (the provider's deferral: pacing caps, a device offline). */
export type QueuedMessage = {
  id: string
  conversationId: string
  status: 'queued'
  deferred?: Deferral
}

const preview = (input: SendMessageInput): string | null => {
  switch (input.type) {
    case 'text':
      return input.text.body
    case 'template':
      return `[template ${input.template.name}]`
    case 'image':
    case 'video':
    case 'document':
      return (input as unknown as Record<string, { caption?: string }>)[input.type]?.caption ?? `[${input.type}]`
    case 'interactive':
      return input.interactive.body.text
    case 'reaction':
      return input.reaction.emoji || '[reaction removed]'
    default:
      return `[${input.type}]`
  }
}

const hashOf = (input: unknown) => createHash('sha256').update(JSON.stringify(input)).digest('hex')

export async function sendMessage(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  input: SendMessageInput,
  idempotencyKey: string | undefined,
): Promise<{ status: number; body: QueuedMessage }> {
  const ws = ctx.workspace.id
  const requestHash = hashOf(input)
  if (idempotencyKey) {
    const seen = await idempotencyRepo.findIdempotency(deps.db, ws, idempotencyKey)
    if (seen) return replay(seen, requestHash)
  }
  const now = ctx.caller.meta.at
  const at = iso(now)

  // Who and through which number.
  let conversation = input.conversationId
    ? await conversationsRepo.findConversation(deps.db, ws, input.conversationId)
    : undefined
  if (input.conversationId && !conversation) throw notFound('conversation')
  const channelId = conversation?.channel_id ?? input.channelId!
  const channel = await channelsRepo.find(deps.db, ws, channelId)
  if (!channel) throw notFound('channel')
  if (conversation && input.channelId && input.channelId !== conversation.channel_id) {
    throw invalidField('channelId', 'does not match the conversation')
  }
  const provider = providerOf(deps, channel.provider)
  if (channel.status !== 'active') {
    const why = channel.status === 'disconnected' ? 'The channel is disconnected.' : provider.inactiveReason(channel)
    throw new AppError(409, 'channel_unavailable', why)
  }
  let contact = conversation
    ? await contactsRepo.findContact(deps.db, ws, conversation.contact_id)
    : await findByPhone(deps.db, ws, input.to!)
  if (conversation && input.to && !phoneSpellings(input.to).includes(contact?.wa_id ?? '')) {
    throw invalidField('to', 'does not match the conversation')
  }
  if (contact && !conversation)
    conversation = await conversationsRepo.findConversationOf(deps.db, ws, channelId, contact.id)
  if (contact?.opted_out) throw new AppError(422, 'contact_opted_out', 'This contact opted out of messages.')
  const to = contact?.wa_id ?? input.to
  if (!to) throw new AppError(422, 'no_phone_number', 'This contact has no phone number WhatsApp can deliver to yet.')

  provider.admit(input, { lastInboundAt: conversation?.last_inbound_at ?? null }, now)

  // Reply and reaction targets must be messages of this conversation that WhatsApp knows (have a wamid).
  const target = async (ref: string, field: string) => {
    const m = conversation ? await messagesRepo.findMessageInConversation(deps.db, ws, conversation.id, ref) : undefined
    if (!m?.wamid)
      throw new AppError(
        422,
        'validation_failed',
        `Invalid request body: ${field} — not a delivered message of this conversation`,
        [{ field, message: 'not a delivered message of this conversation' }],
      )
    return { wamid: m.wamid, fromMe: m.direction === 'out', text: m.text }
  }
  const context = input.replyTo ? await target(input.replyTo, 'replyTo') : null
  const reaction = input.type === 'reaction' ? await target(input.reaction.messageId, 'reaction.messageId') : null

  const messageId = newId('msg')
  const request = await provider.buildRequest(deps, input, {
    to,
    messageId,
    replyTo: context,
    reactionTo: reaction,
    lastInboundAt: conversation?.last_inbound_at ?? null,
  })
  const wamid = provider.fixedMessageId(request)
  const deferred = await provider.deferral(deps, channel, now)
  // Group-committed with other requests queuing at the same moment (db/write-group.ts): one fsync for many.
  const body = await deps.writes.run(async (trx) => {
    // Same key, concurrently: the second write sees the first one's row here (writes in a group run in turn).
    if (idempotencyKey) {
      const seen = await idempotencyRepo.findIdempotency(trx, ws, idempotencyKey)
      if (seen) return replay(seen, requestHash)
    }
    // Another request may have created them since we looked (two first messages to a new number at once).
    contact ??= await findByPhone(trx, ws, to)
    if (contact && !conversation)
      conversation = await conversationsRepo.findConversationOf(trx, ws, channelId, contact.id)
    if (!contact) {
      contact = {
        id: newId('ct'),
        workspace_id: ws,
        wa_id: to,
        bsuid: null,
        profile_name: null,
        username: null,
        name: null,
        labels: '[]',
        notes: '',
        opted_out: 0,
        opted_out_at: null,
        created_at: at,
        updated_at: at,
      }
      await contactsRepo.insertContactRow(trx, contact)
    }
    if (!conversation) {
      conversation = {
        id: newId('cv'),
        workspace_id: ws,
        channel_id: channelId,
        contact_id: contact.id,
        status: 'open',
        assignee_user_id: null,
        unread_count: 0,
        last_message_at: at,
        last_inbound_at: null,
        last_message_preview: '',
        created_at: at,
        updated_at: at,
      }
      await conversationsRepo.insertConversationRow(trx, conversation)
      await emit(
        trx,
        ws,
        'conversation.created',
        { conversationId: conversation.id, channelId, contactId: contact.id, status: 'open' },
        at,
      )
    }
    await messagesRepo.insertMessageRow(trx, {
      id: messageId,
      workspace_id: ws,
      conversation_id: conversation.id,
      channel_id: channelId,
      wamid,
      direction: 'out',
      type: input.type,
      text: preview(input),
      content: JSON.stringify({
        ...((input as Record<string, unknown>)[input.type] ?? {}),
        ...(input.callbackData ? { callbackData: input.callbackData } : {}),
      }),
      context_wamid: context?.wamid ?? null,
      status: 'queued',
      status_at: at,
      error_code: null,
      error_title: null,
      error_details: null,
      pricing: null,
      media_id: null,
      media_mime: null,
      media_sha256: null,
      media_filename: null,
      media_path: null,
      media_size: null,
      media_state: null,
      media_attempts: 0,
      sent_at: at,
      created_at: at,
    })
    await conversationsRepo.updateConversation(trx, ws, conversation.id, {
      last_message_at: at,
      last_message_preview: (preview(input) ?? '').slice(0, 200),
      updated_at: at,
    })
    await outboxRepo.insert(trx, {
      workspace_id: ws,
      message_id: messageId,
      channel_id: channelId,
      recipient: to,
      request: JSON.stringify(request),
      state: 'queued',
      attempts: 0,
      next_attempt_at: at,
      claimed_at: null,
      last_error: null,
      created_at: at,
      updated_at: at,
    })
    const result = {
      status: 202,
      body: {
        id: messageId,
        conversationId: conversation.id,
        status: 'queued' as const,
        ...(deferred ? { deferred } : {}),
      },
    }
    if (idempotencyKey) {
      await idempotencyRepo.saveIdempotency(trx, {
        workspace_id: ws,
        key: idempotencyKey,
        request_hash: requestHash,
        status: result.status,
        response: JSON.stringify(result.body),
        created_at: at,
      })
    }
    return result
  })
  return body
}

function replay(seen: { request_hash: string; status: number; response: string }, requestHash: string) {
  if (seen.request_hash !== requestHash) {
    throw new AppError(
      422,
      'idempotency_key_reused',
      'This Idempotency-Key was already used with a different request body.',
    )
  }
  return { status: seen.status, body: JSON.parse(seen.response) as QueuedMessage }
}
