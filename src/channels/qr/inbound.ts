/**
 * Maps what Baileys emits for a QR-linked number (messages.upsert, messages.update) to the same provider-neutral
 * events the Cloud API splitter produces (channels/cloud/inbound.ts), so the inbox and its processor need not
 * know which kind of channel a message came through. Type names and `content` keys mirror the Cloud ones.
 * Keys: messages by id (`m:<id>`), statuses by (id, status) (`s:<id>:<status>`), so a redelivery maps to the
 * same idempotency key. Nothing here throws: what cannot or should not be stored is skipped with a reason.
 */
import { getContentType, jidDecode, normalizeMessageContent, proto } from 'baileys'
import type { WAMessage, WAMessageKey, WAMessageUpdate } from 'baileys'
import { z } from 'zod'
import type { InboundContact, InboundEvent, InboundMessageEvent, InboundStatusEvent } from '../inbound-events.ts'
import { refusalOf } from './outbound.ts'

/** digits of a LID → the phone number (digits, no +) behind it, if known */
export type LidResolver = (lid: string) => string | null

export type QrInboundContext = {
  /** digits of the linked number */
  ownNumber: string | null
  /** digits of the linked number's LID */
  ownLid: string | null
  ignoreGroups: boolean
  resolveLid: LidResolver
}

export type MappedEvent = { key: string; event: InboundEvent }
export type Mapped = {
  events: MappedEvent[]
  lidMappings: { lid: string; waId: string }[]
  skipped: { id: string | null; reason: string }[]
}

/** The message a media file came with, as WhatsApp knows it: what a request to upload it again names. */
export type QrMessageKey = { remoteJid: string; id: string; fromMe: boolean; participant: string | null }

export type QrMediaRef = {
  kind: 'image' | 'video' | 'audio' | 'document' | 'sticker'
  url: string | null
  directPath: string | null
  /** base64 */
  mediaKey: string
  mimetype: string | null
  /** base64 */
  fileSha256: string | null
  /** Absent on references made before wabox kept it: those cannot be asked for again. */
  key?: QrMessageKey | null
}

const MEDIA_REF_PREFIX = 'qr:'

/** The skip reason of a message Baileys could not decrypt (session.ts counts these per channel). */
export const UNDECRYPTABLE = 'undecryptable message (CIPHERTEXT)'

const mediaRefSchema = z.object({
  kind: z.enum(['image', 'video', 'audio', 'document', 'sticker']),
  url: z.string().nullable(),
  directPath: z.string().nullable(),
  mediaKey: z.string().min(1),
  mimetype: z.string().nullable(),
  fileSha256: z.string().nullable(),
  key: z
    .object({ remoteJid: z.string(), id: z.string(), fromMe: z.boolean(), participant: z.string().nullable() })
    .nullable()
    .optional(),
})

/** A QR media "id" carries everything needed to download and decrypt it later: Baileys media has no server-side id. */
export function encodeMediaRef(ref: QrMediaRef): string {
  const { kind, url, directPath, mediaKey, mimetype, fileSha256, key } = ref
  return (
    MEDIA_REF_PREFIX +
    Buffer.from(
      JSON.stringify({ kind, url, directPath, mediaKey, mimetype, fileSha256, ...(key ? { key } : {}) }),
    ).toString('base64url')
  )
}

