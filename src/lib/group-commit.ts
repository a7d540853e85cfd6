/**
 * Group commit: callers hand over one item each and wait; every item that arrives while a batch is being written
 * joins the next batch, and a batch is written in ONE transaction — one fsync at synchronous=FULL for all of its
 * items — so durability does not cost throughput. A caller's promise settles only after the shared COMMIT: an
 * answer is never sent for a write that is not durable yet.
 *
 * How a batch is written is the strategy's part (`commit`): the intake writer inserts rows in a synchronous
 * transaction (intake/writer.ts); request writes run each item in its own savepoint of an async Kysely transaction
 * (db/write-group.ts), so one that fails is rolled back alone. The queueing, the joining, the settling and the
 * reporting to WriteHealth are the same for both, and live here.
 */
import type { StorageFailure, WriteHealth } from '../db/write-health.ts'

/** What became of one item of a committed batch. */
export type ItemOutcome<Result> = { ok: true; value: Result } | { ok: false; error: unknown }

/**
 * Writes a batch in one transaction and commits it. Resolves after the COMMIT with one outcome per item, in the
 * items' order (an item may fail alone when the strategy isolates items). Rejects when the transaction as a whole
 * failed: then nothing of the batch was stored.
 */
export type CommitBatch<Item, Result> = (items: readonly Item[]) => Promise<ItemOutcome<Result>[]>

export type GroupCommitOptions<Item, Result> = {
  /** How readiness names this write path. */
  source: string
  /** Told of each batch's outcome: a storage failure makes the instance not ready until a commit succeeds again. */
  health?: WriteHealth
  /** Items per transaction: bounds how long one waits for the others. Default: every item that is waiting. */
  maxBatch?: number
  /** A batch was committed and its callers settled (metrics, waking whoever processes what was written). */
  committed?: (items: readonly Item[], outcomes: readonly ItemOutcome<Result>[]) => void
  /**
   * The batch's transaction failed: returns what every caller of the batch is rejected with (default: the error
   * itself). `storage` is the storage failure behind the error, if it is one (already reported to `health`).
   */
  failed?: (error: unknown, items: readonly Item[], storage: StorageFailure | null) => unknown
}

type Waiter<Item, Result> = { item: Item; resolve: (value: Result) => void; reject: (error: unknown) => void }

export class GroupCommit<Item, Result> {
  private queue: Waiter<Item, Result>[] = []
  private draining: Promise<void> | null = null
  /** When the last batch was committed (performance.now()); 0 before the first. */
  lastCommitAt = 0

  constructor(
    private readonly commitBatch: CommitBatch<Item, Result>,
    private readonly opts: GroupCommitOptions<Item, Result>,
  ) {}

  /** True while items are waiting for, or being written in, a batch. */
  get writing(): boolean {
    return this.draining !== null
  }

  /** Resolves with the item's result once its batch is committed; rejects if its batch (or, alone, it) failed. */
  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ item, resolve, reject })
      this.draining ??= this.drain()
    })
  }

  /** Resolves when everything submitted so far is committed (or refused): graceful shutdown. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining
  }

  private async drain(): Promise<void> {
    // Callers whose requests are already being handled get to join this batch.
    await new Promise((resolve) => setImmediate(resolve))
    while (this.queue.length > 0) await this.writeBatch(this.queue.splice(0, this.opts.maxBatch ?? Infinity))
    this.draining = null
  }

  private async writeBatch(batch: Waiter<Item, Result>[]): Promise<void> {
    const { health, source } = this.opts
    const items = batch.map((w) => w.item)
    try {
      const outcomes = await this.commitBatch(items)
      this.lastCommitAt = performance.now()
      // An item's failure counts like any write's (a storage one is recorded), and the commit that followed it
      // is a write of the same path that succeeded.
      for (const outcome of outcomes) if (!outcome.ok) health?.failed(source, outcome.error)
      health?.succeeded(source)
      for (const [i, w] of batch.entries()) {
        const outcome = outcomes[i]!
        if (outcome.ok) w.resolve(outcome.value)
        else w.reject(outcome.error)
      }
      this.opts.committed?.(items, outcomes)
    } catch (error) {
      const storage = health?.failed(source, error) ?? null
      const refusal = this.opts.failed ? this.opts.failed(error, items, storage) : error
      for (const w of batch) w.reject(refusal)
    }
  }
}
