/**
 * Splits a Cloud API webhook body into one event per message, status and change, each with the key that
 * makes it idempotent (reference/cloud-api.md §1.3, §2): messages by wamid, statuses by (wamid, status),
 * everything else by a hash of the change. Every entry, change and item is visited — not just the first.
 * Items for another number than the channel's are skipped and reported, never stored.
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import type {
  ChannelNoticeEvent,
  InboundContact,
  InboundEvent,
  InboundMessageEvent,
  InboundStatusEvent,
} from '../inbound-events.ts'

const record = z.record(z.string(), z.unknown())

export const webhookEnvelope = z.object({
  object: z.literal('whatsapp_business_account', { error: 'object must be "whatsapp_business_account"' }),
  entry: z.array(
    z.object({
      id: z.coerce.string(),
      time: z.number().optional(),
      changes: z.array(z.object({ field: z.string(), value: record })),
    }),
  ),
})

const contactSchema = z.object({
  wa_id: z.string().optional(),
  user_id: z.string().optional(),
  profile: z.object({ name: z.string().optional(), username: z.string().optional() }).passthrough().optional(),
})

const errorSchema = z
  .object({
    code: z.coerce.number(),
    title: z.string().optional(),
    message: z.string().optional(),
    error_data: z.object({ details: z.string().optional() }).passthrough().optional(),
  })
  .passthrough()

const messageSchema = z
  .object({
    id: z.string().min(1),
    from: z.string().optional(),
    from_user_id: z.string().optional(),
    timestamp: z.coerce.string(),
    type: z.string(),
    context: z
      .object({
        id: z.string().optional(),
        from: z.string().optional(),
        forwarded: z.boolean().optional(),
        frequently_forwarded: z.boolean().optional(),
      })
      .passthrough()
      .optional(),
    errors: z.array(errorSchema).optional(),
    referral: record.optional(),
  })
  .passthrough()

const statusSchema = z
  .object({
    id: z.string().min(1),
    status: z.string().min(1),
    timestamp: z.coerce.string(),
    recipient_id: z.string().optional(),
    recipient_user_id: z.string().optional(),
    biz_opaque_callback_data: z.string().optional(),
    errors: z.array(errorSchema).optional(),
    pricing: record.optional(),
  })
  .passthrough()

// Built once: constructing Zod schemas is far dearer than using them.
const contactList = z.array(contactSchema).catch([])
const recordOrEmpty = record.catch({})
const metadataSchema = z.object({ phone_number_id: z.coerce.string() })

export type SplitEvent = { key: string; event: InboundEvent }
export type SplitResult = { events: SplitEvent[]; skipped: { reason: string; field: string }[] }

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')
const isoFromUnix = (s: string | number | undefined, fallback: number) => {
  const n = Number(s)
  const date = new Date(Number.isFinite(n) && n > 0 ? n * 1000 : fallback)
  // Out-of-range timestamps (year 10^6…) are not dates: use the time of receipt instead.
  return Number.isFinite(date.getTime()) ? date.toISOString() : new Date(fallback).toISOString()
}

function errorOf(errors: z.infer<typeof errorSchema>[] | undefined) {
  const e = errors?.[0]
  return e ? { code: e.code, title: e.title ?? e.message ?? 'error', details: e.error_data?.details ?? null } : null
}

function contactFor(message: z.infer<typeof messageSchema>, contacts: unknown): InboundContact {
  const list = contactList.parse(contacts)
  const match =
    list.find(
      (c) => (message.from && c.wa_id === message.from) || (message.from_user_id && c.user_id === message.from_user_id),
    ) ?? (list.length === 1 ? list[0] : undefined)
  return {
    waId: message.from ?? match?.wa_id ?? null,
    bsuid: message.from_user_id ?? match?.user_id ?? null,
    profileName: match?.profile?.name ?? null,
    username: match?.profile?.username ?? null,
  }
}

const MEDIA_TYPES = new Set(['image', 'video', 'audio', 'document', 'sticker'])

/** Maps one Cloud API message to the neutral shape: text for people, the rest in `content`. */
export function normalizeMessage(
  m: z.infer<typeof messageSchema>,
  contacts: unknown,
  now: number,
): InboundMessageEvent {
  const body = (m as Record<string, unknown>)[m.type]
  const part = recordOrEmpty.parse(body)
  const content: Record<string, unknown> = {}
  let text: string | null = null
  let media: InboundMessageEvent['media'] = null
  const str = (v: unknown) => (typeof v === 'string' ? v : null)

  if (m.type === 'text') {
    text = str(part.body)
  } else if (MEDIA_TYPES.has(m.type)) {
    text = str(part.caption)
    media = {
      id: String(part.id ?? ''),
      mime: str(part.mime_type),
      sha256: str(part.sha256),
      filename: str(part.filename),
    }
    if (part.voice !== undefined) content.voice = part.voice === true
    if (part.animated !== undefined) content.animated = part.animated === true
    if (!media.id) media = null
  } else if (m.type === 'location') {
    const latitude = Number(part.latitude)
    const longitude = Number(part.longitude)
    Object.assign(content, {
      latitude,
      longitude,
      name: str(part.name),
      address: str(part.address),
      url: str(part.url),
    })
    text = str(part.name) ?? `${latitude}, ${longitude}`
  } else if (m.type === 'contacts') {
    const cards = Array.isArray(body) ? body : []
    content.contacts = cards
    text =
      cards
        .map((c) =>
          c && typeof c === 'object' ? str((c as { name?: { formatted_name?: unknown } }).name?.formatted_name) : null,
        )
        .filter(Boolean)
        .join(', ') || null
  } else if (m.type === 'interactive') {
    const kind = str(part.type) ?? 'unknown'
    const reply = recordOrEmpty.parse(part[kind])
    content.interactive = { type: kind, ...reply }
    text = str(reply.title) ?? str(reply.body) ?? null
  } else if (m.type === 'button') {
    Object.assign(content, { payload: str(part.payload), buttonText: str(part.text) })
    text = str(part.text)
  } else if (m.type === 'reaction') {
    const emoji = str(part.emoji)
    Object.assign(content, { messageId: str(part.message_id), emoji: emoji === '' ? null : emoji })
    text = emoji || null
  } else if (m.type === 'unsupported') {
    content.unsupportedType = str(part.type)
  } else if (m.type === 'order') {
    Object.assign(content, { catalogId: str(part.catalog_id), items: part.product_items ?? [] })
    text = str(part.text)
  } else if (m.type === 'system') {
    Object.assign(content, part)
    text = str(part.body)
  } else {
    // A type this version does not know: keep it whole so nothing is lost.
    if (body !== undefined) content.raw = body
  }
  if (m.context?.forwarded) content.forwarded = true
  if (m.context?.frequently_forwarded) content.frequentlyForwarded = true
  if (m.referral) content.referral = m.referral
  return {
    kind: 'message',
    wamid: m.id,
    contact: contactFor(m, contacts),
    type: m.type,
    text,
    content,
    contextWamid: m.context?.id ?? null,
    media,
    error: errorOf(m.errors),
    sentAt: isoFromUnix(m.timestamp, now),
  }
}

