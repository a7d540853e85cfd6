/**
 * What a QR-linked number can send, as the request the outbox stores: the recipient, a WhatsApp message id fixed
 * at queue time (so the copy of our own send that the socket echoes back is recognised as the same message), the
 * Baileys message content, and what it quotes. Templates and interactive messages are Cloud API features.
 */
import { createHash } from 'node:crypto'
import { AppError } from '../../lib/errors.ts'
import type { SendMessageInput } from '../send-input.ts'

export type QrRequest = {
  to: string
  messageId: string
  content: Record<string, unknown>
  /** The message replied to: Baileys builds the quote from its key and text. */
  quoted: { id: string; fromMe: boolean; text: string } | null
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
  r: { to: string; messageId: string; context: QrTarget | null; reaction: QrTarget | null },
): QrRequest {
  const quoted = r.context ? { id: r.context.wamid, fromMe: r.context.fromMe, text: r.context.text ?? '' } : null
  return { to: r.to, messageId: qrMessageId(r.messageId), content: content(input, r.reaction), quoted }
}

function content(input: SendMessageInput, reaction: QrTarget | null): Record<string, unknown> {
  switch (input.type) {
    case 'text':
      return { text: input.text.body }
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
