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
import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { Drainer } from '../jobs/drainer.ts'
import { accessTokenOf, recordGraphOutcome } from '../channels/channels.service.ts'
import * as channelsRepo from '../channels/channels.repo.ts'
import { cloudProvider } from '../channels/cloud/cloud.provider.ts'
import { ProviderError, type ChannelProvider } from '../channels/provider.ts'
import type { OutboxTable } from './messaging.table.ts'
import * as repo from './messaging.repo.ts'
import * as outboxRepo from './outbox.repo.ts'

export const MAX_SEND_ATTEMPTS = 6
const MAX_IN_FLIGHT = 64

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
 * A channel's pace: at most `rate` sends in any second (the exact sliding window Meta's limit is about),
 * and at most a quarter of them in any quarter-second, so sends leave in small groups rather than one burst
 * per second that would arrive bunched at Meta.
 */
export class Pacer {
  private readonly second = new SlidingWindow(1, 1000)
  private readonly quarter = new SlidingWindow(1, 250)
  constructor(rate: number) {
    this.setRate(rate)
  }
  setRate(rate: number): void {
    this.second.limit = rate
    this.quarter.limit = Math.max(1, Math.ceil(rate / 4))
  }
  take(now: number): { ok: true } | { ok: false; waitMs: number } {
    const q = this.quarter.peek(now)
    if (!q.ok) return q
    const s = this.second.take(now)
    if (!s.ok) return s
    return this.quarter.take(now)
  }
}

const jitter = (ms: number) => Math.round(ms * (0.8 + Math.random() * 0.4))
const retryDelayMs = (attempts: number) => jitter(Math.min(300_000, 1000 * 2 ** (attempts - 1)))
const pairRateDelayMs = (attempts: number) => 1000 * 4 ** Math.max(0, attempts - 1)

type Row = Awaited<ReturnType<typeof outboxRepo.dueFor>>[number]

export class OutboxSender {
  private readonly pacers = new Map<string, Pacer>()
  /** channel|recipient → not before (ms): a pair-rate refusal holds back later messages to that person too. */
  private readonly pairBlocked = new Map<string, number>()
  private readonly worker: Drainer
  private wakeTimer: ReturnType<typeof setTimeout> | null = null
  private readonly providers: Record<string, ChannelProvider>

  constructor(private readonly deps: ServiceDeps) {
    this.worker = new Drainer('sender', () => this.step(), deps.logger)
    this.providers = { cloud: cloudProvider(deps.graph) }
  }

  wake(): void {
    this.worker.wake()
  }
  drain(): Promise<void> {
    return this.worker.drain()
  }
  start(intervalMs = 1_000): void {
    this.worker.start(intervalMs)
  }
  async stop(): Promise<void> {
    if (this.wakeTimer) clearTimeout(this.wakeTimer)
    await this.worker.stop()
  }

  /** At start: rows a crash left mid-send wait the recovery grace for Meta's status webhook to claim them. */
  async recoverInterrupted(): Promise<number> {
    const rows = await outboxRepo.interrupted(this.deps.db)
    const now = this.deps.clock.now()
    for (const r of rows) {
      await outboxRepo.finish(this.deps.db, r.workspace_id, r.id, { state: 'queued', attempts: r.attempts, nextAttemptAt: iso(now + this.deps.config.sendRecoveryGrace * 1000), error: 'interrupted while sending; waiting for a status update before retrying', at: iso(now) })
    }
    return rows.length
  }

  private pacerFor(channelId: string, rate: number): Pacer {
    let p = this.pacers.get(channelId)
    if (!p) this.pacers.set(channelId, (p = new Pacer(rate)))
    p.setRate(rate)
    return p
  }

  /** Sends what pacing allows now; returns how many were sent (0 = wait for time to pass). */
  private async step(): Promise<number> {
    const now = this.deps.clock.now()
    const channels = await outboxRepo.dueChannels(this.deps.db, iso(now))
    if (channels.length === 0) {
      this.scheduleNext()
      return 0
    }
    const ready: Row[] = []
    let soonestMs = Number.POSITIVE_INFINITY
    for (const { workspace_id: ws, channel_id: channelId } of channels) {
      const rate = (await channelsRepo.find(this.deps.db, ws, channelId))?.send_rate ?? 80
      const pacer = this.pacerFor(channelId, rate)
      for (const row of await outboxRepo.dueFor(this.deps.db, ws, channelId, iso(now), Math.max(1, Math.ceil(rate / 4)))) {
        if (ready.length >= MAX_IN_FLIGHT) break
        const blockedUntil = this.pairBlocked.get(`${channelId}|${row.recipient}`) ?? 0
        if (blockedUntil > now) {
          soonestMs = Math.min(soonestMs, blockedUntil - now)
          continue
        }
        const slot = pacer.take(now)
        if (!slot.ok) {
          soonestMs = Math.min(soonestMs, slot.waitMs)
          break
        }
        if (await outboxRepo.claim(this.deps.db, ws, row.id, iso(now))) ready.push(row)
      }
    }
    const sent = (await Promise.all(ready.map((row) => this.send(row)))).filter((s): s is { row: Row; wamid: string } => s !== null)
    // One transaction (one fsync) records every success of this pass: the event loop stays free to send.
    if (sent.length > 0) await this.succeed(sent)
    if (ready.length === 0) this.scheduleIn(soonestMs)
    return ready.length
  }

