/**
 * Group commit for request transactions (the intake has its own, on the synchronous connection): writes
 * that arrive together run one after another inside ONE SQLite transaction — one fsync at synchronous=FULL for
 * all of them — each in its own savepoint, so one that fails is rolled back alone. A caller's promise settles only
 * after the shared COMMIT: an answer is never sent for a write that is not durable yet.
 *
 * A work item must use only the transaction it is given: while the group is open it holds the one connection, so
 * awaiting anything that needs `deps.db` inside it would wait forever.
 */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from './database.ts'
import type { WriteHealth } from './write-health.ts'

type Work = {
  run: (trx: Transaction<Database>) => Promise<unknown>
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
}

/** Writes per transaction: enough to share the fsync widely, few enough that none waits long for the others. */
const MAX_GROUP = 64
/** How readiness names this path. */
const SOURCE = 'request writes'

export class WriteGroup {
  private queue: Work[] = []
  private draining: Promise<void> | null = null

  constructor(
    private readonly db: Kysely<Database>,
    /** Told of each group's outcome: storage failures make the instance not ready until a commit succeeds again. */
    private readonly health?: WriteHealth,
  ) {}

  run<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run: work, resolve: resolve as (v: unknown) => void, reject })
      this.draining ??= this.drain()
    })
  }

  private async drain(): Promise<void> {
    // Requests already being handled get to join this group.
    await new Promise((r) => setImmediate(r))
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, MAX_GROUP)
      const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = []
      try {
        const trx = await this.db.startTransaction().execute()
        try {
          for (const work of group) {
            const point = await trx.savepoint('write').execute()
            try {
              outcomes.push({ ok: true, value: await work.run(point) })
              await point.releaseSavepoint('write').execute()
            } catch (error) {
              try {
                await point.rollbackToSavepoint('write').execute()
                await point.releaseSavepoint('write').execute()
              } catch {
                // The error ended the whole transaction (SQLite aborts on some): the group fails with its cause.
                throw error
              }
              this.health?.failed(SOURCE, error)
              outcomes.push({ ok: false, error })
            }
          }
          await trx.commit().execute()
          this.health?.succeeded(SOURCE)
        } catch (err) {
          await trx
            .rollback()
            .execute()
            .catch(() => {})
          throw err
        }
      } catch (err) {
        // The shared transaction itself failed (disk full, I/O): nothing of this group was written.
        this.health?.failed(SOURCE, err)
        for (const work of group) work.reject(err)
        continue
      }
      group.forEach((work, i) => {
        const o = outcomes[i]!
        if (o.ok) work.resolve(o.value)
        else work.reject(o.error)
      })
    }
    this.draining = null
  }
}
