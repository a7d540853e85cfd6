/**
 * Group commit for the inbox. Each webhook request hands over its rows and waits; every request that arrives
 * while a commit is being written joins the next one. One SQLite transaction (one fsync at
 * synchronous=FULL) then makes many requests durable at once, so durability does not cost throughput.
 * A request's promise resolves only after its rows are committed: only then may it answer 200.
 */
import type { SyncTransaction } from '../db/client.ts'
import { insertInboxRowIgnoringDuplicate, type NewInboxRow } from '../messaging/inbound.repo.ts'

type Waiter = { rows: NewInboxRow[]; resolve: (inserted: number) => void; reject: (err: unknown) => void }

export class InboxWriter {
  private queue: Waiter[] = []
  private writing: Promise<void> | null = null

  /** When the last commit finished: the processor gives way while webhooks keep arriving. */
  lastCommitAt = 0

  constructor(
    private readonly syncTransaction: SyncTransaction,
    private readonly afterCommit: () => void = () => {},
  ) {}

  /** True while requests are waiting for, or have just had, a commit. */
  get busy(): boolean {
    return this.writing !== null || performance.now() - this.lastCommitAt < 5
  }

  /** Resolves with the number of new rows (duplicates are ignored) once they are durable. */
  write(rows: NewInboxRow[]): Promise<number> {
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
        const counts = await this.syncTransaction((db) => batch.map((w) => w.rows.reduce((n, row) => n + (insertInboxRowIgnoringDuplicate(db, row) ? 1 : 0), 0)))
        this.lastCommitAt = performance.now()
        batch.forEach((w, i) => w.resolve(counts[i]!))
        this.afterCommit()
      } catch (err) {
        for (const w of batch) w.reject(err)
      }
    }
    this.writing = null
  }

  /** Resolves when everything handed over so far is committed (graceful shutdown). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing
  }
}
