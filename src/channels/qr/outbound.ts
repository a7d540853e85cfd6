/**
 * What a QR-linked number can send, as the request the outbox stores: the recipient, a WhatsApp message id fixed
 * at queue time (so the copy of our own send that the socket echoes back is recognised as the same message), the
 * Baileys message content, and what it quotes. Templates and interactive messages are Cloud API features.
 */
import { createHash } from 'node:crypto'
import { AppError } from '../../lib/errors.ts'
import { ProviderError } from '../provider.ts'
import type { SendMessageInput } from '../send-input.ts'

export type QrRequest = {
  to: string
  messageId: string
  content: Record<string, unknown>
  /** The message replied to: Baileys builds the quote from its key and text. */
  quoted: { id: string; fromMe: boolean; text: string } | null
  /** The business would start the chat (the person never wrote): such a message waits while WhatsApp restricts reach-outs. */
  startsChat?: boolean
}

export type QrTarget = { wamid: string; fromMe: boolean; text: string | null }

const unsupported = (what: string) =>
  new AppError(
    422,
    'not_supported_on_qr',
    `${what} are not available on QR-linked channels (they are a WhatsApp Cloud API feature).`,
    [{ field: 'type', message: 'not available on QR-linked channels' }],
  )

/** WhatsApp Web style id (3EB0 + hex), derived from wabox's message id: stable across retries of the same message. */
export const qrMessageId = (messageId: string) =>
  `3EB0${createHash('sha256').update(messageId).digest('hex').slice(0, 18).toUpperCase()}`

export const jidOf = (digits: string) => `${digits}@s.whatsapp.net`

export function toQrRequest(
  input: SendMessageInput,
  r: { to: string; messageId: string; context: QrTarget | null; reaction: QrTarget | null; startsChat: boolean },
): QrRequest {
  const quoted = r.context ? { id: r.context.wamid, fromMe: r.context.fromMe, text: r.context.text ?? '' } : null
  return {
    to: r.to,
    messageId: qrMessageId(r.messageId),
    content: content(input, r.reaction),
    quoted,
    ...(r.startsChat ? { startsChat: true } : {}),
  }
}

function content(input: SendMessageInput, reaction: QrTarget | null): Record<string, unknown> {
  switch (input.type) {
    case 'text':
      // null, not absent: Baileys would otherwise fetch any link in the text for a preview (its own fetch, past
      // wabox's URL guard) and log a stack trace whenever that fails.
      return { text: input.text.body, linkPreview: null }
    case 'template':
      throw unsupported('Templates')
    case 'interactive':
      throw unsupported('Interactive messages (buttons and lists)')
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const m = (
        input as unknown as Record<string, { mediaId?: string; link?: string; caption?: string; filename?: string }>
      )[input.type]!
      if (!m.link) {
        throw new AppError(
          422,
          'validation_failed',
          `Invalid request body: ${input.type}.mediaId — uploaded media ids are Cloud API media; send a link on QR-linked channels`,
          [{ field: `${input.type}.mediaId`, message: 'send a link on QR-linked channels' }],
        )
      }
      return {
        [input.type]: { url: m.link },
        ...(m.caption ? { caption: m.caption } : {}),
        ...(input.type === 'document'
          ? { fileName: m.filename ?? 'document', mimetype: 'application/octet-stream' }
          : {}),
      }
    }
    case 'location':
      return {
        location: {
          degreesLatitude: input.location.latitude,
          degreesLongitude: input.location.longitude,
          name: input.location.name,
          address: input.location.address,
        },
      }
    case 'reaction':
      return { react: { text: input.reaction.emoji, key: { id: reaction!.wamid, fromMe: reaction!.fromMe } } }
  }
}

/**
 * WhatsApp's refusals that say something about the number rather than the message (Baileys' SERVER_ERROR_CODES,
 * Utils/decode-wa-message.js). They come back as the code of a NACK after the send (inbound.ts) or, should a send
 * be refused outright, on the error the socket throws; either way the message fails with the code as its error.
 */
export const ACCOUNT_RESTRICTED = 463
export const STANZA_REJECTED = 479

type Refusal = { code: number; title: string; retryable: boolean }
const REFUSALS: Record<string, Refusal> = {
  // A 1:1 send without a privacy token: the account may not reach out to new chats. Baileys' own comment: retrying
  // counts as another reach-out and worsens the restriction — so never retried.
  [ACCOUNT_RESTRICTED]: {
    code: ACCOUNT_RESTRICTED,
    title: 'WhatsApp restricted this number: it may not start new chats for now (463)',
    retryable: false,
  },
  // SMAX_INVALID: the stanza did not validate, most likely a stale device list of the recipient; a later attempt
  // (Baileys fetches the devices again) can go through.
  [STANZA_REJECTED]: {
    code: STANZA_REJECTED,
    title: 'WhatsApp rejected the message stanza (479: stale device session or addressing)',
    retryable: true,
  },
}

/** The refusal a WhatsApp error code (as Baileys carries it: a number or its digits) stands for, if it is one of them. */
export function refusalOf(code: unknown): Refusal | null {
  const key = typeof code === 'number' ? String(code) : typeof code === 'string' ? code.trim() : ''
  return Object.hasOwn(REFUSALS, key) ? REFUSALS[key]! : null
}

/** Where a Boom-style error from the socket carries WhatsApp's code: its data, or its output's status code. */
function codeOf(err: unknown): unknown {
  if (!err || typeof err !== 'object') return null
  const e = err as { data?: unknown; output?: { statusCode?: unknown } }
  if (refusalOf(e.data)) return e.data
  return e.output?.statusCode ?? null
}

/** What a send the socket threw on means for the outbox: a refusal by code, anything else retried. */
export function sendFailure(err: unknown, retryCode: number): ProviderError {
  const refusal = refusalOf(codeOf(err))
  const message = err instanceof Error ? err.message : String(err)
  if (refusal)
    return new ProviderError({
      code: refusal.code,
      reason: refusal.title,
      retryable: refusal.retryable,
      details: message,
    })
  return new ProviderError({
    code: retryCode,
    reason: `WhatsApp did not take the message: ${message}`,
    retryable: true,
  })
}
