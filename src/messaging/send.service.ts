/**
 * Queuing an outbound message. Every rule is checked before anything is written: the channel can send,
 * the contact has not opted out, free-form messages fall inside the 24-hour customer-service window, the
 * reply or reaction target belongs to the conversation. The message row and its outbox row are written in
 * one transaction, and an Idempotency-Key replays the first answer instead of queuing twice.
 */
import { createHash } from 'node:crypto'
import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { newId } from '../crypto/tokens.ts'
import { AppError, notFound, invalidField } from '../lib/errors.ts'
import * as channelsRepo from '../channels/channels.repo.ts'
import { toCloudRequest } from '../channels/cloud/outbound.ts'
import type { ChannelsTable } from '../channels/channels.table.ts'
import { toQrRequest, type QrRequest } from '../channels/qr/outbound.ts'
import { capHold, DAY_MS } from '../channels/qr/pacing.ts'
import { qrSettingsOf } from '../channels/qr/settings.ts'
import * as qrRepo from '../channels/qr/qr.repo.ts'
import { checkOutboundUrl, UrlRefused } from '../lib/url-guard.ts'
import type { WorkspaceContext } from '../workspaces/workspace-context.ts'
import type { SendMessageInput } from '../channels/send-input.ts'
import { emit } from '../events/emit.ts'
import * as contactsRepo from './contacts.repo.ts'
import * as conversationsRepo from './conversations.repo.ts'
import * as idempotencyRepo from './idempotency-keys.repo.ts'
import * as messagesRepo from './messages.repo.ts'
import * as outboxRepo from './outbox.repo.ts'

/** Meta's customer-service window, less a margin for clocks that disagree (reference §6.1). */
export const SERVICE_WINDOW_MS = 24 * 3600_000 - 5 * 60_000

/** The biz_opaque_callback_data of a send: wabox's own marker and message id (see inbound linkInterruptedSend). */
export const callbackDataFor = (messageId: string) => `wabox:${messageId}`

/** `deferred`: on a QR-linked number, why and until when the message waits (pacing caps, or the device offline). */
export type QueuedMessage = {
  id: string
  conversationId: string
  status: 'queued'
  deferred?: { until: string | null; reason: string }
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
  if (channel.status !== 'active') {
    const why =
      channel.status === 'disconnected'
        ? 'The channel is disconnected.'
        : channel.provider === 'qr'
          ? 'The number must be linked (scan the QR code) before it can send.'
          : 'The channel needs new credentials before it can send.'
    throw new AppError(409, 'channel_unavailable', why)
  }
  let contact = conversation
    ? await contactsRepo.findContact(deps.db, ws, conversation.contact_id)
    : await contactsRepo.findContactByPhone(deps.db, ws, input.to!)
  if (conversation && input.to && contact?.wa_id !== input.to) {
    throw invalidField('to', 'does not match the conversation')
  }
  if (contact && !conversation)
    conversation = await conversationsRepo.findConversationOf(deps.db, ws, channelId, contact.id)
  if (contact?.opted_out) throw new AppError(422, 'contact_opted_out', 'This contact opted out of messages.')
  const to = contact?.wa_id ?? input.to
  if (!to) throw new AppError(422, 'no_phone_number', 'This contact has no phone number WhatsApp can deliver to yet.')

  // Free-form messages only inside the customer-service window; outside it, a template. (A Cloud API rule: a
  // QR-linked number is a WhatsApp account like any other.)
  const isQr = channel.provider === 'qr'
  const lastInbound = conversation?.last_inbound_at ? Date.parse(conversation.last_inbound_at) : null
  if (!isQr && input.type !== 'template' && (lastInbound === null || now - lastInbound > SERVICE_WINDOW_MS)) {
    throw new AppError(
      422,
      'outside_service_window',
      'The customer has not written in the last 24 hours: only a template message can be sent now.',
    )
  }

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
  if (isQr) await guardQrMediaLink(deps, input)

  const messageId = newId('msg')
  // biz_opaque_callback_data is always ours: it lets a status webhook find a send a crash interrupted. The
  // caller's own callbackData stays with the message.
  const request = isQr
    ? toQrRequest(input, { to, messageId, context, reaction })
    : toCloudRequest(input, {
        to,
        contextWamid: context?.wamid ?? null,
        reactionWamid: reaction?.wamid ?? null,
        callbackData: callbackDataFor(messageId),
      })
  // A QR send's WhatsApp id is fixed now: the copy the linked device echoes back is then the same message.
  const wamid = isQr ? (request as QrRequest).messageId : null
  const deferred = isQr ? await qrDeferral(deps, channel, now) : null
  // Group-committed with other requests queuing at the same moment (db/write-group.ts): one fsync for many.
  const body = await deps.writes.run(async (trx) => {
    // Same key, concurrently: the second write sees the first one's row here (writes in a group run in turn).
    if (idempotencyKey) {
      const seen = await idempotencyRepo.findIdempotency(trx, ws, idempotencyKey)
      if (seen) return replay(seen, requestHash)
    }
    // Another request may have created them since we looked (two first messages to a new number at once).
    contact ??= await contactsRepo.findContactByPhone(trx, ws, to)
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

/** Media links on a QR channel are fetched by wabox itself: the same address rules as webhook URLs (checked again, hop by hop, at send time). */
async function guardQrMediaLink(deps: ServiceDeps, input: SendMessageInput): Promise<void> {
  const link = (input as unknown as Record<string, { link?: string } | undefined>)[input.type]?.link
  if (!link) return
  try {
    await checkOutboundUrl(link, {
      allowHttp: deps.config.webhookAllowHttp,
      allowedNetworks: deps.config.webhookAllowedNetworks,
    })
  } catch (err) {
    if (!(err instanceof UrlRefused)) throw err
    throw invalidField(`${input.type}.link`, err.message)
  }
}

/** Why a message queued on a QR channel will not go out at once: the device is offline, or a pacing cap holds. */
async function qrDeferral(
  deps: ServiceDeps,
  channel: ChannelsTable,
  now: number,
): Promise<QueuedMessage['deferred'] | null> {
  if (channel.connection_state !== 'connected')
    return {
      until: null,
      reason: `the linked device is ${channel.connection_state ?? 'not connected'}; the message waits for it`,
    }
  const history = (await qrRepo.sendStartsSince(deps.db, channel.workspace_id, channel.id, iso(now - DAY_MS))).map(
    (r) => Date.parse(r.updated_at),
  )
  const hold = capHold(
    history,
    qrSettingsOf(channel.qr_settings).pacing,
    channel.linked_at ? Date.parse(channel.linked_at) : null,
    now,
  )
  return hold
    ? {
        until: iso(hold.until),
        reason: `${hold.reason === 'warmup' ? 'warm-up daily' : `per-${hold.reason}`} cap reached; the message waits`,
      }
    : null
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
