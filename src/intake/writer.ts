/**
 * Group commit for the intake. Each webhook request hands over its rows and waits; every request that arrives
 * while a commit is being written joins the next one. One SQLite transaction (one fsync at
 * synchronous=FULL) then makes many requests durable at once, so durability does not cost throughput.
 * A request's promise resolves only after its rows are committed: only then may it answer 200. When the commit
 * fails, every request of the batch gets a 503 with Retry-After (nothing of theirs was stored; Meta retries), the
 * failure is logged with its cause, and a storage failure makes the instance not ready (db/write-health.ts).
 */
import type { SyncTransaction } from '../db/client.ts'
import type { WriteHealth } from '../db/write-health.ts'
import { AppError } from '../lib/errors.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { insertIntakeEventIgnoringDuplicate, type NewIntakeEvent } from './intake.repo.ts'

/** How readiness names this path. */
export const INTAKE_SOURCE = 'webhook intake'
/** Seconds a sender is asked to wait after a failed commit. */
export const INTAKE_RETRY_AFTER = 10

export type IntakeWriterOptions = { health?: WriteHealth; metrics?: Metrics; logger?: Logger }

type Waiter = { rows: NewIntakeEvent[]; resolve: (inserted: number) => void; reject: (err: unknown) => void }

export class IntakeWriter {
  private queue: Waiter[] = []
  private writing: Promise<void> | null = null

  /** When the last commit finished: the processor gives way while webhooks keep arriving. */
  lastCommitAt = 0

  constructor(
    private readonly syncTransaction: SyncTransaction,
    private readonly afterCommit: () => void = () => {},
    private readonly opts: IntakeWriterOptions = {},
  ) {}

  /** True while requests are waiting for, or have just had, a commit. */
  get busy(): boolean {
    return this.writing !== null || performance.now() - this.lastCommitAt < 5
  }

  /** Resolves with the number of new rows (duplicates are ignored) once they are durable. */
  write(rows: NewIntakeEvent[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject })
      this.writing ??= this.drain()
    })
  }

  private async drain(): Promise<void> {
    // Let requests that are already parsed join this commit.
    await new Promise((r) => setImmediate(r))
    while (this.queue.length > 0) {
      const batch = this.queue
      this.queue = []
      try {
        const counts = await this.syncTransaction((db) =>
          batch.map((w) => w.rows.reduce((n, row) => n + (insertIntakeEventIgnoringDuplicate(db, row) ? 1 : 0), 0)),
        )
        this.lastCommitAt = performance.now()
        this.opts.health?.succeeded(INTAKE_SOURCE)
        this.count(batch, counts)
        for (const [i, w] of batch.entries()) w.resolve(counts[i]!)
        this.afterCommit()
      } catch (err) {
        const storage = this.opts.health?.failed(INTAKE_SOURCE, err)
        this.opts.metrics?.intakeCommits.inc({ outcome: 'failed' })
        this.opts.logger?.error(
          { err, requests: batch.length },
          'intake commit failed: the events were not stored (senders were asked to retry)',
        )
        const refusal = new AppError(
          503,
          'intake_unavailable',
          `The events could not be stored${storage ? ` (${storage.detail})` : ''}; nothing was accepted. Retry later.`,
          undefined,
          { 'retry-after': String(INTAKE_RETRY_AFTER) },
        )
        for (const w of batch) w.reject(refusal)
      }
    }
    this.writing = null
  }

  private count(batch: Waiter[], counts: number[]): void {
    const m = this.opts.metrics
    if (!m) return
    m.intakeCommits.inc({ outcome: 'ok' })
    const rows = batch.reduce((n, w) => n + w.rows.length, 0)
    const stored = counts.reduce((n, c) => n + c, 0)
    if (stored > 0) m.intakeEvents.inc({ result: 'stored' }, stored)
    if (rows > stored) m.intakeEvents.inc({ result: 'duplicate' }, rows - stored)
  }

  /** Resolves when everything handed over so far is committed (graceful shutdown). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing
  }
}
