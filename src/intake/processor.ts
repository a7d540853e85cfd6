/**
 * Drains the intake in process: the events Cloud API webhooks and QR-linked devices stored. A batch of due rows is
 * applied in one transaction that also marks them processed, so an event's effects and its "done" mark commit
 * together (or not at all): a crash at any point leaves each event either applied and marked, or due again — and
 * applying again is idempotent. If the batch fails, each row is retried alone so one bad event cannot hold the
 * others back; a failing row backs off exponentially (with jitter) and after MAX_ATTEMPTS is parked as dead, to be
 * listed and replayed (dead-letters.routes.ts).
 */
import type { SyncDb } from '../db/client.ts'
import { storageFailureOf } from '../db/write-health.ts'
import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { applyInbound } from '../messaging/inbound.service.ts'
import type { InboundEvent } from '../channels/inbound-events.ts'
import { DueWorker } from '../lib/due-work.ts'
import * as intakeRepo from './intake.repo.ts'

export const MAX_ATTEMPTS = 8
// Small batches, with a pause between them: intake commits (which Meta and devices wait on) queue for the same
// connection, so a long processing transaction would delay every acknowledgement behind it.
const BATCH = 100
const MAX_YIELD_MS = 20
const BASE_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 10 * 60_000

export function backoffMs(attempts: number, random = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, attempts - 1))
  return Math.round(base * (0.75 + random() * 0.5))
}

type Row = Awaited<ReturnType<typeof intakeRepo.due>>[number]

export type ProcessedHook = (row: { workspaceId: string; channelId: string; event: InboundEvent }) => void

export class IntakeProcessor {
  private readonly listeners: ProcessedHook[] = []
  private readonly worker: DueWorker
  private lastBatchMs = 0

  constructor(
    private readonly deps: ServiceDeps,
    /** True while intake commits (which senders wait on) are being written: processing gives way (up to MAX_YIELD_MS). */
    private readonly intakeBusy: () => boolean = () => false,
  ) {
    this.worker = new DueWorker('intake', () => this.processBatch(), {
      logger: deps.logger,
      clock: deps.clock,
      health: { record: deps.writeHealth, source: 'intake processor' },
    })
  }

  /** Called after each commit of effects (media downloads, later: outbound events and the live stream). */
  onProcessed(hook: ProcessedHook): void {
    this.listeners.push(hook)
  }

  /** Asks for a drain soon; cheap to call after every intake commit. */
  wake(): void {
    this.worker.wake()
  }

  /** Drains until nothing is due (tests and shutdown call this directly). */
  drain(): Promise<void> {
    return this.worker.drain()
  }

  /** Retries come due on their own: look every second. */
  start(intervalMs = 1_000): void {
    this.worker.start(intervalMs)
  }

  stop(): Promise<void> {
    return this.worker.stop()
  }

  /** Processes one batch; returns how many rows it took. */
  async processBatch(): Promise<number> {
    await this.giveWayToIntake()
    const started = performance.now()
    const rows = await intakeRepo.due(this.deps.db, iso(this.deps.clock.now()), BATCH)
    if (rows.length === 0) return 0
    const known = rows.filter((row) => row.kind !== 'unknown')
    for (const row of rows) if (row.kind === 'unknown') await this.park(row)
    if (known.length > 0 && !(await this.applyTogether(known))) await this.applyEachAlone(known)
    this.lastBatchMs = performance.now() - started
    return rows.length
  }

  /**
   * Lets pending requests (and their intake commits) run before taking the connection again. While webhooks keep
   * arriving, gives them as much time as the last batch took: acknowledgements stay fast and processing still
   * gets half the process, so the backlog keeps moving.
   */
  private async giveWayToIntake(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    if (this.intakeBusy()) await Bun.sleep(Math.min(this.lastBatchMs, MAX_YIELD_MS))
  }

  /** The whole batch in one transaction: every row's effects and its processed mark commit together, or none. */
  private async applyTogether(rows: Row[]): Promise<boolean> {
    try {
      await this.deps.syncTransaction((db) => {
        for (const row of rows) this.apply(db, row)
      })
      this.processed(rows)
      return true
    } catch {
      return false
    }
  }

  /** After a failed batch, finds the culprit: each row in its own transaction, so the good ones still land. */
  private async applyEachAlone(rows: Row[]): Promise<void> {
    for (const row of rows) {
      try {
        await this.deps.syncTransaction((db) => this.apply(db, row))
        this.processed([row])
      } catch (err) {
        await this.fail(row, err)
      }
    }
  }

  /** One event's effects and its processed mark, inside the caller's transaction. */
  private apply(db: SyncDb, row: Row): void {
    const now = iso(this.deps.clock.now())
    applyInbound(db, row.workspace_id, row.channel_id, JSON.parse(row.payload) as InboundEvent, now)
    intakeRepo.markIntakeEventProcessed(db, row.workspace_id, row.id, now)
  }

  /**
   * A notice wabox does not know (channels/inbound-events.ts UnknownNoticeEvent) has nothing to apply: it goes
   * straight to the dead letters, where an operator sees it (GET …/intake/dead), with no retries to spend.
   */
  private async park(row: Row): Promise<void> {
    const event = JSON.parse(row.payload) as InboundEvent
    const reason = event.kind === 'unknown' ? event.reason : 'unknown notice'
    await intakeRepo.markFailed(this.deps.db, row.workspace_id, row.id, {
      attempts: row.attempts,
      dead: true,
      nextAttemptAt: row.next_attempt_at,
      error: `wabox does not know this notice: ${reason}`.slice(0, 500),
    })
    this.deps.metrics.intakeProcessed.inc({ outcome: 'dead' })
    this.deps.logger.warn(
      { intakeId: row.id, workspaceId: row.workspace_id, reason },
      'unknown webhook notice kept as a dead letter',
    )
  }

  /** A failed attempt: the event is due again after a backoff, or parked as dead after MAX_ATTEMPTS. */
  private async fail(row: Row, err: unknown): Promise<void> {
    // A full disk or a failing file is not this event's fault: it must not use up the event's attempts (eight of
    // them would park an acknowledged webhook as a dead letter). The pass fails instead — readiness reports it,
    // the worker's timer tries again — and the event stays due as it was.
    if (storageFailureOf(err)) throw err
    const attempts = row.attempts + 1
    const dead = attempts >= MAX_ATTEMPTS
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 500)
    await intakeRepo.markFailed(this.deps.db, row.workspace_id, row.id, {
      attempts,
      dead,
      nextAttemptAt: iso(this.deps.clock.now() + backoffMs(attempts)),
      error: message,
    })
    this.deps.metrics.intakeProcessed.inc({ outcome: dead ? 'dead' : 'retry' })
    this.deps.logger.warn(
      { intakeId: row.id, workspaceId: row.workspace_id, attempts, dead, error: message },
      dead ? 'webhook event parked as dead letter' : 'webhook event failed; will retry',
    )
  }

  /** Committed: counted (with how long each event waited), then announced. */
  private processed(rows: Row[]): void {
    const { metrics, clock } = this.deps
    const now = clock.now()
    metrics.intakeProcessed.inc({ outcome: 'processed' }, rows.length)
    for (const row of rows) metrics.intakeProcessingLag.observe(Math.max(0, (now - Date.parse(row.received_at)) / 1000))
    this.notify(rows)
  }

  private notify(rows: Row[]): void {
    for (const row of rows) {
      const event = JSON.parse(row.payload) as InboundEvent
      for (const hook of this.listeners) hook({ workspaceId: row.workspace_id, channelId: row.channel_id, event })
    }
  }
}
