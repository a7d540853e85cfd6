/**
 * Group commit for the inbox. Each webhook request hands over its rows and waits; every request that arrives
 * while a commit is being written joins the next one. One SQLite transaction (one fsync at
 * synchronous=FULL) then makes many requests durable at once, so durability does not cost throughput.
 * A request's promise resolves only after its rows are committed: only then may it answer 200.
 */
import type { Insertable } from 'kysely'
import type { Db } from '../db/client.ts'
import type { WebhookInboxTable } from './inbox.table.ts'
import * as inboxRepo from './inbox.repo.ts'

type Waiter = { rows: Insertable<WebhookInboxTable>[]; resolve: (inserted: number) => void; reject: (err: unknown) => void }

export class InboxWriter {
  private queue: Waiter[] = []
  private writing: Promise<void> | null = null

  constructor(
    private readonly db: Db,
    private readonly afterCommit: () => void = () => {},
  ) {}

  /** Resolves with the number of new rows (duplicates are ignored) once they are durable. */
  write(rows: Insertable<WebhookInboxTable>[]): Promise<number> {
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
        const counts = await this.db.transaction().execute(async (trx) => {
          const result: number[] = []
          for (const w of batch) result.push(w.rows.length ? await inboxRepo.insertIgnoringDuplicates(trx, w.rows) : 0)
          return result
        })
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
