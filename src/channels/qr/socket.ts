/**
 * The Baileys boundary: the only file that creates a WhatsApp Web socket. Everything else in channels/qr talks to
 * the QrSocket shape below, which is what wabox uses of Baileys' socket — so tests can put a scripted socket in its
 * place (an injected SocketFactory) while wabox's own session code runs for real.
 */
import {
  Browsers,
  isJidBroadcast,
  isJidGroup,
  isJidNewsletter,
  makeCacheableSignalKeyStore,
  makeWASocket,
  type AuthenticationState,
  type proto,
  type WAMessageKey,
} from 'baileys'
import type { Logger } from '../../log.ts'
import type { RetryCounters } from './sent-messages.ts'
import type { WaVersion } from './wa-version.ts'

/** Baileys' auth state, for code outside this folder that must name it (the scripted test socket). */
export type { AuthenticationState }

export type QrSocketEvents = {
  'connection.update': (u: {
    connection?: 'open' | 'connecting' | 'close'
    qr?: string
    isNewLogin?: boolean
    lastDisconnect?: { error?: Error & { output?: { statusCode?: number } } }
    /** WhatsApp restricts the number from starting new chats until `timeEnforcementEnds` (Baileys emits it after a 463). */
    reachoutTimeLock?: { isActive: boolean; timeEnforcementEnds?: Date; enforcementType?: string }
  }) => void
  'creds.update': (u: unknown) => void
  'messages.upsert': (u: { messages: unknown[]; type: string }) => void
  'messages.update': (u: unknown[]) => void
  'lid-mapping.update': (u: unknown) => void
  /** A chunk of the phone's history (never FULL: see the socket options); wabox keeps only its LID mappings. */
  'messaging-history.set': (u: { lidPnMappings?: unknown[]; messages?: unknown[]; syncType?: number | null }) => void
}

export type QrSocket = {
  ev: { on<E extends keyof QrSocketEvents>(event: E, listener: QrSocketEvents[E]): void }
  user?: { id: string; name?: string; lid?: string } | undefined
  end(error: Error | undefined): void
  logout(message?: string): Promise<void>
  requestPairingCode(phoneNumber: string): Promise<string>
  sendMessage(
    jid: string,
    content: Record<string, unknown>,
    options?: Record<string, unknown>,
  ): Promise<{ key: { id?: string | null; remoteJid?: string | null }; message?: unknown } | undefined>
  sendPresenceUpdate(type: 'composing' | 'paused' | 'available' | 'unavailable', jid?: string): Promise<void>
  readMessages(keys: { remoteJid: string; id: string; fromMe: boolean }[]): Promise<void>
  /**
   * Asks the phone to upload a message's media again (WhatsApp's host dropped it); resolves with the message whose
   * media now has a fresh directPath and url, or rejects (Boom, 404 when the phone no longer has it either).
   */
  updateMediaMessage(message: {
    key: { remoteJid: string; id: string; fromMe: boolean; participant?: string }
    message: Record<string, unknown>
  }): Promise<{ message?: Record<string, unknown> | null }>
}

export type SocketFactory = (opts: {
  auth: AuthenticationState
  logger: Logger
  websocketUrl: string
  /** Whether group chats are left out now (the channel's includeGroups is off); read at each stanza. */
  ignoreGroups: () => boolean
  /** The WhatsApp Web revision to announce (wa-version.ts); undefined for Baileys' bundled one. */
  version?: WaVersion
  /** A message this number sent, for a recipient's retry request (sent-messages.ts); undefined when unknown. */
  getMessage: (key: { remoteJid?: string | null; id?: string | null }) => Promise<Record<string, unknown> | undefined>
  /** How often each message was asked for again: the channel's, kept across its sockets. */
  retryCounters: RetryCounters
}) => QrSocket

/**
 * The browser the linked device shows as on the phone. WhatsApp checks the name in a pairing-code request
 * (companion_platform_display) and refuses names it does not know with 400 after the code was handed out (Baileys
 * PR #2769), so it is a real browser's, never "wabox".
 */
export const LINKED_BROWSER = Browsers.ubuntu('Chrome')

/**
 * Chats whose traffic a business inbox never uses: status updates (`status@broadcast`), broadcast lists, channels
 * (newsletters), and groups unless the channel includes them. Baileys then acknowledges their stanzas without
 * decrypting them, so nothing of them is processed, stored or counted.
 */
export function isIgnoredJid(jid: string, ignoreGroups: boolean): boolean {
  if (isJidBroadcast(jid) || isJidNewsletter(jid)) return true
  return ignoreGroups && isJidGroup(jid) === true
}

/**
 * Baileys' own log level: one step below wabox's. Baileys is chatty at info; at wabox's default (info) only its
 * errors show, at debug its warnings too. Its debug lines carry protocol detail: never those.
 */
export function baileysLevel(level: string): string {
  if (level === 'debug' || level === 'trace') return 'warn'
  if (level === 'fatal' || level === 'silent') return level
  return 'error'
}

export const baileysSocketFactory: SocketFactory = ({
  auth,
  logger,
  websocketUrl,
  ignoreGroups,
  version,
  getMessage,
  retryCounters,
}) => {
  const quiet = logger.child({ component: 'baileys' }, { level: baileysLevel(logger.level) })
  return makeWASocket({
    auth: { creds: auth.creds, keys: makeCacheableSignalKeyStore(auth.keys, quiet) },
    logger: quiet,
    waWebSocketUrl: websocketUrl,
    browser: LINKED_BROWSER,
    ...(version ? { version } : {}),
    // A business inbox: no "online" badge on the phone's contacts, no years of history pulled at link time. The
    // other history syncs stay on (Baileys' default: all but FULL): they carry the LID mappings, tctokens and the
    // first app-state sync, and without them messages from 7.x peers get lost or arrive undecryptable.
    markOnlineOnConnect: false,
    syncFullHistory: false,
    getMessage: getMessage as unknown as (key: WAMessageKey) => Promise<proto.IMessage | undefined>,
    msgRetryCounterCache: retryCounters,
    shouldIgnoreJid: (jid) => isIgnoredJid(jid, ignoreGroups()),
  }) as unknown as QrSocket
}
