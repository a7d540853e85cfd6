/**
 * Group commit for request transactions (lib/group-commit.ts; the intake writer is the other user): writes that
 * arrive together run one after another inside ONE SQLite transaction — one fsync at synchronous=FULL for all of
 * them — each in its own savepoint, so one that fails is rolled back alone. A caller's promise settles only after
 * the shared COMMIT: an answer is never sent for a write that is not durable yet.
 *
 * A work item must use only the transaction it is given: while the group is open it holds the one connection, so
 * awaiting anything that needs `deps.db` inside it would wait forever.
 */
import type { Kysely, Transaction } from 'kysely'
import { GroupCommit, type ItemOutcome } from '../lib/group-commit.ts'
import type { Database } from './database.ts'
import type { WriteHealth } from './write-health.ts'

type Work = (trx: Transaction<Database>) => Promise<unknown>

/** Writes per transaction: enough to share the fsync widely, few enough that none waits long for the others. */
const MAX_GROUP = 64
/** How readiness names this path. */
const SOURCE = 'request writes'

/** Runs the works in one transaction, each in a savepoint; throws (after rolling back) when the transaction fails. */
async function commitInSavepoints(db: Kysely<Database>, works: readonly Work[]): Promise<ItemOutcome<unknown>[]> {
  const outcomes: ItemOutcome<unknown>[] = []
  const trx = await db.startTransaction().execute()
  try {
    for (const work of works) {
      const point = await trx.savepoint('write').execute()
      try {
        outcomes.push({ ok: true, value: await work(point) })
        await point.releaseSavepoint('write').execute()
      } catch (error) {
        try {
          await point.rollbackToSavepoint('write').execute()
          await point.releaseSavepoint('write').execute()
        } catch {
          // The error ended the whole transaction (SQLite aborts on some): the group fails with its cause.
          throw error
        }
        outcomes.push({ ok: false, error })
      }
    }
    await trx.commit().execute()
    return outcomes
  } catch (err) {
    // The shared transaction itself failed (disk full, I/O): nothing of this group was written.
    await trx
      .rollback()
      .execute()
      .catch(() => {})
    throw err
  }
}

export class WriteGroup {
  private readonly group: GroupCommit<Work, unknown>

  constructor(
    db: Kysely<Database>,
    /** Told of each group's outcome: storage failures make the instance not ready until a commit succeeds again. */
    health?: WriteHealth,
  ) {
    this.group = new GroupCommit((works) => commitInSavepoints(db, works), {
      source: SOURCE,
      health,
      maxBatch: MAX_GROUP,
    })
  }

  run<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.group.submit(work) as Promise<T>
  }
}
