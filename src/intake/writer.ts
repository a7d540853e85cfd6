/**
 * The intake writer: inbound events become durable before anyone is answered. Each webhook request (and each QR
 * device's batch of messages) hands over its rows and waits; requests that arrive together share one commit
 * (group commit, lib/group-commit.ts) in a synchronous transaction on the processor's connection, where each row
 * is an insert-or-ignore by its idempotency key.
 * A request's promise resolves only after its rows are committed: only then may it answer 200. When the commit
 * fails, every request of the batch gets a 503 with Retry-After (nothing of theirs was stored; Meta retries), the
 * failure is logged with its cause, and a storage failure makes the instance not ready (db/write-health.ts).
 */
import type { SyncDb, SyncTransaction } from '../db/client.ts'
import type { StorageFailure, WriteHealth } from '../db/write-health.ts'
import { AppError } from '../lib/errors.ts'
import { GroupCommit, type ItemOutcome } from '../lib/group-commit.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { insertIntakeEventIgnoringDuplicate, type NewIntakeEvent } from './intake.repo.ts'

/** How readiness names this path. */
export const INTAKE_SOURCE = 'webhook intake'
/** Seconds a sender is asked to wait after a failed commit. */
export const INTAKE_RETRY_AFTER = 10
/** How long after a commit the writer still counts as busy: more requests are likely right behind it. */
const BUSY_AFTER_COMMIT_MS = 5

/** Inserts the rows, ignoring the ones already there; returns how many were new. */
function insertNew(db: SyncDb, rows: readonly NewIntakeEvent[]): number {
  let inserted = 0
  for (const row of rows) if (insertIntakeEventIgnoringDuplicate(db, row)) inserted++
  return inserted
}

export type IntakeWriterOptions = { health?: WriteHealth; metrics?: Metrics; logger?: Logger }

export class IntakeWriter {
  private readonly group: GroupCommit<NewIntakeEvent[], number>

  constructor(
    syncTransaction: SyncTransaction,
    /** Called after each commit: there is something new to process. */
    afterCommit: () => void = () => {},
    private readonly opts: IntakeWriterOptions = {},
  ) {
    this.group = new GroupCommit<NewIntakeEvent[], number>(
      // Every request's rows in one transaction; a row that fails fails the batch (no savepoints on the hot path).
      (requests) =>
        syncTransaction((db) =>
          requests.map((rows): ItemOutcome<number> => ({ ok: true, value: insertNew(db, rows) })),
        ),
      {
        source: INTAKE_SOURCE,
        health: opts.health,
        committed: (requests, outcomes) => {
          this.count(requests, outcomes)
          afterCommit()
        },
        failed: (err, requests, storage) => this.refuse(err, requests.length, storage),
      },
    )
  }

  /** When the last commit finished (performance.now()): the processor gives way while webhooks keep arriving. */
  get lastCommitAt(): number {
    return this.group.lastCommitAt
  }

  /** True while requests are waiting for, or have just had, a commit. */
  get busy(): boolean {
    return this.group.writing || performance.now() - this.group.lastCommitAt < BUSY_AFTER_COMMIT_MS
  }

  /** Resolves with the number of new rows (duplicates are ignored) once they are durable. */
  write(rows: NewIntakeEvent[]): Promise<number> {
    return this.group.submit(rows)
  }

  /** Resolves when everything handed over so far is committed (graceful shutdown). */
  flush(): Promise<void> {
    return this.group.flush()
  }

  private count(requests: readonly NewIntakeEvent[][], outcomes: readonly ItemOutcome<number>[]): void {
    const m = this.opts.metrics
    if (!m) return
    m.intakeCommits.inc({ outcome: 'ok' })
    const rows = requests.reduce((n, r) => n + r.length, 0)
    const stored = outcomes.reduce((n, o) => n + (o.ok ? o.value : 0), 0)
    if (stored > 0) m.intakeEvents.inc({ result: 'stored' }, stored)
    if (rows > stored) m.intakeEvents.inc({ result: 'duplicate' }, rows - stored)
  }

  /** What every request of a failed commit is told: 503, retry later. */
  private refuse(err: unknown, requests: number, storage: StorageFailure | null): AppError {
    this.opts.metrics?.intakeCommits.inc({ outcome: 'failed' })
    this.opts.logger?.error(
      { err, requests },
      'intake commit failed: the events were not stored (senders were asked to retry)',
    )
    return new AppError(
      503,
      'intake_unavailable',
      `The events could not be stored${storage ? ` (${storage.detail})` : ''}; nothing was accepted. Retry later.`,
      undefined,
      { 'retry-after': String(INTAKE_RETRY_AFTER) },
    )
  }
}
