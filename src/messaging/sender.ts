/**
 * The outbox sender: claims due messages, paces each channel with its provider's pacer (a Cloud number at its
 * send rate, a QR-linked number like a person), sends through the channel's provider and records the outcome.
 * A pass goes: the channels with due messages → what each may start now → claim those rows together → start
 * them (their answers are recorded as they come). Its timers are the DueWorker's, on the deps' clock.
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
import { DueWorker } from '../lib/due-work.ts'
import { iso, sleep } from '../clock.ts'
import { recordCredentialOutcome } from '../channels/channel-health.ts'
import { ProviderError, providerOf, type DueChannel, type SendPacer } from '../channels/provider.ts'
import { sendTargetOf } from '../channels/send-targets.ts'
import { emit } from '../events/emit.ts'
import * as contactsRepo from './contacts.repo.ts'
import * as conversationsRepo from './conversations.repo.ts'
import * as messagesRepo from './messages.repo.ts'
import * as outboxRepo from './outbox.repo.ts'

export const MAX_SEND_ATTEMPTS = 6
// Sends in flight at once over all channels (each channel's own is bounded by its pace): enough to keep many
// channels at their pace over a slow network, few enough that requests do not queue up inside the HTTP client.
const MAX_IN_FLIGHT = 192
const CHANNELS_TTL_MS = 250
const SUCCESS_FLUSH_MS = 20

const jitter = (ms: number) => Math.round(ms * (0.8 + Math.random() * 0.4))
const retryDelayMs = (attempts: number) => jitter(Math.min(300_000, 1000 * 2 ** (attempts - 1)))
const pairRateDelayMs = (attempts: number) => 1000 * 4 ** Math.max(0, attempts - 1)

type Row = Awaited<ReturnType<typeof outboxRepo.dueFor>>[number]

/** One pass's picks: the rows to claim, and the soonest a channel or recipient that had to wait frees up. */
type Picks = { rows: Row[]; recipients: Set<string>; soonestMs: number }

const recipientKey = (channelId: string, recipient: string) => `${channelId}|${recipient}`

export class OutboxSender {
  private readonly pacers = new Map<string, SendPacer>()
  /** channel|recipient → not before (ms): a pair-rate refusal holds back later messages to that person too. */
  private readonly pairBlocked = new Map<string, number>()
  /** Sends on their way, by outbox row id; and the recipients they go to (one message per person at a time). */
  private readonly inFlight = new Map<number, Promise<void>>()
  private readonly busyRecipients = new Set<string>()
  /** Claimed rows whose send never left this process (see fail): their pacing slot is given back. */
  private readonly notSent = new Set<number>()
  /** Sends accepted and not yet recorded; `recipient` is the number as WhatsApp gave it back (null: unchanged). */
  private readonly succeeded: { row: Row; wamid: string; recipient?: string | null }[] = []
  private flushing: Promise<void> | null = null
  private lastSweep = 0
  /** Channels with due messages and their rates, re-read at most every CHANNELS_TTL_MS (steps are frequent). */
  private dueCache: { at: number; channels: DueChannel[] } | null = null
  private readonly worker: DueWorker

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

