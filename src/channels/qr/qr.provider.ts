/**
 * QR-linked devices behind the ChannelProvider interface: sends go out through the channel's live session, with an
 * optional "typing…" moment first (as a person would), using the message id fixed at queue time.
 */
import type { ChannelProvider, SendTarget } from '../provider.ts'
import { ProviderError } from '../provider.ts'
import type { QrSessions } from './sessions.ts'
import { jidOf, type QrRequest } from './outbound.ts'

/** How long "typing…" shows before a text: a little longer for longer texts, never long. */
export const typingMs = (text: string | undefined) => Math.min(4_000, 600 + 30 * (text?.length ?? 20))

export function qrProvider(sessions: QrSessions, opts: { typing: (channelId: string) => boolean; sleep?: (ms: number) => Promise<unknown> }): ChannelProvider {
  const sleep = opts.sleep ?? ((ms: number) => Bun.sleep(ms))
  const live = (target: SendTarget) => {
    const socket = sessions.get(target.channelId)?.live
    // Retryable: the session reconnects by itself, and the message waits for it.
    if (!socket) throw new ProviderError(-2, 'The QR-linked device is not connected right now', true, false, false)
    return socket
  }
  return {
    async send(target, request) {
      const r = request as unknown as QrRequest
      const socket = live(target)
      const jid = jidOf(r.to)
      try {
        if (opts.typing(target.channelId)) {
          await socket.sendPresenceUpdate('composing', jid)
          await sleep(typingMs(r.content.text as string | undefined))
          await socket.sendPresenceUpdate('paused', jid)
        }
        const quoted = r.quoted ? { key: { remoteJid: jid, id: r.quoted.id, fromMe: r.quoted.fromMe }, message: { conversation: r.quoted.text } } : undefined
        const content = r.content.react ? { react: { ...(r.content.react as Record<string, unknown>), key: { remoteJid: jid, ...((r.content.react as { key: object }).key) } } } : r.content
        const sent = await socket.sendMessage(jid, content, { messageId: r.messageId, ...(quoted ? { quoted } : {}) })
        return { providerMessageId: sent?.key.id ?? r.messageId, recipient: r.to }
      } catch (err) {
        throw new ProviderError(-2, `WhatsApp did not take the message: ${(err as Error).message}`, true, false, false)
      }
    },
    async markRead(target, wamid) {
      const socket = live(target)
      if (!target.recipient) throw new ProviderError(-2, 'No recipient to send the read receipt to', false, false, false)
      await socket.readMessages([{ remoteJid: jidOf(target.recipient), id: wamid, fromMe: false }])
    },
  }
}
