/**
 * One QR-linked number's connection to WhatsApp, kept up for as long as the channel is linked.
 *
 * Linking: the socket shows rotating QR codes (or answers a pairing-code request); after the scan WhatsApp closes
 * with 515 "restart required", which is the normal end of linking — a new socket with the saved creds comes up
 * at once and opens as `connected`.
 * Staying up: a transient close (network, 408/428/500/503…) reconnects with exponential backoff and jitter, capped;
 * the channel shows `reconnecting` with the last reason and a reconnect count. A close that no retry can fix
 * stops: logged out / forbidden / multi-device mismatch erase the sealed session (the number must be linked again),
 * "connection replaced" stops without a loop (two sockets with the same creds would keep replacing each other), and
 * an unscanned QR that ran out of codes waits for the user to start linking again; five 500s in a row (Baileys'
 * code for any unexplained stream error) stop as `needs_attention`, the session kept for a person to reconnect.
 * Creds and Signal keys are persisted on every change, sealed, in SQLite (auth-store.ts).
 */
import type { ServiceDeps } from '../../deps.ts'
import { iso, type TimerHandle } from '../../clock.ts'
import * as audit from '../../audit/audit.service.ts'
import { systemCaller } from '../../auth/principal.ts'
import { emit } from '../../events/emit.ts'
import type { IntakeWriter } from '../../intake/writer.ts'
import { idempotencyKey } from '../inbound-events.ts'
import * as channelsRepo from '../channels.repo.ts'
import type { ChannelStatus, ChannelsTable, QrConnectionState, QrWarning } from '../channels.table.ts'
import { openAuthStore, type QrAuthStore } from './auth-store.ts'
import { mapUpdates, mapUpsert, UNDECRYPTABLE, type Mapped, type QrInboundContext } from './inbound.ts'
import type { QrSocket, QrSocketEvents, SocketFactory } from './socket.ts'
import * as qrRepo from './lid-mappings.repo.ts'
import { qrSettingsOf, type QrSettings } from './settings.ts'
import { RetryCounters, SentMessages } from './sent-messages.ts'
import { formatWaVersion, type WaVersion, type WaVersions } from './wa-version.ts'

export const RECONNECT_BASE_MS = 2_000
export const RECONNECT_CAP_MS = 5 * 60_000
/**
 * 500s in a row after which the session needs a person. Baileys reports any unclassified stream error as 500, so
 * only consecutive ones count (any other close, or an open, starts over), and even then the sealed session is kept:
 * a network that drops four times and then errs once must not cost a re-scan on site.
 */
export const BAD_SESSION_LIMIT = 5
/**
 * 515 "restart required" closes in a row without an open in between, after which the next one waits like any other
 * reconnect (backoff) and a warning goes out: linking ends with one 515, a server that keeps asking is a loop.
 */
export const RESTART_LIMIT = 3
/** Undecryptable messages within UNDECRYPTABLE_WINDOW_MS that raise a warning (a broken Signal session, or a ban wave). */
export const UNDECRYPTABLE_WARNING_COUNT = 10
export const UNDECRYPTABLE_WINDOW_MS = 10 * 60_000
/**
 * How long a pairing code may wait for the phone. A code WhatsApp refuses (an unknown browser name, a typo on the
 * phone, a code that expired) ends in silence — no close, no event — so a pairing with no link by then has failed.
 */
export const PAIRING_TIMEOUT_MS = 3 * 60_000
/** While WhatsApp restricts new chats, a held message looks again at least this often (the lock may be lifted early). */
const REACHOUT_RECHECK_MS = 60_000

/** The wait before reconnect attempt `n` (1-based): exponential, capped, with jitter in its upper half. */
export function reconnectDelay(attempt: number, random = Math.random, minimumMs = 0): number {
  const ceiling = Math.min(RECONNECT_CAP_MS, Math.max(minimumMs, RECONNECT_BASE_MS * 2 ** (attempt - 1)))
  return Math.round(ceiling * (0.5 + 0.5 * random()))
}

/** What a close means for the session (reference: baileys.md §8.3). */
export type CloseAction =
  | { kind: 'restart' }
  | { kind: 'reconnect'; minimumMs: number }
  | { kind: 'stop'; state: QrConnectionState; erase: boolean }