  private scheduleIn(ms: number): void {
    if (!Number.isFinite(ms)) return
    if (this.wakeTimer) clearTimeout(this.wakeTimer)
    this.wakeTimer = setTimeout(() => this.wake(), Math.max(1, Math.ceil(ms)))
  }

  private scheduleNext(): void {
    void outboxRepo.nextDueAt(this.deps.db).then((next) => {
      if (next) this.scheduleIn(Date.parse(next.next_attempt_at) - this.deps.clock.now())
    })
  }

  /** Sends one claimed row; returns its wamid on success (recorded by the caller), null when it failed. */
  private async send(row: Row): Promise<{ row: Row; wamid: string } | null> {
    const { deps } = this
    const channel = await channelsRepo.find(deps.db, row.workspace_id, row.channel_id)
    const credentials = await accessTokenOf(deps, row.workspace_id, row.channel_id)
    const provider = channel ? this.providers[channel.provider] : undefined
    if (!channel || !credentials?.phoneNumberId || !provider || channel.status !== 'active') {
      await this.fail(row, new ProviderError(-1, channel?.status === 'needs_reauth' ? 'The channel needs new credentials' : 'The channel is disconnected', false, false, false))
      return null
    }
    try {
      const result = await provider.send({ workspaceId: row.workspace_id, channelId: row.channel_id, credentials: { token: credentials.token, phoneNumberId: credentials.phoneNumberId } }, JSON.parse(row.request))
      if (channel.auth_failures > 0) await recordGraphOutcome(deps, row.workspace_id, row.channel_id, null)
      return { row, wamid: result.providerMessageId }
    } catch (err) {
      const e = err instanceof ProviderError ? err : new ProviderError(-1, (err as Error).message, true, false, false)
      await this.fail(row, e)
      return null
    }
  }

  private async succeed(sent: { row: Row; wamid: string }[]): Promise<void> {
    const at = iso(this.deps.clock.now())
    await this.deps.db.transaction().execute(async (trx) => {
      for (const { row, wamid } of sent) {
        await outboxRepo.finish(trx, row.workspace_id, row.id, { state: 'sent', attempts: row.attempts + 1, error: null, at })
        await repo.markMessageSent(trx, row.workspace_id, row.message_id, wamid, at)
      }
    })
  }

  private async fail(row: Row, e: ProviderError): Promise<void> {
    const { deps } = this
    const now = deps.clock.now()
    const attempts = row.attempts + 1
    const retry = (e.retryable || e.pairRate) && attempts < MAX_SEND_ATTEMPTS
    if (retry) {
      const next = iso(now + (e.pairRate ? pairRateDelayMs(attempts) : retryDelayMs(attempts)))
      await outboxRepo.finish(deps.db, row.workspace_id, row.id, { state: 'queued', attempts, nextAttemptAt: next, error: `${e.code}: ${e.reason}`, at: iso(now) })
      if (e.pairRate) {
        this.pairBlocked.set(`${row.channel_id}|${row.recipient}`, Date.parse(next))
        await outboxRepo.deferRecipient(deps.db, row.workspace_id, row.channel_id, row.recipient, next)
      }
      deps.logger.info({ messageId: row.message_id, code: e.code, attempts, next }, 'send will be retried')
      this.scheduleIn(Date.parse(next) - now)
      return
    }
    await deps.db.transaction().execute(async (trx) => {
      await outboxRepo.finish(trx, row.workspace_id, row.id, { state: 'failed', attempts, error: `${e.code}: ${e.reason}`, at: iso(now) })
      await repo.updateMessage(trx, row.workspace_id, row.message_id, { status: 'failed', status_at: iso(now), error_code: e.code, error_title: e.reason, error_details: e.details })
    })
    deps.logger.warn({ messageId: row.message_id, code: e.code, attempts }, 'send failed')
    if (e.authFailure) await recordGraphOutcome(deps, row.workspace_id, row.channel_id, e, { immediate: true })
  }
}

export type { OutboxTable }
