/**
 * QR-linked devices behind the ChannelProvider contract: requests for Baileys (no templates, no interactive
 * messages, media by link), a deferral while the device is offline or a pacing cap holds, a person's pace
 * (pacing.ts), sends through the channel's live session with an optional "typing…" moment first (as a person
 * would) using the message id fixed at queue time, and media from WhatsApp's CDN.
 * Media links are fetched here, by wabox, through the URL guard (every redirect hop checked, a timeout, a size cap),
 * and handed to Baileys as bytes — Baileys would otherwise fetch the link itself and follow any redirect.
 *
 * Error codes: NOT_CONNECTED (the message waits without spending an attempt), SEND_FAILED (retried),
 * MEDIA_REFUSED (the link cannot be used: the message fails with the reason).
 */
import type { ServiceDeps } from '../../deps.ts'
import { iso } from '../../clock.ts'
import { AppError, invalidField } from '../../lib/errors.ts'
import { masked } from '../../lib/secrets.ts'
import { checkOutboundUrl, UrlRefused } from '../../lib/url-guard.ts'
import * as outboxRepo from '../../messaging/outbox.repo.ts'
import type { ChannelsTable } from '../channels.table.ts'
import { ProviderError, type ChannelProvider, type SendTarget } from '../provider.ts'
import type { SendMessageInput } from '../send-input.ts'
import { decodeMediaRef, type QrMediaRef } from './inbound.ts'
import { LiveSessions } from './live-sessions.ts'
import { fetchFromWhatsApp, MediaExpired } from './media.ts'
import { name } from './name.ts'
import type { QrSocket } from './socket.ts'
import { jidOf, sendFailure, toQrRequest, type QrRequest } from './outbound.ts'
import { createQrChannel } from './qr-channels.service.ts'
import { capHold, DAY_MS, QrPacer } from './pacing.ts'
import type { QrSettingsInput } from './settings.ts'
import { mergedSettingsOr422, qrSettingsOf } from './settings.ts'

/** How long "typing…" shows before a text: a little longer for longer texts, never long. */
export const typingMs = (text: string | undefined) => Math.min(4_000, 600 + 30 * (text?.length ?? 20))

export const NOT_CONNECTED = -2
export const SEND_FAILED = -3
export const MEDIA_REFUSED = -4
export const REACHOUT_LOCKED = -5
const MEDIA_KINDS = ['image', 'video', 'audio', 'document', 'sticker'] as const

export type MediaFetcher = (url: string) => Promise<{ bytes: Buffer; contentType: string | null }>

/** The content with its media link replaced by the fetched bytes. */
async function withFetchedMedia(
  content: Record<string, unknown>,
  fetchMedia: MediaFetcher,
): Promise<Record<string, unknown>> {
  const kind = MEDIA_KINDS.find((k) => typeof (content[k] as { url?: unknown } | undefined)?.url === 'string')
  if (!kind) return content
  let fetched: Awaited<ReturnType<MediaFetcher>>
  try {
    fetched = await fetchMedia((content[kind] as { url: string }).url)
  } catch (err) {
    if (err instanceof UrlRefused)
      throw new ProviderError({ code: MEDIA_REFUSED, reason: `The media link cannot be used: ${err.message}` })
    throw new ProviderError({
      code: SEND_FAILED,
      reason: `The media link could not be fetched: ${(err as Error).message}`,
      retryable: true,
    })
  }
  const mimetype = fetched.contentType?.split(';')[0]?.trim()
  return { ...content, [kind]: fetched.bytes, ...(mimetype && kind !== 'sticker' ? { mimetype } : {}) }
}

