/**
 * The outbox sender: claims due messages, paces each channel at its send rate (never more than `rate` sends
 * in any one-second window, spread over the second), sends through the channel's provider and records the
 * outcome.
 *
 * Failures follow reference §3.10: retryable ones (throughput 130429, 5xx, timeouts) back off with jitter;
 * a pair-rate refusal (131056) delays only that recipient, by 4^n seconds; permanent ones fail the message
 * at once with Meta's code and a readable reason; an authentication failure also marks the channel
 * needs_reauth. A claimed row that a crash interrupts is not re-sent blindly: the request carried our
 * message id as biz_opaque_callback_data, so Meta's status webhook links it; only if none arrives within
 * --send-recovery-grace seconds is it sent again.
 */
import type { Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { DueWorker } from '../lib/due-work.ts'
import { recordGraphOutcome, sendTargetOf } from '../channels/channels.service.ts'
import { ProviderError } from '../channels/provider.ts'
import { emit } from '../events/emit.ts'
import { DAY_MS, QrPacer, type SendPacer } from '../channels/qr/pacing.ts'
import { qrSettingsOf } from '../channels/qr/settings.ts'
import * as qrRepo from '../channels/qr/qr.repo.ts'
import * as messagesRepo from './messages.repo.ts'
import * as outboxRepo from './outbox.repo.ts'

export const MAX_SEND_ATTEMPTS = 6
// Sends in flight at once over all channels (each channel's own is bounded by its pace): enough to keep many
// channels at their pace over a slow network, few enough that requests do not queue up inside the HTTP client.
const MAX_IN_FLIGHT = 192
const CHANNELS_TTL_MS = 250
const SUCCESS_FLUSH_MS = 20

/** Exact sliding window: at most `limit` events in any `windowMs`. */
export class SlidingWindow {
  private readonly times: number[] = []
  constructor(
    public limit: number,
    private readonly windowMs = 1000,
  ) {}
  /** Whether a slot is free at `now` (without taking it). */
  peek(now: number): { ok: true } | { ok: false; waitMs: number } {
    while (this.times.length > 0 && this.times[0]! <= now - this.windowMs) this.times.shift()
    return this.times.length < this.limit ? { ok: true } : { ok: false, waitMs: this.times[0]! + this.windowMs - now }
  }
  /** Takes a slot at `now`, or returns how many ms until one frees up. */
  take(now: number): { ok: true } | { ok: false; waitMs: number } {
    const free = this.peek(now)
    if (free.ok) this.times.push(now)
    return free
  }
}

/**
 * A channel's pace. Meta counts a send when it arrives, somewhere between the moment we start it and the moment
 * its answer comes back; so a send holds its slot in the one-second window from its start until one second
 * after its answer. Then no one-second window at Meta can hold more than `rate` of them, whatever the network
 * does — at the cost of the response time per slot (a 10 ms answer leaves 99% of the rate usable).
 * Starts are also spread: at most a twentieth of the rate in any 50 ms, so sends leave steadily rather than
 * in a burst that would queue up (and arrive bunched).
 */
export class Pacer implements SendPacer {
  private readonly finished: number[] = []
  private inFlight = 0
  private readonly spread = new SlidingWindow(1, 50)
  private rate = 1
  constructor(rate: number) {
    this.setRate(rate)
  }
  setRate(rate: number): void {
    this.rate = rate
    this.spread.limit = Math.max(1, Math.ceil(rate / 20))
  }
  /** Whether a send could start at `now`, without taking the slot; waitMs is Infinity while only an answer can free one. */
  peek(now: number): { ok: true } | { ok: false; waitMs: number } {
    while (this.finished.length > 0 && this.finished[0]! <= now - 1000) this.finished.shift()
    if (this.inFlight + this.finished.length >= this.rate) {
      return { ok: false, waitMs: this.finished.length > 0 ? this.finished[0]! + 1000 - now : Number.POSITIVE_INFINITY }
    }
    return this.spread.peek(now)
  }
  take(now: number): { ok: true } | { ok: false; waitMs: number } {
    const free = this.peek(now)
    if (!free.ok) return free
    this.spread.take(now)
    this.inFlight++
    return free
  }
  /** A slot was taken for a send that never started. */
  cancel(): void {
    this.inFlight = Math.max(0, this.inFlight - 1)
  }
  /** The answer to a started send came back (or it ended without one) at `now`. */
  done(now: number): void {
    this.inFlight = Math.max(0, this.inFlight - 1)
    this.finished.push(now)
  }
}

const jitter = (ms: number) => Math.round(ms * (0.8 + Math.random() * 0.4))
const retryDelayMs = (attempts: number) => jitter(Math.min(300_000, 1000 * 2 ** (attempts - 1)))
const pairRateDelayMs = (attempts: number) => 1000 * 4 ** Math.max(0, attempts - 1)

type Row = Awaited<ReturnType<typeof outboxRepo.dueFor>>[number]
type DueChannel = {
  workspaceId: string
  channelId: string
  rate: number
  provider: 'cloud' | 'qr'
  qrSettings: string | null
  linkedAt: string | null
  connectionState: string | null
}

export class OutboxSender {
  private readonly pacers = new Map<string, SendPacer>()
  /** channel|recipient → not before (ms): a pair-rate refusal holds back later messages to that person too. */
  private readonly pairBlocked = new Map<string, number>()
  /** Sends on their way, by outbox row id; and the recipients they go to (one message per person at a time). */
  private readonly inFlight = new Map<number, Promise<void>>()
  private readonly busyRecipients = new Set<string>()
  /** Claimed rows whose send never left this process (see fail): their pacing slot is given back. */
  private readonly notSent = new Set<number>()
  private readonly succeeded: { row: Row; wamid: string }[] = []
  private flushing: Promise<void> | null = null
  private lastSweep = 0
  /** Channels with due messages and their rates, re-read at most every CHANNELS_TTL_MS (steps are frequent). */
  private dueCache: { at: number; channels: DueChannel[] } | null = null
  private readonly worker: DueWorker
  private wakeTimer: ReturnType<typeof setTimeout> | null = null
  private wakeAt = 0

  constructor(private readonly deps: ServiceDeps) {
    this.worker = new DueWorker('sender', () => this.step(), {
      logger: deps.logger,
      clock: deps.clock,
      health: { record: deps.writeHealth, source: 'sender' },
    })
  }

  private stopped = false

  wake(): void {
    if (!this.stopped) this.worker.wake()
  }
  /** Until nothing can start now and every send in flight has finished and been recorded (tests, shutdown). */
  async drain(): Promise<void> {
    for (;;) {
      await this.worker.drain()
      if (this.inFlight.size === 0 && this.succeeded.length === 0) return
      await Promise.all(this.inFlight.values())
      await this.flushSucceeded()
    }
  }
  start(intervalMs = 1_000): void {
    this.worker.start(intervalMs)
  }
  async stop(): Promise<void> {
    // No new passes or timers from here on: only what is in flight finishes.
    this.stopped = true
    if (this.wakeTimer) clearTimeout(this.wakeTimer)
    await this.worker.stop()
    await Promise.all(this.inFlight.values())
    await this.flushSucceeded()
  }

  /** Rows a crash (or a lost in-process send) left in `sending` wait the recovery grace for Meta's status. */
  async recoverInterrupted(olderThanMs = 0): Promise<number> {
    const now = this.deps.clock.now()
    let n = 0
    for (const r of await outboxRepo.interrupted(this.deps.db)) {
      if (this.inFlight.has(r.id) || (r.claimed_at && now - Date.parse(r.claimed_at) < olderThanMs)) continue
      // WhatsApp already reported on it (a QR send's id is fixed at queue time, so its receipts find it): it went
      // out before the crash, and sending it again would be a duplicate.
      if (r.wamid && !['queued', 'sending', 'failed'].includes(r.message_status ?? 'queued')) {
        this.succeeded.push({ row: r, wamid: r.wamid })
        await this.flushSucceeded()
        this.deps.metrics.sendRecoveries.inc({ outcome: 'already_sent' })
        n++
        continue
      }
      const requeued = await outboxRepo.finishClaimed(this.deps.db, r.workspace_id, r.id, {
        state: 'queued',
        attempts: r.attempts,
        nextAttemptAt: iso(now + this.deps.config.sendRecoveryGrace * 1000),
        error: 'interrupted while sending; waiting for a status update before retrying',
        at: iso(now),
      })
      if (requeued) {
        this.deps.metrics.sendRecoveries.inc({ outcome: 'requeued' })
        n++
      }
    }
    return n
  }

  /**
   * The channel's pacer, kept across passes: a Cloud number paced at its rate; a QR-linked number by its
   * pacing settings (one at a time, human delays, caps, warm-up), starting from its sends of the last day.
   */
  private async pacerFor(c: DueChannel): Promise<SendPacer> {
    const existing = this.pacers.get(c.channelId)
    if (c.provider !== 'qr') {
      const pacer = existing instanceof Pacer ? existing : new Pacer(c.rate)
      pacer.setRate(c.rate)
      this.pacers.set(c.channelId, pacer)
      return pacer
    }
    const settings = qrSettingsOf(c.qrSettings).pacing
    const linkedAt = c.linkedAt ? Date.parse(c.linkedAt) : null
    if (existing instanceof QrPacer) {
      existing.setSettings(settings, linkedAt)
      return existing
    }
    const since = iso(this.deps.clock.now() - DAY_MS)
    const history = (await qrRepo.sendStartsSince(this.deps.db, c.workspaceId, c.channelId, since)).map((r) =>
      Date.parse(r.updated_at),
    )
    const pacer = new QrPacer(settings, linkedAt, history)
    this.pacers.set(c.channelId, pacer)
    return pacer
  }

  /**
   * Starts what pacing allows now, per channel, without waiting for the answers (a slow number must not hold
   * up the others); returns how many sends it started (0 = wait for time to pass).
   */
  private async step(): Promise<number> {
    const now = this.deps.clock.now()
    if (now - this.lastSweep > 60_000) {
      this.lastSweep = now
      await this.recoverInterrupted(5 * 60_000)
    }
    // Full: the next finishing send wakes a pass.
    if (this.inFlight.size >= MAX_IN_FLIGHT) return 0
    const channels = await this.dueChannels(now)
    if (channels.length === 0) {
      this.scheduleNext()
      return 0
    }
    let soonestMs = Number.POSITIVE_INFINITY
    // Rows this pass will start, claimed together below: one transaction (one fsync) per pass, not per send.
    const picked: Row[] = []
    const pickedRecipients = new Set<string>()
    // Slots taken for rows that never start (a query failed mid-pass) go back, or the channel would stall.
    const giveBack = (rows: Row[]) => {
      for (const row of rows) this.pacers.get(row.channel_id)?.cancel()
    }
    try {
      for (const c of channels) {
        const { workspaceId: ws, channelId, rate } = c
        // A QR-linked device that is not connected: its messages wait (the session wakes the sender when it is back).
        if (c.provider === 'qr' && c.connectionState !== 'connected') continue
        const pacer = await this.pacerFor(c)
        const ready = pacer.peek(now)
        if (!ready.ok) {
          soonestMs = Math.min(soonestMs, ready.waitMs)
          continue
        }
        for (const row of await outboxRepo.dueFor(
          this.deps.db,
          ws,
          channelId,
          iso(now),
          Math.max(4, Math.ceil(rate / 4)),
        )) {
          if (this.inFlight.size + picked.length >= MAX_IN_FLIGHT) break
          const who = `${channelId}|${row.recipient}`
          const blockedUntil = this.pairBlocked.get(who) ?? 0
          if (blockedUntil > now) {
            // Out of the way until then, so these rows stop filling every pass.
            await outboxRepo.deferRecipient(this.deps.db, ws, channelId, row.recipient, iso(blockedUntil))
            soonestMs = Math.min(soonestMs, blockedUntil - now)
            continue
          }
          if (blockedUntil) this.pairBlocked.delete(who)
          if (this.busyRecipients.has(who) || pickedRecipients.has(who)) continue
          const slot = pacer.take(now)
          if (!slot.ok) {
            soonestMs = Math.min(soonestMs, slot.waitMs)
            break
          }
          picked.push(row)
          pickedRecipients.add(who)
        }
      }
    } catch (err) {
      giveBack(picked)
      throw err
    }
    if (picked.length === 0) {
      this.scheduleIn(soonestMs)
      return 0
    }
    let claimed: Set<number>
    try {
      claimed = await this.claimAll(picked, iso(now))
    } catch (err) {
      giveBack(picked)
      throw err
    }
    for (const row of picked) {
      if (claimed.has(row.id)) this.track(row)
      else giveBack([row])
    }
    return picked.length
  }

  private async claimAll(rows: Row[], at: string): Promise<Set<number>> {
    const byWorkspace = new Map<string, number[]>()
    for (const r of rows) byWorkspace.set(r.workspace_id, [...(byWorkspace.get(r.workspace_id) ?? []), r.id])
    return this.deps.db.transaction().execute(async (trx) => {
      const claimed = new Set<number>()
      for (const [ws, ids] of byWorkspace) for (const id of await outboxRepo.claim(trx, ws, ids, at)) claimed.add(id)
      return claimed
    })
  }

  private async dueChannels(now: number) {
    if (this.dueCache && now >= this.dueCache.at && now - this.dueCache.at < CHANNELS_TTL_MS)
      return this.dueCache.channels
    const channels = (await outboxRepo.dueChannels(this.deps.db, iso(now))).map(
      (c): DueChannel => ({
        workspaceId: c.workspace_id,
        channelId: c.channel_id,
        rate: c.send_rate,
        provider: c.provider,
        qrSettings: c.qr_settings,
        linkedAt: c.linked_at,
        connectionState: c.connection_state,
      }),
    )
    this.dueCache = { at: now, channels }
    return channels
  }

  /** New messages were queued: the next pass re-reads which channels have work. */
  wakeForNewWork(): void {
    this.dueCache = null
    this.wake()
  }

  private track(row: Row): void {
    const who = `${row.channel_id}|${row.recipient}`
    this.busyRecipients.add(who)
    const done = this.send(row)
      .catch((err) =>
        this.deps.logger.error(
          { err, messageId: row.message_id },
          'send bookkeeping failed; the row is recovered later',
        ),
      )
      .finally(() => {
        const now = this.deps.clock.now()
        this.inFlight.delete(row.id)
        this.busyRecipients.delete(who)
        const pacer = this.pacers.get(row.channel_id)
        // A send that never left (the device was offline) gives its slot back rather than counting against the caps.
        if (this.notSent.delete(row.id)) pacer?.cancel()
        else pacer?.done(now)
        // The next pass comes when this channel's pace allows another send (at once if it already does: the
        // recipient this send held may have more waiting).
        const next = pacer?.peek(now)
        this.scheduleIn(!next || next.ok ? 0 : next.waitMs)
      })
    this.inFlight.set(row.id, done)
  }

  /** Sets the next pass `ms` from now, unless one is already set sooner. */
  private scheduleIn(ms: number): void {
    if (!Number.isFinite(ms) || this.stopped) return
    const at = Date.now() + Math.max(0, ms)
    if (this.wakeTimer && this.wakeAt <= at) return
    if (this.wakeTimer) clearTimeout(this.wakeTimer)
    this.wakeAt = at
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = null
        this.wake()
      },
      Math.max(0, Math.ceil(ms)),
    )
  }

  private scheduleNext(): void {
    void outboxRepo
      .nextDueAt(this.deps.db)
      .then((next) => {
        if (next) this.scheduleIn(Date.parse(next.next_attempt_at) - this.deps.clock.now())
      })
      // The periodic pass (start()) covers a missed wake-up; an error here must not end the process.
      .catch((err) => this.deps.logger.error({ err }, 'could not find the next due message'))
  }

  /** Sends one claimed row and records the outcome (successes are recorded in groups). */
  private async send(row: Row): Promise<void> {
    const { deps } = this
    const via = await sendTargetOf(deps, row.workspace_id, row.channel_id, row.recipient)
    if ('unavailable' in via) return this.fail(row, new ProviderError({ code: -1, reason: via.unavailable }), false)
    let wamid: string
    try {
      wamid = (await via.provider.send(via.target, JSON.parse(row.request))).providerMessageId
    } catch (err) {
      const e =
        err instanceof ProviderError
          ? err
          : new ProviderError({ code: -1, reason: (err as Error).message, retryable: true })
      // A timeout or a broken connection may have reached Meta: treat it like a crash mid-send.
      return this.fail(row, e, e.code === -1)
    }
    this.succeeded.push({ row, wamid })
    deps.metrics.sends.inc({ outcome: 'sent' })
    // Recorded in groups a few ms apart: one fsync for many sends rather than one each.
    this.flushing ??= Bun.sleep(SUCCESS_FLUSH_MS).then(() => this.flushSucceeded())
    if (via.authFailures > 0) await recordGraphOutcome(deps, row.workspace_id, row.channel_id, null)
  }

  /** Records every success so far in one transaction (one fsync); one by one if that fails. */
  private async flushSucceeded(): Promise<void> {
    this.flushing = null
    const batch = this.succeeded.splice(0)
    if (batch.length === 0) return
    const at = iso(this.deps.clock.now())
    const record = async (trx: Transaction<Database>, s: { row: Row; wamid: string }) => {
      // Guarded: a status webhook that linked this send first has already recorded it (and its event).
      if (
        !(await outboxRepo.finishClaimed(trx, s.row.workspace_id, s.row.id, {
          state: 'sent',
          attempts: s.row.attempts + 1,
          error: null,
          at,
        }))
      )
        return
      await messagesRepo.markMessageSent(trx, s.row.workspace_id, s.row.message_id, s.wamid, at)
      await emit(
        trx,
        s.row.workspace_id,
        'message.sent',
        {
          messageId: s.row.message_id,
          conversationId: s.row.conversation_id,
          channelId: s.row.channel_id,
          wamid: s.wamid,
          at,
        },
        at,
      )
    }
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        for (const s of batch) await record(trx, s)
      })
      this.deps.writeHealth.succeeded('sender')
    } catch {
      for (const s of batch) {
        await this.deps.db
          .transaction()
          .execute((trx) => record(trx, s))
          .then(() => this.deps.writeHealth.succeeded('sender'))
          .catch((err) => {
            // Outside the worker's pass: tell readiness here (a full disk keeps /readyz 503 until a commit).
            this.deps.writeHealth.failed('sender', err)
            this.deps.logger.error(
              { err, messageId: s.row.message_id },
              'could not record a sent message; recovered later',
            )
          })
      }
    }
  }

  private async fail(row: Row, e: ProviderError, outcomeUnknown: boolean): Promise<void> {
    const { deps } = this
    const now = deps.clock.now()
    // Nothing left this process (a QR device offline): no attempt is spent — the message waits.
    if (e.notSent) {
      this.notSent.add(row.id)
      await outboxRepo.finishClaimed(deps.db, row.workspace_id, row.id, {
        state: 'queued',
        attempts: row.attempts,
        nextAttemptAt: iso(now + 5_000),
        error: `${e.code}: ${e.reason}`,
        at: iso(now),
      })
      deps.metrics.sends.inc({ outcome: 'deferred' })
      this.scheduleIn(5_000)
      return
    }
    const attempts = row.attempts + 1
    const retry = (e.retryable || e.pairRate) && attempts < MAX_SEND_ATTEMPTS
    if (retry) {
      // When the request may have reached Meta, wait for its status webhook before sending again.
      const delay = outcomeUnknown
        ? Math.max(retryDelayMs(attempts), deps.config.sendRecoveryGrace * 1000)
        : e.pairRate
          ? pairRateDelayMs(attempts)
          : retryDelayMs(attempts)
      const next = iso(now + delay)
      // Guarded: if a status webhook linked this send meanwhile, it is done and stays done.
      if (
        !(await outboxRepo.finishClaimed(deps.db, row.workspace_id, row.id, {
          state: 'queued',
          attempts,
          nextAttemptAt: next,
          error: `${e.code}: ${e.reason}`,
          at: iso(now),
        }))
      )
        return
      if (e.pairRate) {
        this.pairBlocked.set(`${row.channel_id}|${row.recipient}`, Date.parse(next))
        await outboxRepo.deferRecipient(deps.db, row.workspace_id, row.channel_id, row.recipient, next)
      }
      deps.metrics.sends.inc({ outcome: 'retry' })
      deps.logger.info({ messageId: row.message_id, code: e.code, attempts, next }, 'send will be retried')
      this.scheduleIn(delay)
      return
    }
    const failed = await deps.db.transaction().execute(async (trx) => {
      if (
        !(await outboxRepo.finishClaimed(trx, row.workspace_id, row.id, {
          state: 'failed',
          attempts,
          error: `${e.code}: ${e.reason}`,
          at: iso(now),
        }))
      )
        return false
      await messagesRepo.updateMessage(trx, row.workspace_id, row.message_id, {
        status: 'failed',
        status_at: iso(now),
        error_code: e.code,
        error_title: e.reason,
        error_details: e.details,
      })
      await emit(
        trx,
        row.workspace_id,
        'message.failed',
        {
          messageId: row.message_id,
          conversationId: row.conversation_id,
          channelId: row.channel_id,
          wamid: null,
          error: { code: e.code, title: e.reason },
          at: iso(now),
        },
        iso(now),
      )
      return true
    })
    if (!failed) return
    deps.metrics.sends.inc({ outcome: 'failed' })
    deps.logger.warn({ messageId: row.message_id, code: e.code, attempts }, 'send failed')
    if (e.authFailure) await recordGraphOutcome(deps, row.workspace_id, row.channel_id, e, { immediate: true })
  }
}