function normalizeStatus(s: z.infer<typeof statusSchema>, now: number): InboundStatusEvent {
  return {
    kind: 'status',
    wamid: s.id,
    status: s.status,
    recipient: s.recipient_id ?? s.recipient_user_id ?? null,
    occurredAt: isoFromUnix(s.timestamp, now),
    error: errorOf(s.errors),
    pricing: s.pricing ?? null,
    callbackData: s.biz_opaque_callback_data ?? null,
  }
}

/** Splits a verified, parsed webhook for a channel into keyed events. */
export function splitWebhook(
  body: z.infer<typeof webhookEnvelope>,
  channel: { phoneNumberId: string | null; wabaId: string | null },
  now = Date.now(),
): SplitResult {
  const events: SplitEvent[] = []
  const skipped: SplitResult['skipped'] = []
  for (const entry of body.entry) {
    for (const change of entry.changes) {
      const value = change.value
      if (change.field === 'messages') {
        const phoneNumberId = metadataSchema.safeParse(value.metadata)
        if (!phoneNumberId.success || phoneNumberId.data.phone_number_id !== channel.phoneNumberId) {
          skipped.push({ reason: 'phone_number_id does not match the channel', field: change.field })
          continue
        }
        for (const raw of Array.isArray(value.messages) ? value.messages : []) {
          const m = messageSchema.safeParse(raw)
          const event = m.success ? guarded(() => normalizeMessage(m.data, value.contacts, now)) : null
          if (!m.success || !event) skipped.push({ reason: 'malformed message', field: change.field })
          else events.push({ key: `message:${m.data.id}`, event })
        }
        for (const raw of Array.isArray(value.statuses) ? value.statuses : []) {
          const s = statusSchema.safeParse(raw)
          const event = s.success ? guarded(() => normalizeStatus(s.data, now)) : null
          if (!s.success || !event) skipped.push({ reason: 'malformed status', field: change.field })
          else events.push({ key: `status:${s.data.id}:${s.data.status}`, event })
        }
        if (Array.isArray(value.errors) && value.errors.length > 0) {
          events.push({
            key: `errors:${sha256(JSON.stringify([entry.id, entry.time ?? null, value.errors]))}`,
            event: notice('errors', value, entry.time, now),
          })
        }
        continue
      }
      // Account-level fields name the WABA in entry.id: it must be this channel's.
      if (channel.wabaId && entry.id !== channel.wabaId) {
        skipped.push({ reason: 'WABA id does not match the channel', field: change.field })
        continue
      }
      events.push({
        key: `field:${sha256(JSON.stringify([change.field, entry.id, entry.time ?? null, value]))}`,
        event: notice(change.field, value, entry.time, now),
      })
    }
  }
  return { events, skipped }
}

/** One item that cannot be read is skipped and reported; it never fails the batch it came in. */
function guarded<T>(fn: () => T): T | null {
  try {
    return fn()
  } catch {
    return null
  }
}

function notice(
  field: string,
  value: Record<string, unknown>,
  time: number | undefined,
  now: number,
): ChannelNoticeEvent {
  return {
    kind: 'field',
    field,
    event: typeof value.event === 'string' ? value.event : null,
    value,
    occurredAt: isoFromUnix(time, now),
  }
}
