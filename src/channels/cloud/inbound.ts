/**
 * Splits a Cloud API webhook body into one event per message, status and change, each with the key that
 * makes it idempotent (reference/cloud-api.md §1.3, §2): messages by wamid, statuses by (wamid, status),
 * everything else by a hash of the change. Every entry, change and item is visited — not just the first.
 * Items for another number than the channel's are skipped and reported, never stored.
 *
 * Nothing signed is dropped unseen: a field of a message or status this version does not map is kept with it
 * (`other`), and an envelope, entry, change or part of a change this version cannot read becomes an `unknown`
 * event (the processor parks those as dead letters for an operator to see) — never a refusal, which would only
 * make Meta retry it for days (reference/cloud-api.md §2.10).
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import {
  boundedBody,
  type ChannelNoticeEvent,
  type GroupRef,
  type InboundContact,
  type InboundError,
  type InboundEvent,
  type InboundMessageEvent,
  type InboundStatusEvent,
  type SenderIdentity,
  type UnknownNoticeEvent,
} from '../inbound-events.ts'

const record = z.record(z.string(), z.unknown())

/** The envelope of every WhatsApp Business notification; its entries are read one by one (entrySchema). */
export const webhookEnvelope = z.object({
  object: z.literal('whatsapp_business_account', { error: 'object must be "whatsapp_business_account"' }),
  entry: z.array(z.unknown()),
})

const changeSchema = z.object({ field: z.string(), value: record })
const entrySchema = z.object({
  id: z.coerce.string(),
  time: z.number().optional(),
  changes: z.array(z.unknown()),
})

const contactSchema = z.object({
  wa_id: z.string().optional(),
  user_id: z.string().optional(),
  parent_user_id: z.string().optional(),
  identity_key_hash: z.string().optional(),
  profile: z.object({ name: z.string().optional(), username: z.string().optional() }).passthrough().optional(),
})

const errorSchema = z
  .object({
    code: z.coerce.number(),
    title: z.string().optional(),
    message: z.string().optional(),
    href: z.string().optional(),
    // error_data is an object with `details`, or (on some errors) a plain string (reference §3 errors).
    error_data: z.union([z.object({ details: z.string().optional() }).passthrough(), z.string()]).optional(),
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
        referred_product: z
          .object({ catalog_id: z.coerce.string().optional(), product_retailer_id: z.coerce.string().optional() })
          .passthrough()
          .optional(),
      })
      .passthrough()
      .optional(),
    errors: z.array(errorSchema).optional(),
    referral: record.optional(),
    identity: z
      .object({
        acknowledged: z.boolean().optional(),
        created_timestamp: z.union([z.number(), z.string()]).optional(),
        hash: z.string().optional(),
      })
      .passthrough()
      .optional(),
    group_id: z.coerce.string().optional(),
  })
  .passthrough()

