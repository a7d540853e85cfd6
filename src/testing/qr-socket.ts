/**
 * A scripted stand-in for Baileys' socket, at the one boundary wabox has with it (channels/qr/socket.ts): tests
 * drive the connection (QR codes, open, closes with WhatsApp's status codes, inbound messages) and see what wabox
 * sent. Everything on wabox's side of the boundary — session, auth store, pacing, inbox — runs for real.
 */
import type { AuthenticationState, QrSocket, QrSocketEvents, SocketFactory } from '../channels/qr/socket.ts'

type Listener = (arg: never) => unknown

export class ScriptedSocket implements QrSocket {
  private readonly listeners = new Map<string, Listener[]>()
  user: QrSocket['user'] = undefined
  ended = false
  loggedOut = false
  readonly sent: {
    jid: string
    content: Record<string, unknown>
    options: Record<string, unknown> | undefined
    at: number
  }[] = []
  readonly presence: { type: string; jid: string | undefined }[] = []
  readonly reads: { remoteJid: string; id: string; fromMe: boolean }[] = []

  constructor(
    readonly auth: AuthenticationState,
    readonly websocketUrl: string,
    /** What the session told the socket about group chats (Baileys reads it through shouldIgnoreJid). */
    readonly ignoreGroups: () => boolean = () => true,
    /** The WhatsApp Web version the session had it announce (undefined: Baileys' bundled one). */
    readonly version: [number, number, number] | undefined = undefined,
    /** What Baileys would call on a recipient's retry request, and the retry counter it would count in. */
    readonly retry: Pick<Parameters<SocketFactory>[0], 'getMessage' | 'retryCounters'> | null = null,
  ) {}

  /**
   * A recipient's phone asks for a message again (a retry receipt): Baileys counts the request and answers with
   * the message from getMessage, or cannot answer. What it would resend, or undefined.
   */
  async retryRequested(remoteJid: string, id: string): Promise<Record<string, unknown> | undefined> {
    if (!this.retry) throw new Error('made without the session’s retry hooks')
    const key = `${id}:${remoteJid}`
    this.retry.retryCounters.set(key, (this.retry.retryCounters.get<number>(key) ?? 0) + 1)
    return this.retry.getMessage({ remoteJid, id, fromMe: true } as { remoteJid: string; id: string })
  }
  /** What the next sends return as the message WhatsApp got (Baileys' proto), one each; else built from the content. */
  readonly nextMessages: Record<string, unknown>[] = []

  readonly ev = {
    on: <E extends keyof QrSocketEvents>(event: E, listener: QrSocketEvents[E]) => {
      this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener as Listener])
    },
  }

  emit<E extends keyof QrSocketEvents>(event: E, arg: Parameters<QrSocketEvents[E]>[0]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (a: unknown) => void)(arg)
  }

  // ---- what a test does to it ----
  showQr(code: string): void {
    this.emit('connection.update', { qr: code })
  }
  open(user = { id: '4915100000001:7@s.whatsapp.net', name: 'Acme Bakery', lid: '205829311234567:7@lid' }): void {
    this.user = user
    // Linking stores the identity in creds (Baileys does this in creds.update before open).
    this.auth.creds.me = { id: user.id, name: user.name, lid: user.lid }
    this.emit('creds.update', { me: this.auth.creds.me })
    this.emit('connection.update', { connection: 'open' })
  }
  close(statusCode: number, message = 'Connection Terminated'): void {
    const error = Object.assign(new Error(message), { output: { statusCode } })
    this.emit('connection.update', { connection: 'close', lastDisconnect: { error } })
  }

  /** WhatsApp refuses a message after taking it, as Baileys reports a server NACK (messages-recv.js handleBadAck). */
  nack(jid: string, id: string, code: string): void {
    const restricted = code === '463' ? ['Your account has been restricted'] : []
    this.emit('messages.update', [
      {
        key: { remoteJid: jid, fromMe: true, id },
        update: { status: 0, messageStubParameters: [code, ...restricted] },
      },
    ])
  }
  /** The next sends reject with these errors, one each (Baileys throws Boom errors: `output.statusCode`, `data`). */
  readonly sendErrors: Error[] = []
  /** Media the phone uploads again when asked: message id → the new directPath (absent: the phone has it no more). */
  readonly reuploads = new Map<string, string>()
  readonly mediaRequests: { key: Record<string, unknown>; message: Record<string, unknown> }[] = []

  // ---- what wabox calls ----
  end(): void {
    this.ended = true
  }
  async logout(): Promise<void> {
    this.loggedOut = true
  }
  async requestPairingCode(phoneNumber: string): Promise<string> {
    return `PAIR${phoneNumber.slice(-4)}`
  }
  async sendMessage(jid: string, content: Record<string, unknown>, options?: Record<string, unknown>) {
    const refused = this.sendErrors.shift()
    if (refused) throw refused
    this.sent.push({ jid, content, options, at: Date.now() })
    // As Baileys' generateWAMessageContent: a text becomes an extendedTextMessage (Utils/messages.js).
    const message =
      this.nextMessages.shift() ??
      (typeof content.text === 'string' ? { extendedTextMessage: { text: content.text } } : { ...content })
    return {
      key: {
        id: (options?.messageId as string | undefined) ?? `3EB0${this.sent.length}`,
        remoteJid: jid,
        fromMe: true,
      },
      message,
    }
  }
  async sendPresenceUpdate(type: 'composing' | 'paused' | 'available' | 'unavailable', jid?: string): Promise<void> {
    this.presence.push({ type, jid })
  }
  async readMessages(keys: { remoteJid: string; id: string; fromMe: boolean }[]): Promise<void> {
    this.reads.push(...keys)
  }
  /** As Baileys' updateMediaMessage: the media field gets the new directPath and url, or a Boom 404. */
  async updateMediaMessage(m: { key: { id: string } & Record<string, unknown>; message: Record<string, unknown> }) {
    this.mediaRequests.push(m)
    const directPath = this.reuploads.get(m.key.id)
    if (!directPath)
      throw Object.assign(new Error('Media re-upload failed by device (NOT_FOUND)'), { output: { statusCode: 404 } })
    const [field, content] = Object.entries(m.message)[0]!
    const url = `https://mmg.whatsapp.net${directPath}`
    return { key: m.key, message: { [field]: { ...(content as object), directPath, url } } }
  }
}

/** A factory that records every socket it makes; with `autoQr`, an unlinked session shows a QR at once. */
export function scriptedSockets(opts: { autoQr?: boolean } = {}) {
  const sockets: ScriptedSocket[] = []
  const factory: SocketFactory = ({ auth, websocketUrl, ignoreGroups, version, getMessage, retryCounters }) => {
    const socket = new ScriptedSocket(auth, websocketUrl, ignoreGroups, version, { getMessage, retryCounters })
    sockets.push(socket)
    if (opts.autoQr && !auth.creds.me)
      queueMicrotask(() => socket.showQr(`2@scripted-qr-${sockets.length},noise,identity,adv`))
    return socket
  }
  return { factory, sockets, last: () => sockets.at(-1)! }
}