/** Media links on a QR channel are fetched by wabox itself: the same address rules as webhook URLs (checked again, hop by hop, at send time). */
async function guardMediaLink(deps: ServiceDeps, input: SendMessageInput): Promise<void> {
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

/** The media reference with the fresh place the phone uploaded the file to (Baileys' updateMediaMessage). */
async function reuploaded(socket: QrSocket, ref: QrMediaRef): Promise<QrMediaRef> {
  const field = `${ref.kind}Message`
  const key = ref.key!
  const updated = await socket.updateMediaMessage({
    key: {
      remoteJid: key.remoteJid,
      id: key.id,
      fromMe: key.fromMe,
      ...(key.participant ? { participant: key.participant } : {}),
    },
    message: {
      [field]: { url: ref.url, directPath: ref.directPath, mediaKey: Buffer.from(ref.mediaKey, 'base64') },
    },
  })
  const media = updated.message?.[field] as { url?: unknown; directPath?: unknown } | undefined
  const directPath = typeof media?.directPath === 'string' ? media.directPath : null
  if (!directPath) throw new Error('the phone did not upload the media again')
  return { ...ref, directPath, url: typeof media?.url === 'string' ? media.url : null }
}

/** Send starts of the last day: the caps' memory across restarts. */
async function sendHistory(deps: ServiceDeps, workspaceId: string, channelId: string, now: number) {
  return (await outboxRepo.sendStartsSince(deps.db, workspaceId, channelId, iso(now - DAY_MS))).map((r) =>
    Date.parse(r.updated_at),
  )
}

/** A new QR channel: its name and options; linking starts at once. */
export type QrConnectInput = { name: string; qr?: QrSettingsInput }

/** The QR part of a channel update. */
export type QrSettingsUpdate = { sendRate?: number; qr?: QrSettingsInput }

export type QrProvider = ChannelProvider<QrRequest, QrSettingsUpdate, QrConnectInput, ServiceDeps> & {
  readonly live: LiveSessions
}

export function qrProvider(opts: { fetchMedia: MediaFetcher; sleep?: (ms: number) => Promise<unknown> }): QrProvider {
  const sleep = opts.sleep ?? ((ms: number) => Bun.sleep(ms))
  const live = new LiveSessions()
  const lockedUntil = (channelId: string) => {
    const until = live.running().get(channelId)?.reachoutLockedUntil
    return until ? iso(until) : null
  }
  const socketOf = (target: SendTarget) => {
    const socket = live.running().get(target.channelId)?.live
    // Retryable: the session reconnects by itself, and the message waits for it.
    if (!socket)
      throw new ProviderError({
        code: NOT_CONNECTED,
        reason: 'The QR-linked device is not connected right now',
        retryable: true,
        notSent: true,
      })
    return socket
  }
  return {
    name,
    live,

    inactiveReason: () => 'The number must be linked (scan the QR code) before it can send.',
    // A QR-linked number is a WhatsApp account like any other: no customer-service window.
    admit() {},
    async buildRequest(deps, input, r) {
      await guardMediaLink(deps, input)
      return toQrRequest(input, {
        to: r.to,
        messageId: r.messageId,
        context: r.replyTo,
        reaction: r.reactionTo,
        startsChat: r.lastInboundAt === null,
      })
    },
    // Fixed at queue time: the copy the linked device echoes back is then the same message.
    fixedMessageId: (request) => request.messageId,
    async deferral(deps, channel: ChannelsTable, now) {
      if (channel.connection_state !== 'connected')
        return {
          until: null,
          reason: `the linked device is ${channel.connection_state ?? 'not connected'}; the message waits for it`,
        }
      const hold = capHold(
        await sendHistory(deps, channel.workspace_id, channel.id, now),
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
    },

    // A linked device has no credentials a send could be refused for: its session ends instead (session.ts).
    credentialsRefused: (code) => `WhatsApp refused the linked device (code ${code})`,
    parseRequest: (stored) => JSON.parse(stored) as QrRequest,
    // A device that is not connected: its messages wait (the session wakes the sender when it is back).
    readyToSend: (c) => c.connection_state === 'connected',
    /** One at a time, human delays, caps, warm-up; a new pacer starts from the channel's sends of the last day. */
    async pacer(deps, c, existing) {
      const settings = qrSettingsOf(c.qr_settings).pacing
      const linkedAt = c.linked_at ? Date.parse(c.linked_at) : null
      if (existing instanceof QrPacer) {
        existing.setSettings(settings, linkedAt)
        return existing
      }
      return new QrPacer(settings, linkedAt, await sendHistory(deps, c.workspace_id, c.id, deps.clock.now()))
    },
    sendTarget(_deps, c, recipient) {
      if (c.status === 'pending') return { unavailable: 'The number is not linked yet (scan the QR code)' }
      if (c.status !== 'active') return { unavailable: 'The number must be linked again (scan a new QR code)' }
      return {
        target: { workspaceId: c.workspace_id, channelId: c.id, recipient, credentials: null },
        authFailures: 0,
      }
    },
    async send(target, r) {
      const socket = socketOf(target)
      const session = live.running().get(target.channelId)
      const lockedUntil = r.startsChat ? session?.reachoutLockedUntil : null
      if (session && lockedUntil) {
        // Honoured, not tried: every attempt to reach out while restricted counts against the number (463).
        throw new ProviderError({
          code: REACHOUT_LOCKED,
          reason: `WhatsApp restricts this number from starting new chats until ${iso(lockedUntil)}; the message waits`,
          retryable: true,
          notSent: true,
          retryAt: session.reachoutRecheckAt(lockedUntil),
        })
      }
      const jid = jidOf(r.to)
      const prepared = await withFetchedMedia(r.content, opts.fetchMedia)
      try {
        if (live.current()?.typing(target.channelId)) {
          await socket.sendPresenceUpdate('composing', jid)
          await sleep(typingMs(r.content.text as string | undefined))
          await socket.sendPresenceUpdate('paused', jid)
        }
        const quoted = r.quoted
          ? {
              key: { remoteJid: jid, id: r.quoted.id, fromMe: r.quoted.fromMe },
              message: { conversation: r.quoted.text },
            }
          : undefined
        const content = prepared.react
          ? {
              react: {
                ...(prepared.react as Record<string, unknown>),
                key: { remoteJid: jid, ...(prepared.react as { key: object }).key },
              },
            }
          : prepared
        const sent = await socket.sendMessage(jid, content, { messageId: r.messageId, ...(quoted ? { quoted } : {}) })
        // Kept for the recipient's retry requests (never throws: the message went out either way).
        await session?.sent.remember(sent)
        return { providerMessageId: sent?.key.id ?? r.messageId, recipient: r.to }
      } catch (err) {
        throw sendFailure(err, SEND_FAILED)
      }
    },
    async markRead(target, wamid) {
      const socket = socketOf(target)
      if (!target.recipient)
        throw new ProviderError({ code: SEND_FAILED, reason: 'No recipient to send the read receipt to' })
      await socket.readMessages([{ remoteJid: jidOf(target.recipient), id: wamid, fromMe: false }])
    },

    // Media for QR sends goes by link; uploaded media ids are Cloud API media.
    async uploadMedia() {
      throw new AppError(409, 'channel_unavailable', 'The channel cannot send right now.')
    },
    async downloadMedia(deps, channel, mediaId) {
      const ref = decodeMediaRef(mediaId)
      if (!ref) throw new Error('the media id is not a WhatsApp media reference')
      const origin = deps.config.qrMediaUrl
      try {
        return await fetchFromWhatsApp(ref, origin)
      } catch (err) {
        // WhatsApp keeps media for a while only; the phone can upload it again when the device asks.
        const socket = live.running().get(channel.id)?.live
        if (!(err instanceof MediaExpired) || !ref.key || !socket) throw err
        return fetchFromWhatsApp(await reuploaded(socket, ref), origin)
      }
    },

    connect: (deps, ctx, input) => createQrChannel(deps, live.running(), ctx, input),
    view: (_deps, c) => ({
      credentials: {
        accessToken: masked(c.access_token_last4),
        appSecret: masked(c.app_secret_last4),
        verifyToken: masked(c.verify_token_last4),
      },
      webhookUrl: null,
      connection: {
        state: c.connection_state,
        since: c.connection_since,
        lastError: c.last_error,
        reconnectCount: c.reconnect_count,
        linkedAt: c.linked_at,
        reachoutLockedUntil: lockedUntil(c.id),
      },
      qr: qrSettingsOf(c.qr_settings),
    }),
    updateSettings(c, input) {
      if (input.sendRate !== undefined) throw invalidField('sendRate', 'QR-linked channels are paced by qr.pacing')
      if (input.qr === undefined) return { patch: {}, changes: {} }
      const settings = mergedSettingsOr422(c.qr_settings, input.qr)
      return {
        patch: { qr_settings: settings },
        changes: { qr: { from: qrSettingsOf(c.qr_settings), to: JSON.parse(settings) } },
        applied: () => live.current()?.configure(c.id, settings),
      }
    },
    async disconnect(_deps, c, at) {
      // Logged out on WhatsApp's side (unlinked from the phone) and the sealed session erased.
      await live.current()?.unlink(c.workspace_id, c.id)
      return { connection_state: null, connection_since: at }
    },
  }
}