const statusSchema = z
  .object({
    id: z.string().min(1),
    status: z.string().min(1),
    timestamp: z.coerce.string(),
    recipient_id: z.string().optional(),
    recipient_user_id: z.string().optional(),
    // The parent BSUID under both spellings seen: Meta's page and whatsapp-api-js's types differ.
    parent_recipient_user_id: z.string().optional(),
    recipient_parent_user_id: z.string().optional(),
    recipient_type: z.string().optional(),
    recipient_participant_id: z.string().optional(),
    biz_opaque_callback_data: z.string().optional(),
    errors: z.array(errorSchema).optional(),
    pricing: record.optional(),
    conversation: z
      .object({
        id: z.coerce.string().optional(),
        expiration_timestamp: z.union([z.number(), z.string()]).optional(),
        origin: z.object({ type: z.string().optional() }).passthrough().optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough()

/** The keys of a message and of a status that wabox maps; any other key is kept as it came (`other`). */
const MAPPED_MESSAGE_KEYS = new Set([
  'id',
  'from',
  'from_user_id',
  'from_parent_user_id',
  'timestamp',
  'type',
  'context',
  'errors',
  'referral',
  'identity',
  'group_id',
])
const MAPPED_STATUS_KEYS = new Set(Object.keys(statusSchema.shape))
/** What a `messages` change may hold besides its items; anything else in it is an unknown notice. */
const MAPPED_MESSAGES_VALUE_KEYS = new Set([
  'messaging_product',
  'metadata',
  'contacts',
  'messages',
  'statuses',
  'errors',
])

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

const detailsOf = (e: z.infer<typeof errorSchema>) =>
  typeof e.error_data === 'string' ? e.error_data : (e.error_data?.details ?? null)

function errorOf(errors: z.infer<typeof errorSchema>[] | undefined) {
  const e = errors?.[0]
  return e ? { code: e.code, title: e.title ?? e.message ?? 'error', details: detailsOf(e) } : null
}

/** Every entry of `errors`, not just the first (a status or message can carry several). */
function allErrors(errors: z.infer<typeof errorSchema>[] | undefined): InboundError[] | undefined {
  if (!errors?.length) return undefined
  return errors.map((e) => ({
    code: e.code,
    title: e.title ?? e.message ?? 'error',
    message: e.message ?? null,
    details: detailsOf(e),
    href: e.href ?? null,
  }))
}

/** Unix seconds (a string or a number) — or milliseconds, as some identity timestamps are — as ISO 8601; null if neither. */
function isoOrNull(v: string | number | undefined): string | null {
  const n = Number(v)
  if (v === undefined || !Number.isFinite(n) || n <= 0) return null
  const date = new Date(n > 1e11 ? n : n * 1000)
  return Number.isFinite(date.getTime()) ? date.toISOString() : null
}

/** The keys of an item this version does not map, as they came; null when there are none. */
function unmapped(item: Record<string, unknown>, mapped: Set<string>, alsoMapped?: string) {
  const rest = Object.entries(item).filter(([k]) => !mapped.has(k) && k !== alsoMapped)
  return rest.length > 0 ? Object.fromEntries(rest) : null
}

function contactFor(message: z.infer<typeof messageSchema>, contacts: unknown): InboundContact {
  const list = contactList.parse(contacts)
  const match =
    list.find(
      (c) => (message.from && c.wa_id === message.from) || (message.from_user_id && c.user_id === message.from_user_id),
    ) ?? (list.length === 1 ? list[0] : undefined)
  const parent = (message as { from_parent_user_id?: unknown }).from_parent_user_id
  return {
    waId: message.from ?? match?.wa_id ?? null,
    bsuid: message.from_user_id ?? match?.user_id ?? null,
    profileName: match?.profile?.name ?? null,
    username: match?.profile?.username ?? null,
    parentBsuid: (typeof parent === 'string' ? parent : null) ?? match?.parent_user_id ?? null,
  }
}

function identityOf(m: z.infer<typeof messageSchema>, contacts: unknown): SenderIdentity | null {
  const list = contactList.parse(contacts)
  const keyHash =
    list.find((c) => (m.from && c.wa_id === m.from) || (m.from_user_id && c.user_id === m.from_user_id))
      ?.identity_key_hash ??
    (list.length === 1 ? list[0]?.identity_key_hash : undefined) ??
    null
  if (!m.identity && !keyHash) return null
  return {
    acknowledged: m.identity?.acknowledged ?? null,
    createdAt: isoOrNull(m.identity?.created_timestamp),
    hash: m.identity?.hash ?? null,
    keyHash,
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
  const product = m.context?.referred_product
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
    errors: allErrors(m.errors),
    referredProduct: product
      ? { catalogId: product.catalog_id ?? null, productId: product.product_retailer_id ?? null }
      : null,
    identity: identityOf(m, contacts),
    group: m.group_id ? { id: m.group_id, participant: null } : null,
    other: unmapped(m, MAPPED_MESSAGE_KEYS, m.type),
  }
}

function groupOf(s: z.infer<typeof statusSchema>): GroupRef | null {
  if (s.recipient_type !== 'group' || !s.recipient_id) return null
  return { id: s.recipient_id, participant: s.recipient_participant_id ?? null }
}

function normalizeStatus(s: z.infer<typeof statusSchema>, now: number): InboundStatusEvent {
  const c = s.conversation
  return {
    kind: 'status',
    wamid: s.id,
    status: s.status,
    recipient: s.recipient_id ?? s.recipient_user_id ?? null,
    occurredAt: isoFromUnix(s.timestamp, now),
    error: errorOf(s.errors),
    pricing: s.pricing ?? null,
    callbackData: s.biz_opaque_callback_data ?? null,
    errors: allErrors(s.errors),
    billingConversation: c
      ? { id: c.id ?? null, origin: c.origin?.type ?? null, expiresAt: isoOrNull(c.expiration_timestamp) }
      : null,
    recipientBsuid: s.recipient_user_id ?? null,
    recipientParentBsuid: s.parent_recipient_user_id ?? s.recipient_parent_user_id ?? null,
    group: groupOf(s),
    other: unmapped(s, MAPPED_STATUS_KEYS),
  }
}

/** Each member of a group reports its own statuses: the member is part of a group status's key. */
const statusKey = (s: InboundStatusEvent) =>
  `status:${s.wamid}:${s.status}${s.group?.participant ? `:${s.group.participant}` : ''}`

/**
 * Splits a verified, parsed webhook for a channel into keyed events. Any JSON is accepted: what is not a WhatsApp
 * Business notification — or the entries, changes and parts of one this version cannot read — becomes an
 * `unknown` event each, keyed by its content (a retry of the same notification is the same event).
 */
export function splitWebhook(
  body: unknown,
  channel: { phoneNumberId: string | null; wabaId: string | null },
  now = Date.now(),
): SplitResult {
  const events: SplitEvent[] = []
  const skipped: SplitResult['skipped'] = []
  const unknown = (reason: string, part: unknown, time?: number) =>
    events.push({
      key: `unknown:${sha256(JSON.stringify(part) ?? 'null')}`,
      event: unknownNotice(reason, part, time, now),
    })
  const envelope = webhookEnvelope.safeParse(body)
  if (!envelope.success) {
    const issue = envelope.error.issues[0]
    unknown(
      `not a WhatsApp Business notification: ${issue?.path.join('.') || 'body'} ${issue?.message ?? 'is invalid'}`,
      body,
    )
    return { events, skipped }
  }
  for (const rawEntry of envelope.data.entry) {
    const parsedEntry = entrySchema.safeParse(rawEntry)
    if (!parsedEntry.success) {
      unknown('an entry without an id and a list of changes', rawEntry)
      continue
    }
    const entry = parsedEntry.data
    for (const rawChange of entry.changes) {
      const parsedChange = changeSchema.safeParse(rawChange)
      if (!parsedChange.success) {
        unknown('a change without a field name and an object value', { entry: entry.id, change: rawChange }, entry.time)
        continue
      }
      const change = parsedChange.data
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
          else events.push({ key: statusKey(event), event })
        }
        if (Array.isArray(value.errors) && value.errors.length > 0) {
          events.push({
            key: `errors:${sha256(JSON.stringify([entry.id, entry.time ?? null, value.errors]))}`,
            event: notice('errors', value, entry.time, now),
          })
        }
        // What else a `messages` change carries (click events, echoes, groups…) is not read yet: kept, not lost.
        const rest = unmapped(value, MAPPED_MESSAGES_VALUE_KEYS)
        if (rest) {
          unknown(
            `field messages carries ${Object.keys(rest).join(', ')}, which this version does not read`,
            { entry: entry.id, field: change.field, value: { metadata: value.metadata, ...rest } },
            entry.time,
          )
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

function unknownNotice(reason: string, part: unknown, time: number | undefined, now: number): UnknownNoticeEvent {
  return { kind: 'unknown', reason, ...boundedBody(part), occurredAt: isoFromUnix(time, now) }
}