export function decodeMediaRef(id: string): QrMediaRef | null {
  if (typeof id !== 'string' || !id.startsWith(MEDIA_REF_PREFIX)) return null
  try {
    const parsed = mediaRefSchema.safeParse(
      JSON.parse(Buffer.from(id.slice(MEDIA_REF_PREFIX.length), 'base64url').toString('utf8')),
    )
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}

type Party = { waId: string | null; bsuid: string | null }
type Batch = { ctx: QrInboundContext; now: number; lids: Map<string, string>; result: Mapped }
type ContentOf<K extends keyof proto.IMessage> = NonNullable<proto.IMessage[K]>

const MEDIA_KINDS = {
  imageMessage: 'image',
  videoMessage: 'video',
  // A video note (the round video recorded in the chat): a video to wabox, marked as a note.
  ptvMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  stickerMessage: 'sticker',
} as const
const PHONE_SERVERS = new Set(['s.whatsapp.net', 'c.us', 'hosted'])
const LID_SERVERS = new Set(['lid', 'hosted.lid'])
// WhatsApp labels a message "forwarded many times" from this forwarding score on.
const FREQUENTLY_FORWARDED_SCORE = 5
const { Status } = proto.WebMessageInfo
const STATUS_NAMES: Partial<Record<number, string>> = {
  [Status.ERROR]: 'failed',
  [Status.SERVER_ACK]: 'sent',
  [Status.DELIVERY_ACK]: 'delivered',
  [Status.READ]: 'read',
  [Status.PLAYED]: 'played',
}

/** Maps a messages.upsert batch (live messages, echoes of our own sends, messages typed on the phone). */
export function mapUpsert(messages: WAMessage[], ctx: QrInboundContext, now = Date.now()): Mapped {
  const batch = newBatch(ctx, now)
  for (const msg of messages) {
    const id = msg?.key?.id ?? null
    try {
      const mapped = mapMessage(msg, batch)
      if (typeof mapped === 'string') batch.result.skipped.push({ id, reason: mapped })
      else batch.result.events.push({ key: `m:${mapped.wamid}`, event: mapped })
    } catch (err) {
      batch.result.skipped.push({
        id,
        reason: `malformed message: ${err instanceof Error ? err.message : String(err)}`,
      })
    }
  }
  return finish(batch)
}

/** Maps a messages.update batch: only delivery receipts of our own messages become events. */
export function mapUpdates(updates: WAMessageUpdate[], ctx: QrInboundContext, now = Date.now()): Mapped {
  const batch = newBatch(ctx, now)
  for (const u of updates) {
    const id = u?.key?.id ?? null
    try {
      const mapped = mapStatus(u, batch)
      if (typeof mapped === 'string') batch.result.skipped.push({ id, reason: mapped })
      else batch.result.events.push({ key: `s:${mapped.wamid}:${mapped.status}`, event: mapped })
    } catch (err) {
      batch.result.skipped.push({ id, reason: `malformed update: ${err instanceof Error ? err.message : String(err)}` })
    }
  }
  return finish(batch)
}

const newBatch = (ctx: QrInboundContext, now: number): Batch => ({
  ctx,
  now,
  lids: new Map(),
  result: { events: [], lidMappings: [], skipped: [] },
})

function finish(batch: Batch): Mapped {
  batch.result.lidMappings = [...batch.lids].map(([lid, waId]) => ({ lid, waId }))
  return batch.result
}

/** Why a chat is not one wabox stores, or null when it is. */
function chatSkipReason(jid: string, ctx: QrInboundContext): string | null {
  if (jid === 'status@broadcast') return 'status update (status@broadcast)'
  const server = jidDecode(jid)?.server
  if (server === 'newsletter') return 'newsletter (channel) message'
  if (server === 'broadcast') return 'broadcast list message'
  if (server === 'g.us' && ctx.ignoreGroups) return 'group message (groups are ignored)'
  if (server === 'g.us' || (server && (PHONE_SERVERS.has(server) || LID_SERVERS.has(server)))) return null
  return `unsupported chat ${server ?? jid}`
}

/**
 * Who a JID is: a phone number, or a LID with the number behind it when the alternate JID, a mapping seen earlier
 * in this batch or the resolver knows it. A LID is always carried as `lid:<digits>` (the contact's bsuid), so a
 * person first seen by LID and later by number stays one contact.
 */
function partyOf(jid: string | null | undefined, alt: string | null | undefined, batch: Batch): Party | null {
  const decoded = jidDecode(jid ?? undefined)
  if (!decoded?.user) return null
  const altDecoded = jidDecode(alt ?? undefined)
  if (PHONE_SERVERS.has(decoded.server)) {
    if (altDecoded?.user && LID_SERVERS.has(altDecoded.server)) {
      batch.lids.set(altDecoded.user, decoded.user)
      return { waId: decoded.user, bsuid: `lid:${altDecoded.user}` }
    }
    return { waId: decoded.user, bsuid: null }
  }
  if (!LID_SERVERS.has(decoded.server)) return null
  const lid = decoded.user
  if (altDecoded?.user && PHONE_SERVERS.has(altDecoded.server)) {
    batch.lids.set(lid, altDecoded.user)
    return { waId: altDecoded.user, bsuid: `lid:${lid}` }
  }
  // Both forms whenever the LID is known: the processor then keeps one contact whichever form comes first.
  const waId = batch.lids.get(lid) ?? batch.ctx.resolveLid(lid)
  return { waId: waId ?? null, bsuid: `lid:${lid}` }
}

function isOwn(jid: string | null | undefined, ctx: QrInboundContext): boolean {
  const decoded = jidDecode(jid ?? undefined)
  if (!decoded?.user) return false
  if (PHONE_SERVERS.has(decoded.server)) return decoded.user === ctx.ownNumber
  return LID_SERVERS.has(decoded.server) && decoded.user === ctx.ownLid
}

/** The person a message is exchanged with: the chat partner in a 1:1 chat, the author in a group. */
function counterpart(
  key: WAMessageKey,
  batch: Batch,
): { party: Party; group: string | null; fromMe: boolean } | string {
  const remoteJid = key.remoteJid ?? ''
  if (jidDecode(remoteJid)?.server === 'g.us') {
    const fromMe = key.fromMe === true || isOwn(key.participant, batch.ctx)
    // Our own message in a group has no one partner: a conversation row per group member would be wrong.
    if (fromMe) return 'own message in a group'
    const party = partyOf(key.participant, key.participantAlt, batch)
    return party ? { party, group: remoteJid, fromMe } : 'group message without a readable participant'
  }
  // The "message yourself" chat holds the business's own notes, not a customer conversation.
  if (isOwn(remoteJid, batch.ctx)) return 'chat with the linked number itself'
  const party = partyOf(remoteJid, key.remoteJidAlt, batch)
  return party ? { party, group: null, fromMe: key.fromMe === true } : `unreadable chat ${remoteJid}`
}

function mapMessage(msg: WAMessage, batch: Batch): InboundMessageEvent | string {
  const { key } = msg
  if (!key?.id) return 'message without an id'
  if (!key.remoteJid) return 'message without a chat'
  const chatSkip = chatSkipReason(key.remoteJid, batch.ctx)
  if (chatSkip) return chatSkip

  const message = normalizeMessageContent(msg.message)
  const contentType = getContentType(message ?? undefined)
  if (!message || !contentType) {
    // History sync, app-state and disappearing-setting changes arrive as stubs: bookkeeping, not conversation.
    // A message Baileys could not decrypt comes as a CIPHERTEXT stub (it asks the sender to retry, and a decrypted
    // copy with the same id follows when that works): counted by the session, never stored.
    if (msg.messageStubType === proto.WebMessageInfo.StubType.CIPHERTEXT) return UNDECRYPTABLE
    const stub = msg.messageStubType
      ? (proto.WebMessageInfo.StubType[msg.messageStubType] ?? String(msg.messageStubType))
      : null
    return stub ? `stub ${stub}` : 'no content'
  }

  const typed = mapContent(message, contentType, key)
  if (typeof typed === 'string') return typed
  const who = counterpart(key, batch)
  if (typeof who === 'string') return who

  const contextInfo = contextInfoOf(message, contentType)
  const content = typed.content
  if (contextInfo?.isForwarded) content.forwarded = true
  if ((contextInfo?.forwardingScore ?? 0) >= FREQUENTLY_FORWARDED_SCORE) content.frequentlyForwarded = true
  if (who.group) content.groupJid = who.group

  const contact: InboundContact = {
    ...who.party,
    profileName: who.fromMe ? null : msg.pushName || null,
    username: null,
  }
  return {
    kind: 'message',
    wamid: key.id,
    contact,
    type: typed.type,
    text: typed.text,
    content,
    contextWamid: contextInfo?.stanzaId || null,
    media: typed.media,
    error: typed.error,
    sentAt: isoFromUnixSeconds(msg.messageTimestamp, batch.now),
    ...(who.fromMe ? { fromMe: true } : {}),
  }
}

type Body = Pick<InboundMessageEvent, 'type' | 'text' | 'content' | 'media' | 'error'>
const body = (
  type: string,
  text: string | null,
  content: Record<string, unknown> = {},
  media: InboundMessageEvent['media'] = null,
): Body => ({
  type,
  text,
  content,
  media,
  error: null,
})

/** The type-specific part, as the Cloud splitter shapes it: text for people, the rest in `content`. */
function mapContent(message: proto.IMessage, contentType: keyof proto.IMessage, key: WAMessageKey): Body | string {
  switch (contentType) {
    case 'conversation':
      return body('text', message.conversation ?? null)
    case 'extendedTextMessage':
      return body('text', message.extendedTextMessage?.text ?? null)
    case 'imageMessage':
    case 'videoMessage':
    case 'ptvMessage':
    case 'audioMessage':
    case 'documentMessage':
    case 'stickerMessage':
      return mediaBody(message, contentType, key)
    case 'locationMessage': {
      const m = message.locationMessage as ContentOf<'locationMessage'>
      const latitude = numberOrNull(m.degreesLatitude)
      const longitude = numberOrNull(m.degreesLongitude)
      const name = m.name || null
      return body('location', name ?? coordinates(latitude, longitude), {
        latitude,
        longitude,
        name,
        address: m.address || null,
        url: m.url || null,
      })
    }
    case 'liveLocationMessage': {
      const m = message.liveLocationMessage as ContentOf<'liveLocationMessage'>
      const latitude = numberOrNull(m.degreesLatitude)
      const longitude = numberOrNull(m.degreesLongitude)
      return body('location', m.caption || coordinates(latitude, longitude), {
        latitude,
        longitude,
        name: null,
        address: null,
        url: null,
        live: true,
      })
    }
    case 'contactMessage':
    case 'contactsArrayMessage': {
      const cards =
        contentType === 'contactMessage'
          ? [message.contactMessage as ContentOf<'contactMessage'>]
          : (message.contactsArrayMessage?.contacts ?? [])
      const contacts = cards.map(contactCard)
      const names = contacts.map((c) => c.name.formatted_name).filter(Boolean)
      return body('contacts', names.join(', ') || message.contactsArrayMessage?.displayName || null, { contacts })
    }
    case 'reactionMessage': {
      const m = message.reactionMessage as ContentOf<'reactionMessage'>
      if (!m.key?.id) return 'reaction to nothing'
      // An empty reaction removes the earlier one, as in the Cloud API.
      const emoji = m.text || null
      return body('reaction', emoji, { messageId: m.key.id, emoji })
    }
    // The parent of an album only announces how many images and videos follow; each of them comes as its own message.
    case 'albumMessage':
      return 'album announcement (its images and videos come as messages of their own)'
    // A vote is an encrypted update of the poll, not something said in the chat.
    case 'pollUpdateMessage':
      return 'poll vote'
    case 'protocolMessage': {
      const m = message.protocolMessage as ContentOf<'protocolMessage'>
      const kind = m.type ?? null
      if (kind === proto.Message.ProtocolMessage.Type.MESSAGE_EDIT) return editBody(m)
      if (kind !== proto.Message.ProtocolMessage.Type.REVOKE) {
        return `protocol message ${kind === null ? 'without a type' : (proto.Message.ProtocolMessage.Type[kind] ?? String(kind))}`
      }
      if (!m.key?.id) return 'revoke of nothing'
      return body('revoked', null, { messageId: m.key.id })
    }
    default:
      return {
        ...body('unsupported', null, { unsupportedType: contentType }),
        error: { code: 131051, title: 'Unsupported message type', details: contentType },
      }
  }
}

/**
 * An edit of an earlier message (the sender changed its text): kept as a message of type `edited` naming the
 * original and carrying the new text, so the conversation shows it; the original is left as it was received.
 */
function editBody(m: ContentOf<'protocolMessage'>): Body | string {
  if (!m.key?.id) return 'edit of nothing'
  const edited = normalizeMessageContent(m.editedMessage ?? undefined)
  const text =
    edited?.conversation ||
    edited?.extendedTextMessage?.text ||
    edited?.imageMessage?.caption ||
    edited?.videoMessage?.caption ||
    edited?.documentMessage?.caption ||
    null
  return body('edited', text, { messageId: m.key.id })
}

function mediaBody(message: proto.IMessage, contentType: keyof typeof MEDIA_KINDS, key: WAMessageKey): Body {
  const kind = MEDIA_KINDS[contentType]
  const m = message[contentType] as ContentOf<keyof typeof MEDIA_KINDS>
  const mediaKey = base64(m.mediaKey)
  const fileSha256 = base64(m.fileSha256)
  const mime = m.mimetype || null
  const filename = 'fileName' in m ? m.fileName || null : null
  const content: Record<string, unknown> = {}
  if ('ptt' in m && typeof m.ptt === 'boolean') content.voice = m.ptt
  if ('isAnimated' in m && typeof m.isAnimated === 'boolean') content.animated = m.isAnimated
  if (contentType === 'ptvMessage') content.videoNote = true
  const url = m.url || null
  const directPath = m.directPath || null
  // Without a key (or a place to fetch from) the media cannot be downloaded: keep the message, not a dead reference.
  const media =
    mediaKey && (url || directPath)
      ? {
          id: encodeMediaRef({
            kind,
            url,
            directPath,
            mediaKey,
            mimetype: mime,
            fileSha256,
            key: key.remoteJid && key.id ? messageKey(key) : null,
          }),
          mime,
          sha256: fileSha256,
          filename,
        }
      : null
  const caption = 'caption' in m ? m.caption || null : null
  return body(kind, caption, content, media)
}

const messageKey = (key: WAMessageKey): QrMessageKey => ({
  remoteJid: key.remoteJid!,
  id: key.id!,
  fromMe: key.fromMe === true,
  participant: key.participant || null,
})

/** A contact card in the Cloud API's shape (name.formatted_name, phones[].wa_id), plus the vCard it came from. */
function contactCard(card: proto.Message.IContactMessage) {
  const vcard = card.vcard || null
  const formattedName = card.displayName || vcardField(vcard, 'FN')
  return { name: { formatted_name: formattedName }, phones: vcardPhones(vcard), vcard }
}

function vcardField(vcard: string | null, field: string): string | null {
  const line = vcard
    ?.split(/\r?\n/)
    .find((l) => l.toUpperCase().startsWith(`${field}:`) || l.toUpperCase().startsWith(`${field};`))
  const value = line?.slice(line.indexOf(':') + 1).trim()
  return value || null
}

/** WhatsApp writes numbers as `TEL;type=CELL;waid=15551234567:+1 555-123-4567`, sometimes with an `item1.` group prefix. */
function vcardPhones(vcard: string | null): { phone: string; wa_id?: string; type?: string }[] {
  const phones: { phone: string; wa_id?: string; type?: string }[] = []
  for (const line of vcard?.split(/\r?\n/) ?? []) {
    const match = /^(?:[\w-]+\.)?TEL([^:]*):(.+)$/i.exec(line.trim())
    if (!match) continue
    const params = (match[1] ?? '').split(';').map((p) => p.split('='))
    const param = (name: string) => params.find(([k]) => k?.toLowerCase() === name)?.[1]
    const waId = param('waid')
    const type = param('type')
    phones.push({ phone: (match[2] ?? '').trim(), ...(waId ? { wa_id: waId } : {}), ...(type ? { type } : {}) })
  }
  return phones
}

function contextInfoOf(message: proto.IMessage, contentType: keyof proto.IMessage): proto.IContextInfo | null {
  const part = message[contentType]
  return part && typeof part === 'object' && 'contextInfo' in part
    ? ((part.contextInfo as proto.IContextInfo | null | undefined) ?? null)
    : null
}

function mapStatus(u: WAMessageUpdate, batch: Batch): InboundStatusEvent | string {
  const { key, update } = u
  if (!key?.id) return 'update without an id'
  const code = update?.status
  if (code === undefined || code === null) return 'not a status change'
  if (code === Status.PENDING) return 'pending status'
  const status = STATUS_NAMES[code]
  if (!status) return `unknown status ${code}`
  // A read receipt for a message we received only says another of our devices read it.
  if (key.fromMe !== true) return 'status of a message we did not send'
  if (!key.remoteJid) return 'status without a chat'
  const chatSkip = chatSkipReason(key.remoteJid, batch.ctx)
  if (chatSkip) return chatSkip
  const isGroup = jidDecode(key.remoteJid)?.server === 'g.us'
  const party = isGroup ? null : partyOf(key.remoteJid, key.remoteJidAlt, batch)
  return {
    kind: 'status',
    wamid: key.id,
    status,
    recipient: party ? (party.waId ?? party.bsuid) : null,
    // Baileys reports a receipt without a time as 0.
    occurredAt: isoFromUnixSeconds(update.messageTimestamp, batch.now),
    error: status === 'failed' ? nackError(update.messageStubParameters) : null,
    pricing: null,
    callbackData: null,
  }
}

/**
 * Why WhatsApp refused a message we sent: Baileys reports the server's NACK as status ERROR with the code first in
 * messageStubParameters (Socket/messages-recv.js handleBadAck). 463 and 479 get their own failures (outbound.ts):
 * 463 means the number is restricted from starting chats, and sending again only deepens the restriction.
 */
function nackError(parameters: unknown): InboundStatusEvent['error'] {
  const [code, text] = Array.isArray(parameters) ? parameters.map((p) => (typeof p === 'string' ? p : null)) : []
  const known = code ? refusalOf(code) : null
  if (known) return { code: known.code, title: known.title, details: text ?? null }
  return { code: 131000, title: 'Failed to send', details: code ?? null }
}

/** Protobuf timestamps come as numbers, Long objects or (from a JSON store) strings, all in seconds. */
function isoFromUnixSeconds(value: unknown, fallback: number): string {
  const seconds = toNumber(value)
  const date = new Date(seconds !== null && seconds > 0 ? seconds * 1000 : fallback)
  return Number.isFinite(date.getTime()) ? date.toISOString() : new Date(fallback).toISOString()
}

function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return value
  if (typeof value === 'string' && value.trim() !== '') return Number(value)
  if (typeof value === 'bigint') return Number(value)
  if (value && typeof value === 'object') {
    const long = value as { low?: unknown; high?: unknown; toNumber?: unknown }
    if (typeof long.toNumber === 'function') return Number((long.toNumber as () => number).call(value))
    if (typeof long.low === 'number' && typeof long.high === 'number') return long.high * 2 ** 32 + (long.low >>> 0)
  }
  return null
}

const numberOrNull = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const coordinates = (latitude: number | null, longitude: number | null) =>
  latitude !== null && longitude !== null ? `${latitude}, ${longitude}` : null

/** Binary fields are Uint8Arrays when live, base64 strings or {type: 'Buffer', data} after a trip through a JSON store. */
function base64(value: unknown): string | null {
  if (!value) return null
  if (value instanceof Uint8Array) return value.length > 0 ? Buffer.from(value).toString('base64') : null
  if (typeof value === 'string') return value
  const data = (value as { data?: unknown }).data
  if (Array.isArray(data)) return data.length > 0 ? Buffer.from(data as number[]).toString('base64') : null
  if (typeof data === 'string' && data) return data
  return null
}