  /** The channel's pacer from its provider, kept across passes (the provider updates it to the channel's settings). */
  private async pacerFor(c: DueChannel): Promise<SendPacer> {
    const pacer = await providerOf(this.deps, c.provider).pacer(this.deps, c, this.pacers.get(c.id))
    this.pacers.set(c.id, pacer)
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
      this.wakeWhenNextDue()
      return 0
    }
    const picks = await this.pick(channels, now)
    if (picks.rows.length === 0) {
      this.worker.wakeIn(picks.soonestMs)
      return 0
    }
    await this.claimAndStart(picks.rows, now)
    return picks.rows.length
  }

  /** What each due channel may start now: rows its pacer has slots for, one per recipient, none held back. */
  private async pick(channels: DueChannel[], now: number): Promise<Picks> {
    const picks: Picks = { rows: [], recipients: new Set(), soonestMs: Number.POSITIVE_INFINITY }
    try {
      for (const c of channels) {
        if (!providerOf(this.deps, c.provider).readyToSend(c)) continue
        await this.pickFor(c, now, picks)
      }
    } catch (err) {
      // Slots taken for rows that never start (a query failed mid-pass) go back, or the channel would stall.
      this.giveBack(picks.rows)
      throw err
    }
    return picks
  }

  private async pickFor(c: DueChannel, now: number, picks: Picks): Promise<void> {
    const pacer = await this.pacerFor(c)
    const ready = pacer.peek(now)
    if (!ready.ok) {
      picks.soonestMs = Math.min(picks.soonestMs, ready.waitMs)
      return
    }
    const limit = Math.max(4, Math.ceil(c.send_rate / 4))
    for (const row of await outboxRepo.dueFor(this.deps.db, c.workspace_id, c.id, iso(now), limit)) {
      if (this.inFlight.size + picks.rows.length >= MAX_IN_FLIGHT) break
      const who = recipientKey(c.id, row.recipient)
      const blockedUntil = this.pairBlocked.get(who) ?? 0
      if (blockedUntil > now) {
        // Out of the way until then, so these rows stop filling every pass.
        await outboxRepo.deferRecipient(this.deps.db, c.workspace_id, c.id, row.recipient, iso(blockedUntil))
        picks.soonestMs = Math.min(picks.soonestMs, blockedUntil - now)
        continue
      }
      if (blockedUntil) this.pairBlocked.delete(who)
      if (this.busyRecipients.has(who) || picks.recipients.has(who)) continue
      const slot = pacer.take(now)
      if (!slot.ok) {
        picks.soonestMs = Math.min(picks.soonestMs, slot.waitMs)
        return
      }
      picks.rows.push(row)
      picks.recipients.add(who)
    }
  }

  /** Claims the picked rows in one transaction (one fsync per pass, not per send), then starts those it got. */
  private async claimAndStart(rows: Row[], now: number): Promise<void> {
    let claimed: Set<number>
    try {
      claimed = await this.claimAll(rows, iso(now))
    } catch (err) {
      this.giveBack(rows)
      throw err
    }
    for (const row of rows) {
      if (claimed.has(row.id)) this.track(row)
      else this.giveBack([row])
    }
  }

  private giveBack(rows: Row[]): void {
    for (const row of rows) this.pacers.get(row.channel_id)?.cancel()
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

  private async dueChannels(now: number): Promise<DueChannel[]> {
    if (this.dueCache && now >= this.dueCache.at && now - this.dueCache.at < CHANNELS_TTL_MS)
      return this.dueCache.channels
    const channels = await outboxRepo.dueChannels(this.deps.db, iso(now))
    this.dueCache = { at: now, channels }
    return channels
  }

  /** New messages were queued: the next pass re-reads which channels have work. */
  wakeForNewWork(): void {
    this.dueCache = null
    this.wake()
  }

  private track(row: Row): void {
    const who = recipientKey(row.channel_id, row.recipient)
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
        this.worker.wakeIn(!next || next.ok ? 0 : next.waitMs)
      })
    this.inFlight.set(row.id, done)
  }

  /** Nothing is due now: a pass when the earliest queued message comes due. */
  private wakeWhenNextDue(): void {
    void outboxRepo
      .nextDueAt(this.deps.db)
      .then((next) => {
        if (next) this.worker.wakeIn(Date.parse(next.next_attempt_at) - this.deps.clock.now())
      })
      // The periodic pass (start()) covers a missed wake-up; an error here must not end the process.
      .catch((err) => this.deps.logger.error({ err }, 'could not find the next due message'))
  }

  /** Sends one claimed row and records the outcome (successes are recorded in groups). */
  private async send(row: Row): Promise<void> {
    const { deps } = this
    const via = await sendTargetOf(deps, row.workspace_id, row.channel_id, row.recipient)
    if ('unavailable' in via) return this.fail(row, new ProviderError({ code: -1, reason: via.unavailable }), false)
    let sent: { providerMessageId: string; recipient: string | null }
    try {
      sent = await via.provider.send(via.target, via.provider.parseRequest(row.request))
    } catch (err) {
      const e =
        err instanceof ProviderError
          ? err
          : new ProviderError({ code: -1, reason: (err as Error).message, retryable: true })
      // A timeout or a broken connection may have reached Meta: treat it like a crash mid-send.
      return this.fail(row, e, e.code === -1)
    }
    this.succeeded.push({ row, wamid: sent.providerMessageId, recipient: sent.recipient })
    deps.metrics.sends.inc({ outcome: 'sent' })
    // Recorded in groups a few ms apart: one fsync for many sends rather than one each.
    this.flushing ??= sleep(deps.clock, SUCCESS_FLUSH_MS).then(() => this.flushSucceeded())
    if (via.authFailures > 0) await recordCredentialOutcome(deps, row.workspace_id, row.channel_id, null)
  }

  /** Records every success so far in one transaction (one fsync); one by one if that fails. */
  private async flushSucceeded(): Promise<void> {
    this.flushing = null
    const batch = this.succeeded.splice(0)
    if (batch.length === 0) return
    const at = iso(this.deps.clock.now())
    const record = async (trx: Transaction<Database>, s: (typeof batch)[number]) => {
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
      if (s.recipient && /^\d+$/.test(s.recipient) && s.recipient !== s.row.recipient) {
        const conversation = await conversationsRepo.findConversation(trx, s.row.workspace_id, s.row.conversation_id)
        if (conversation) {
          const { workspace_id: ws } = s.row
          await contactsRepo.adoptWhatsAppNumber(trx, ws, conversation.contact_id, s.row.recipient, s.recipient, at)
        }
      }
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
      const wait = Math.max(5_000, (e.retryAt ?? 0) - now)
      await outboxRepo.finishClaimed(deps.db, row.workspace_id, row.id, {
        state: 'queued',
        attempts: row.attempts,
        nextAttemptAt: iso(now + wait),
        error: `${e.code}: ${e.reason}`,
        at: iso(now),
      })
      deps.metrics.sends.inc({ outcome: 'deferred' })
      this.worker.wakeIn(wait)
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
        this.pairBlocked.set(recipientKey(row.channel_id, row.recipient), Date.parse(next))
        await outboxRepo.deferRecipient(deps.db, row.workspace_id, row.channel_id, row.recipient, next)
      }
      deps.metrics.sends.inc({ outcome: 'retry' })
      deps.logger.info({ messageId: row.message_id, code: e.code, attempts, next }, 'send will be retried')
      this.worker.wakeIn(delay)
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
    if (e.authFailure) await recordCredentialOutcome(deps, row.workspace_id, row.channel_id, e, { immediate: true })
  }
}
