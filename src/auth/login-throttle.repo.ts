/** login_throttle: failed sign-ins per account and per client IP, and until when each is blocked. */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'

type Db = Kysely<Database> | Transaction<Database>

export const findThrottle = (db: Db, key: string) =>
  db.selectFrom('login_throttle').selectAll().where('key', '=', key).executeTakeFirst()

export async function saveThrottle(
  db: Db,
  key: string,
  failures: number,
  lastFailureAt: string,
  blockedUntil: string | null,
): Promise<void> {
  await db
    .insertInto('login_throttle')
    .values({ key, failures, last_failure_at: lastFailureAt, blocked_until: blockedUntil })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({ failures, last_failure_at: lastFailureAt, blocked_until: blockedUntil }),
    )
    .execute()
}

export async function clearThrottle(db: Db, key: string): Promise<void> {
  await db.deleteFrom('login_throttle').where('key', '=', key).execute()
}