export function classifyClose(
  statusCode: number | undefined,
  message: string,
  /** Closes with 500 in a row, this one included (0 for any other code). */
  consecutive500s: number,
): CloseAction {
  switch (statusCode) {
    case 515:
      return { kind: 'restart' }
    case 401:
    case 403:
    case 419:
    case 411:
      return { kind: 'stop', state: 'logged_out', erase: true }
    case 440:
      return { kind: 'stop', state: 'replaced', erase: false }
    case 405:
      // WhatsApp no longer accepts the WhatsApp Web version the socket announced: retrying the same one never helps.
      return { kind: 'stop', state: 'outdated_version', erase: false }
    case 503:
      return { kind: 'reconnect', minimumMs: 30_000 }
    case 500:
      return consecutive500s >= BAD_SESSION_LIMIT
        ? { kind: 'stop', state: 'needs_attention', erase: false }
        : { kind: 'reconnect', minimumMs: 0 }
    case 408:
      if (message.includes('QR refs attempts ended')) return { kind: 'stop', state: 'qr_expired', erase: false }
      return { kind: 'reconnect', minimumMs: 0 }
    default:
      return { kind: 'reconnect', minimumMs: 0 }
  }
}

/**
 * The channel status a connection state means. A channel is `pending` from its creation until its first connection,
 * whatever happens while linking (an unscanned QR, a refused pairing): nothing was lost, nothing needs redoing.
 * Once linked it is `active` while the link holds (reconnects included: messages wait) and `needs_reauth` once the
 * link is gone (logged out, replaced, or WhatsApp asking for a new scan) until a new link connects.
 */
export function channelStatusFor(
  state: QrConnectionState,
  channel: Pick<ChannelsTable, 'status' | 'linked_at'>,
): ChannelStatus {
  if (state === 'connected') return 'active'
  if (channel.status === 'pending' || channel.status === 'disconnected') return channel.status
  // Stopped after repeated stream errors or a refused version, with the link kept: messages wait for a person.
  if (state === 'connecting' || state === 'reconnecting' || state === 'needs_attention' || state === 'outdated_version')
    return channel.linked_at ? 'active' : channel.status
  return 'needs_reauth'
}

export type SessionUpdate =
  | { type: 'qr'; qr: string }
  | { type: 'state'; state: QrConnectionState; lastError: string | null }

export type SessionOptions = {
  socketFactory: SocketFactory
  /** Which WhatsApp Web version each new socket announces (one source for the process). */
  versions: WaVersions
  writer: IntakeWriter
  onConnected: () => void
  /** QR codes and state changes, for whoever follows the channel (sessions.ts keeps the followers). */
  publish: (channelId: string, u: SessionUpdate) => void
  random?: () => number
}

