/**
 * QR-linked devices behind the ChannelProvider interface: sends go out through the channel's live session, with an
 * optional "typing…" moment first (as a person would), using the message id fixed at queue time.
 * Media links are fetched here, by wabox, through the URL guard (every redirect hop checked, a timeout, a size cap),
 * and handed to Baileys as bytes — Baileys would otherwise fetch the link itself and follow any redirect.
 *
 * Error codes: NOT_CONNECTED (the message waits without spending an attempt), SEND_FAILED (retried),
 * MEDIA_REFUSED (the link cannot be used: the message fails with the reason).
 */
import type { ChannelProvider, SendTarget } from '../provider.ts'
import { ProviderError } from '../provider.ts'
import type { QrSessions } from './sessions.ts'
import { UrlRefused } from '../../lib/url-guard.ts'
import { jidOf, type QrRequest } from './outbound.ts'

/** How long "typing…" shows before a text: a little longer for longer texts, never long. */
export const typingMs = (text: string | undefined) => Math.min(4_000, 600 + 30 * (text?.length ?? 20))

export const NOT_CONNECTED = -2
export const SEND_FAILED = -3
export const MEDIA_REFUSED = -4
const MEDIA_KINDS = ['image', 'video', 'audio', 'document', 'sticker'] as const

type MediaFetcher = (url: string) => Promise<{ bytes: Buffer; contentType: string | null }>

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

export function qrProvider(
  sessions: QrSessions,
  opts: { typing: (channelId: string) => boolean; fetchMedia: MediaFetcher; sleep?: (ms: number) => Promise<unknown> },
): ChannelProvider {
  const sleep = opts.sleep ?? ((ms: number) => Bun.sleep(ms))
  const live = (target: SendTarget) => {
    const socket = sessions.get(target.channelId)?.live
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
    async send(target, request) {
      const r = request as unknown as QrRequest
      const socket = live(target)
      const jid = jidOf(r.to)
      const prepared = await withFetchedMedia(r.content, opts.fetchMedia)
      try {
        if (opts.typing(target.channelId)) {
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
        return { providerMessageId: sent?.key.id ?? r.messageId, recipient: r.to }
      } catch (err) {
        throw new ProviderError({
          code: SEND_FAILED,
          reason: `WhatsApp did not take the message: ${(err as Error).message}`,
          retryable: true,
        })
      }
    },
    async markRead(target, wamid) {
      const socket = live(target)
      if (!target.recipient)
        throw new ProviderError({ code: SEND_FAILED, reason: 'No recipient to send the read receipt to' })
      await socket.readMessages([{ remoteJid: jidOf(target.recipient), id: wamid, fromMe: false }])
    },
  }
}
