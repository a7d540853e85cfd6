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
  /** The business-scoped id shared by linked business portfolios, when the provider gives one. */
  parentBsuid?: string | null
}

/** One error as the provider reported it: every entry is kept, not just the first. */
export type InboundError = {
  code: number
  title: string
  message: string | null
  details: string | null
  /** Where the provider explains the code. */
  href: string | null
}

/** The product a message asks about (the customer tapped "message business" on a catalog product). */
export type ReferredProduct = { catalogId: string | null; productId: string | null }

/**
 * The identity check the provider runs on the sender (its identity key changed, say): whether that was
 * acknowledged, when it was noticed, its hash; and the hash of the sender's identity key as the contact came.
 */
export type SenderIdentity = {
  acknowledged: boolean | null
  createdAt: string | null
  hash: string | null
  keyHash: string | null
}

/**
 * The provider's conversation a status was counted in (the 24-hour window that billing speaks of — not wabox's
 * conversation): its id, what opened it, and when it closes.
 */
export type BillingConversation = { id: string | null; origin: string | null; expiresAt: string | null }

/** A group a message was sent to or received in; for a status, the member of the group it is about. */
export type GroupRef = { id: string; participant: string | null }

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
  /** Every error the provider listed (`error` is the first of them). */
  errors?: InboundError[]
  referredProduct?: ReferredProduct | null
  identity?: SenderIdentity | null
  /** The group it was sent in; null or absent for a one-to-one message. */
  group?: GroupRef | null
  /** Top-level fields of the provider's message this version does not map, as they came. */
  other?: Record<string, unknown> | null
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
  /** Every error the provider listed (`error` is the first of them). */
  errors?: InboundError[]
  billingConversation?: BillingConversation | null
  /** The recipient's business-scoped ids (`recipient` is the phone number when there is one). */
  recipientBsuid?: string | null
  recipientParentBsuid?: string | null
  /** A status about one member of a group the message was sent to. */
  group?: GroupRef | null
  /** Top-level fields of the provider's status this version does not map, as they came. */
  other?: Record<string, unknown> | null
}

/** Account-level news: template status/quality, number quality, account updates, system errors. */
export type ChannelNoticeEvent = {
  kind: 'field'
  field: string
  event: string | null
  value: Record<string, unknown>
  occurredAt: string
}

/**
 * A signed notification wabox cannot read (an envelope, entry, change or part of one it does not know): kept for an
 * operator to see (it is parked as a dead letter), never refused — a refusal only makes the sender retry it.
 */
export type UnknownNoticeEvent = {
  kind: 'unknown'
  /** What was not understood, in a sentence. */
  reason: string
  /** The notification (or the part not understood) as it came; a prefix of its JSON when it was too large. */
  body: unknown
  /** True when `body` is a prefix of the JSON text (UNKNOWN_BODY_LIMIT), not the whole of it. */
  truncated: boolean
  occurredAt: string
}

export type InboundEvent = InboundMessageEvent | InboundStatusEvent | ChannelNoticeEvent | UnknownNoticeEvent

/** How much of an unknown notification is kept (characters of its JSON): enough to read, too little to fill a disk. */
export const UNKNOWN_BODY_LIMIT = 16_384

/** An unknown notification's body, bounded: the value itself when its JSON is small, else a prefix of that JSON. */
export function boundedBody(value: unknown): { body: unknown; truncated: boolean } {
  const text = JSON.stringify(value) ?? 'null'
  return text.length <= UNKNOWN_BODY_LIMIT
    ? { body: value, truncated: false }
    : { body: text.slice(0, UNKNOWN_BODY_LIMIT), truncated: true }
}

/** The callbackData a send carries (a provider that echoes it in statuses): wabox's marker and message id. */
export const callbackDataFor = (messageId: string) => `wabox:${messageId}`

/** The idempotency key stored in the intake: unique per channel and event (whatever kind of channel). */
export function idempotencyKey(channelId: string, key: string): string {
  return createHash('sha256').update(`${channelId}|${key}`).digest('hex')
}