export class QrSession {
  state: QrConnectionState = 'connecting'
  qr: { value: string; at: number } | null = null
  private socket: QrSocket | null = null
  private store: QrAuthStore | null = null
  private failures = 0
  /** Closes with 500 in a row (classifyClose): reset by any other close and by an open. */
  private consecutive500s = 0
  /** 515 restarts since the last open (RESTART_LIMIT). */
  private restartsWithoutOpen = 0
  /** When undecryptable messages came, within the last UNDECRYPTABLE_WINDOW_MS. */
  private undecryptableAt: number[] = []
  /** Until when WhatsApp restricts this number from starting new chats (epoch ms); null when it does not. */
  private reachoutLockedUntilMs: number | null = null
  private timer: TimerHandle | null = null
  /** Ends a pairing-code attempt the phone never confirmed (PAIRING_TIMEOUT_MS). */
  private pairingTimer: TimerHandle | null = null
  /** The WhatsApp Web version the current socket announced (undefined: Baileys' bundled one). */
  private version: WaVersion | undefined = undefined
  /** What this number sent, for WhatsApp's retry requests (kept 14 days, across restarts). */
  readonly sent: SentMessages
  /** How often each message was asked for again, across this session's sockets (never per socket). */
  private readonly retryCounters: RetryCounters
  private stopped = false
  private lids = new Map<string, string>()
  /** Writes (state, creds, inbox) in the order their events came, so a quick close cannot overtake an open. */
  private chain: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly deps: ServiceDeps,
    readonly workspaceId: string,
    readonly channelId: string,
    private readonly opts: SessionOptions,
  ) {
    this.sent = new SentMessages(deps, workspaceId, channelId)
    this.retryCounters = new RetryCounters(() => deps.clock.now())
  }

  get connected(): boolean {
    return this.state === 'connected' && this.socket !== null
  }
  get typing(): boolean {
    return this.options.pacing.typing
  }
  get live(): QrSocket | null {
    return this.connected ? this.socket : null
  }
  /** Until when (epoch ms) WhatsApp restricts the number from starting new chats; null when it does not now. */
  get reachoutLockedUntil(): number | null {
    const until = this.reachoutLockedUntilMs
    return until !== null && until > this.deps.clock.now() ? until : null
  }
  /** When a message that starts a chat should look again while the restriction holds (ms epoch). */
  reachoutRecheckAt(until: number): number {
    return Math.min(until, this.deps.clock.now() + REACHOUT_RECHECK_MS)
  }

  /** Resolves once every event received so far has been handled (tests, and before answering an API call). */
  async idle(): Promise<void> {
    let seen: Promise<unknown>
    do {
      seen = this.chain
      await seen
    } while (seen !== this.chain)
  }

  async start(): Promise<void> {
    this.stopped = false
    this.lids = new Map((await qrRepo.lidMappings(this.deps.db, this.workspaceId)).map((m) => [m.lid, m.wa_id]))
    // Whatever the database says from before (a restart leaves `connected`), nothing is sent until the socket opens.
    const channel = await channelsRepo.find(this.deps.db, this.workspaceId, this.channelId)
    await this.setState(channel?.linked_at ? 'connecting' : 'linking', null)
    await this.connect()
  }

  /** Closes the socket without logging out: the session resumes at the next start. */
  async stop(): Promise<void> {
    this.stopped = true
    this.deps.clock.clearTimeout(this.timer)
    this.timer = null
    this.endPairing()
    const socket = this.socket
    this.socket = null
    socket?.end(undefined)
    await this.chain.catch(() => {})
  }

  /** Unlinks the device on WhatsApp's side (best effort: it may already be gone) and forgets the session. */
  async logout(): Promise<void> {
    const socket = this.socket
    this.stopped = true
    this.deps.clock.clearTimeout(this.timer)
    this.endPairing()
    this.socket = null
    await socket
      ?.logout('unlinked from wabox')
      .catch((err) =>
        this.deps.logger.info(
          { channelId: this.channelId, err: (err as Error).message },
          'logout on WhatsApp failed; erasing locally',
        ),
      )
    socket?.end(undefined)
    await this.chain.catch(() => {})
    await this.store?.clear()
    await this.sent.clear()
  }

  async requestPairingCode(phoneNumber: string): Promise<string> {
    if (!this.socket || this.state !== 'linking') throw new Error('not linking')
    const code = await this.socket.requestPairingCode(phoneNumber)
    this.endPairing()
    this.pairingTimer = this.deps.clock.setTimeout(() => {
      this.pairingTimer = null
      this.enqueue(() => this.pairingTimedOut())
    }, PAIRING_TIMEOUT_MS)
    return code
  }

  private endPairing(): void {
    this.deps.clock.clearTimeout(this.pairingTimer)
    this.pairingTimer = null
  }

  /** The phone never confirmed the code: say so where the person is looking, and keep the QR code going. */
  private async pairingTimedOut(): Promise<void> {
    if (this.stopped || this.state !== 'linking') return
    const reason = `The phone did not confirm the pairing code within ${PAIRING_TIMEOUT_MS / 60_000} minutes: request a new code, or scan the QR code`
    await this.setState('linking', reason)
    this.publish({ type: 'state', state: 'linking', lastError: reason })
    await this.warn('pairing_failed', reason)
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    const store = await openAuthStore(this.deps, this.workspaceId, this.channelId)
    // Stopped (or logged out) while the store opened: no socket may outlive the session.
    if (this.stopped) return
    this.store = store
    const version = await this.opts.versions.current()
    if (this.stopped) return
    this.version = version
    const socket = this.opts.socketFactory({
      auth: store.state,
      logger: this.deps.logger,
      websocketUrl: this.deps.config.qrWebsocketUrl,
      // Read at each stanza: a change of includeGroups applies to the running socket.
      ignoreGroups: () => !this.options.includeGroups,
      version,
      getMessage: (key) => this.sent.recall(key),
      retryCounters: this.retryCounters,
    })
    this.socket = socket
    const mine =
      <A extends unknown[]>(fn: (...args: A) => unknown) =>
      (...args: A) => {
        // Events of a socket we already replaced are stale.
        if (this.socket === socket) this.enqueue(() => fn(...args))
      }
    socket.ev.on(
      'creds.update',
      mine(() => this.store?.saveCreds()),
    )
    socket.ev.on(
      'connection.update',
      mine((u) => this.onConnectionUpdate(socket, u)),
    )
    socket.ev.on(
      'messages.upsert',
      mine((u) => this.ingest(mapUpsert(u.messages as never, this.inboundContext(socket)))),
    )
    socket.ev.on(
      'messages.update',
      mine((u) => this.ingest(mapUpdates(u as never, this.inboundContext(socket)))),
    )
    socket.ev.on(
      'lid-mapping.update',
      mine((u) => this.saveLidMappings(lidPairs(u))),
    )
    // History stays out of the inbox (the conversations start when wabox is linked); its LID mappings are kept, so
    // a person who writes from their LID later is the contact wabox already knows by phone number.
    socket.ev.on(
      'messaging-history.set',
      mine((u) => this.saveLidMappings(lidPairs(u.lidPnMappings ?? []))),
    )
  }

  private enqueue(work: () => unknown): void {
    this.chain = this.chain
      .then(work)
      .catch((err) => this.deps.logger.error({ err, channelId: this.channelId }, 'QR session event handling failed'))
  }

  private async onConnectionUpdate(
    socket: QrSocket,
    u: Parameters<import('./socket.ts').QrSocketEvents['connection.update']>[0],
  ): Promise<void> {
    if (u.reachoutTimeLock) await this.onReachoutTimeLock(u.reachoutTimeLock)
    if (u.qr) {
      this.qr = { value: u.qr, at: this.deps.clock.now() }
      await this.setState('linking', null)
      this.publish({ type: 'qr', qr: u.qr })
    }
    if (u.connection === 'open') {
      this.endPairing()
      this.failures = 0
      this.consecutive500s = 0
      this.restartsWithoutOpen = 0
      this.qr = null
      const number = socket.user?.id ? digitsOf(socket.user.id) : null
      await this.setState('connected', null, { display_phone_number: number, verified_name: socket.user?.name ?? null })
      this.opts.onConnected()
    }
    if (u.connection === 'close') {
      const error = u.lastDisconnect?.error
      const code = error?.output?.statusCode
      const reason = `${code ?? '?'}: ${error?.message ?? 'connection closed'}`
      if (this.socket === socket) this.socket = null
      if (this.stopped) return
      this.failures++
      this.consecutive500s = code === 500 ? this.consecutive500s + 1 : 0
      let action = classifyClose(code, error?.message ?? '', this.consecutive500s)
      if (action.kind === 'restart' && ++this.restartsWithoutOpen > RESTART_LIMIT) {
        // A server that keeps asking for a restart must not get a new socket every few milliseconds forever.
        if (this.restartsWithoutOpen === RESTART_LIMIT + 1)
          await this.warn(
            'restart_loop',
            `WhatsApp asked for ${RESTART_LIMIT + 1} restarts in a row without a connection`,
          )
        action = { kind: 'reconnect', minimumMs: 0 }
      }
      if (action.kind === 'restart') {
        // The end of linking (or a server-requested restart): same creds, new socket, no wait.
        this.endPairing()
        this.failures = 0
        await this.connect()
        return
      }
      if (action.kind === 'stop' && action.state === 'outdated_version') {
        const newer = await this.opts.versions.afterRefusal(this.version)
        if (newer && !this.stopped) {
          this.deps.logger.warn(
            { channelId: this.channelId, refused: formatWaVersion(this.version), next: formatWaVersion(newer) },
            'QR session: WhatsApp refused the WhatsApp Web version; trying the current one',
          )
          await this.connect()
          return
        }
      }
      if (action.kind === 'stop') {
        this.endPairing()
        this.stopped = true
        this.qr = null
        if (action.erase) {
          await this.store?.clear()
          await this.sent.clear()
        }
        await this.setState(action.state, reason)
        if (action.state === 'replaced')
          await this.warn('replaced', `Another WhatsApp Web session took over this number's link (${reason})`)
        if (action.state === 'needs_attention')
          await this.warn('needs_attention', `The session stopped after ${BAD_SESSION_LIMIT} stream errors in a row`)
        if (action.state === 'outdated_version')
          await this.warn(
            'outdated_version',
            `WhatsApp no longer accepts the WhatsApp Web version this server announces (${formatWaVersion(this.version)}): set qr-wa-version to latest or a current version, restart wabox, then reconnect`,
          )
        return
      }
      await this.setState('reconnecting', reason, {}, true)
      const delay = reconnectDelay(this.failures, this.opts.random, action.minimumMs)
      this.deps.logger.info(
        { channelId: this.channelId, code, attempt: this.failures, delayMs: delay },
        'QR session closed; reconnecting',
      )
      this.timer = this.deps.clock.setTimeout(() => {
        this.timer = null
        this.enqueue(() => this.connect())
      }, delay)
    }
  }

  /** Records a state change; status changes that a customer cares about are audited and emitted as events. */
  private async setState(
    state: QrConnectionState,
    lastError: string | null,
    more: Partial<ChannelsTable> = {},
    countReconnect = false,
  ): Promise<void> {
    const previous = this.state
    this.state = state
    const now = this.deps.clock.now()
    const at = iso(now)
    const channel = await channelsRepo.find(this.deps.db, this.workspaceId, this.channelId)
    if (!channel || channel.status === 'disconnected') return
    const status = channelStatusFor(state, channel)
    const patch: Partial<ChannelsTable> = {
      ...more,
      connection_state: state,
      status,
      last_error: lastError ?? (state === 'connected' ? null : channel.last_error),
      updated_at: at,
      ...(previous !== state ? { connection_since: at } : {}),
      ...(countReconnect ? { reconnect_count: channel.reconnect_count + 1 } : {}),
      ...(state === 'connected' && !channel.linked_at ? { linked_at: at } : {}),
      // A new link is a new device: its warm-up starts again.
      ...(state === 'logged_out' ? { linked_at: null } : {}),
    }
    await this.deps.db.transaction().execute(async (trx) => {
      await channelsRepo.update(trx, this.workspaceId, this.channelId, patch)
      if (status !== channel.status) {
        await emit(
          trx,
          this.workspaceId,
          'channel.status',
          { channelId: this.channelId, status, reason: lastError ?? state },
          at,
        )
      }
      // Every connection change, so a dashboard (and the admin UI's channel list) shows the phone's state live.
      if (previous !== state) {
        await emit(
          trx,
          this.workspaceId,
          'channel.connection',
          { channelId: this.channelId, state, lastError: patch.last_error ?? null, since: at },
          at,
        )
      }
      if (state === 'connected' && !channel.linked_at) {
        await audit.record(trx, systemCaller('qr session', now), {
          workspaceId: this.workspaceId,
          action: 'channel.linked',
          target: { type: 'channel', id: this.channelId },
          metadata: { phoneNumber: patch.display_phone_number },
        })
      }
      const audited = ['logged_out', 'replaced', 'needs_attention', 'outdated_version']
      if (audited.includes(state) && previous !== state) {
        await audit.record(trx, systemCaller('qr session', now), {
          workspaceId: this.workspaceId,
          action: `channel.${state}`,
          target: { type: 'channel', id: this.channelId },
          metadata: { reason: lastError },
        })
      }
    })
    if (previous !== state) this.publish({ type: 'state', state, lastError })
  }

  /**
   * Something a person should look at: counted (wabox_qr_session_warnings_total), announced as a channel.warning
   * event (webhooks and the admin UI), and logged.
   */
  private async warn(warning: QrWarning, detail: string, until: string | null = null): Promise<void> {
    this.deps.metrics.qrWarnings.inc({ warning })
    this.deps.logger.warn({ channelId: this.channelId, warning, until }, `QR session: ${detail}`)
    const at = iso(this.deps.clock.now())
    await emit(
      this.deps.db,
      this.workspaceId,
      'channel.warning',
      { channelId: this.channelId, warning, detail, until },
      at,
    )
  }

  /**
   * WhatsApp restricts the number from reaching out (starting chats) for a while — Baileys reports it after a 463,
   * and when it is lifted. Messages that would start a chat wait until then (qr.provider.ts); replies go on.
   */
  private async onReachoutTimeLock(
    lock: NonNullable<Parameters<QrSocketEvents['connection.update']>[0]['reachoutTimeLock']>,
  ) {
    const until = lock.isActive ? (lock.timeEnforcementEnds?.getTime() ?? this.deps.clock.now() + 60_000) : null
    const wasLocked = this.reachoutLockedUntil !== null
    this.reachoutLockedUntilMs = until
    if (until !== null && !wasLocked)
      await this.warn(
        'reachout_locked',
        'WhatsApp restricts this number from starting new chats for now; messages that would start one wait, replies go on',
        iso(until),
      )
    if (until === null && wasLocked) {
      this.deps.logger.info({ channelId: this.channelId }, 'QR session: WhatsApp lifted the restriction on new chats')
      this.opts.onConnected()
    }
  }

  private publish(u: SessionUpdate): void {
    this.opts.publish(this.channelId, u)
  }

  private inboundContext(socket: QrSocket): QrInboundContext {
    return {
      ownNumber: socket.user?.id ? digitsOf(socket.user.id) : null,
      ownLid: socket.user?.lid ? digitsOf(socket.user.lid) : null,
      ignoreGroups: !this.options.includeGroups,
      resolveLid: (lid) => this.lids.get(lid) ?? null,
    }
  }

  private options: QrSettings = qrSettingsOf(null)
  /** The channel's options while running (the manager refreshes them when they change). */
  configure(options: QrSettings): void {
    this.options = options
  }

  /** Into the same inbox as Cloud API webhooks: idempotent by WhatsApp's message key, processed by the same processor. */
  private async ingest(mapped: Mapped): Promise<void> {
    await this.saveLidMappings(mapped.lidMappings)
    if (mapped.skipped.length > 0)
      this.deps.logger.debug({ channelId: this.channelId, skipped: mapped.skipped.length }, 'QR messages ignored')
    await this.countUndecryptable(mapped.skipped.filter((s) => s.reason === UNDECRYPTABLE).length)
    if (mapped.events.length === 0) return
    // Decrypting these messages moved the session's creds on (pre-key ids, counters): they are stored before the
    // messages are, or a crash in between would bring back creds that no longer match what WhatsApp holds.
    await this.store?.saveCreds()
    const at = iso(this.deps.clock.now())
    await this.opts.writer.write(
      mapped.events.map(({ key, event }) => ({
        workspace_id: this.workspaceId,
        channel_id: this.channelId,
        idempotency_key: idempotencyKey(this.channelId, key),
        kind: event.kind,
        payload: JSON.stringify(event),
        received_at: at,
        next_attempt_at: at,
      })),
    )
  }

  /** Counted per channel; a burst (UNDECRYPTABLE_WARNING_COUNT within the window) warns once per window. */
  private async countUndecryptable(count: number): Promise<void> {
    if (count === 0) return
    this.deps.metrics.qrUndecryptable.inc({ channel_id: this.channelId }, count)
    const now = this.deps.clock.now()
    const recent = this.undecryptableAt.filter((at) => at > now - UNDECRYPTABLE_WINDOW_MS)
    const before = recent.length
    for (let i = 0; i < count; i++) recent.push(now)
    this.undecryptableAt = recent.slice(-UNDECRYPTABLE_WARNING_COUNT)
    if (before < UNDECRYPTABLE_WARNING_COUNT && recent.length >= UNDECRYPTABLE_WARNING_COUNT) {
      await this.warn(
        'undecryptable_messages',
        `${recent.length} messages could not be decrypted in the last ${UNDECRYPTABLE_WINDOW_MS / 60_000} minutes`,
      )
      // The next warning needs a new burst, not the tail of this one.
      this.undecryptableAt = []
    }
  }

  private async saveLidMappings(pairs: { lid: string; waId: string }[]): Promise<void> {
    const fresh = pairs.filter((p) => this.lids.get(p.lid) !== p.waId)
    if (fresh.length === 0) return
    await qrRepo.saveLidMappings(this.deps.db, this.workspaceId, fresh, iso(this.deps.clock.now()))
    for (const p of fresh) this.lids.set(p.lid, p.waId)
  }
}

/** `4915112345678:12@s.whatsapp.net` → `4915112345678`. */
export const digitsOf = (jid: string) => jid.split('@')[0]!.split(':')[0]!

/** lid-mapping.update carries `{ lid, pn }` pairs (one or several). */
function lidPairs(u: unknown): { lid: string; waId: string }[] {
  const items = Array.isArray(u) ? u : [u]
  return items.flatMap((i) => {
    const { lid, pn } = (i ?? {}) as { lid?: unknown; pn?: unknown }
    return typeof lid === 'string' && typeof pn === 'string' ? [{ lid: digitsOf(lid), waId: digitsOf(pn) }] : []
  })
}
