/**
 * The provider-neutral events the intake processor consumes. The Cloud API splitter
 * (channels/cloud/inbound.ts) produces them from webhooks; the QR-linked channel (channels/qr/inbound.ts)
 * produces the same shapes, so everything after the intake is written once.
 */
import { createHash } from 'node:crypto'

export type InboundContact = {
  waId: string | null
  bsuid: string | null
  profileName: string | null
  username: string | null
}

export type InboundMedia = { id: string; mime: string | null; sha256: string | null; filename: string | null }

export type InboundMessageEvent = {
  kind: 'message'
  wamid: string
  contact: InboundContact
  type: string
  /** Text a person reads: the body, a caption, a button title, an emoji… */
  text: string | null
  /** The type-specific rest (location, contacts, interactive reply, reaction target, errors, referral…). */
  content: Record<string, unknown>
  contextWamid: string | null
  media: InboundMedia | null
  /** Why WhatsApp could not deliver the content (unsupported types). */
  error: { code: number; title: string; details: string | null } | null
  sentAt: string
  /** Sent by the business itself from another device (the phone of a QR-linked number): recorded as outbound. */
  fromMe?: boolean
}

export type InboundStatusEvent = {
  kind: 'status'
  wamid: string
  status: string
  recipient: string | null
  occurredAt: string
  error: { code: number; title: string; details: string | null } | null
  pricing: Record<string, unknown> | null
  /** biz_opaque_callback_data: wabox sends its message id here, so a status can find a send whose
   * answer a crash lost. */
  callbackData: string | null
}

/** Account-level news: template status/quality, number quality, account updates, system errors. */
export type ChannelNoticeEvent = {
  kind: 'field'
  field: string
  event: string | null
  value: Record<string, unknown>
  occurredAt: string
}

export type InboundEvent = InboundMessageEvent | InboundStatusEvent | ChannelNoticeEvent

/** The callbackData a send carries (a provider that echoes it in statuses): wabox's marker and message id. */
export const callbackDataFor = (messageId: string) => `wabox:${messageId}`

/** The idempotency key stored in the intake: unique per channel and event (whatever kind of channel). */
export function idempotencyKey(channelId: string, key: string): string {
  return createHash('sha256').update(`${channelId}|${key}`).digest('hex')
}
