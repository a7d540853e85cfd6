/** Users, sessions and login-throttle queries. */
import type { Insertable, Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { SessionsTable, UsersTable } from './auth.table.ts'

type Db = Kysely<Database> | Transaction<Database>

export const findUserByEmail = (db: Db, email: string) =>
  db.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst()

export const findUserById = (db: Db, id: string) =>
  db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()

export async function countUsers(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function insertUser(db: Db, user: Insertable<UsersTable>): Promise<void> {
  await db
    .insertInto('users')
    .values({ ...user, email: user.email.toLowerCase() })
    .execute()
}

export async function setPassword(db: Db, userId: string, passwordHash: string, at: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ password_hash: passwordHash, password_changed_at: at })
    .where('id', '=', userId)
    .execute()
}

export async function setOperator(db: Db, userId: string): Promise<void> {
  await db.updateTable('users').set({ is_operator: 1 }).where('id', '=', userId).execute()
}

export async function insertSession(db: Db, session: Insertable<SessionsTable>): Promise<void> {
  await db.insertInto('sessions').values(session).execute()
}

/** The session and its user, by token hash. */
export const findSession = (db: Db, tokenHash: string) =>
  db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.id as session_id',
      'sessions.idle_expires_at',
      'sessions.absolute_expires_at',
      'sessions.last_seen_at',
      'users.id as user_id',
      'users.email',
      'users.name',
      'users.is_operator',
    ])
    .where('sessions.token_hash', '=', tokenHash)
    .executeTakeFirst()

export async function touchSession(
  db: Db,
  sessionId: string,
  lastSeenAt: string,
  idleExpiresAt: string,
): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ last_seen_at: lastSeenAt, idle_expires_at: idleExpiresAt })
    .where('id', '=', sessionId)
    .execute()
}

export async function deleteSession(db: Db, sessionId: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', sessionId).execute()
}

/** Revokes every session of a user except `keepSessionId` (password change keeps the one that changed it). */
export async function deleteSessionsOfUser(db: Db, userId: string, keepSessionId?: string): Promise<number> {
  let q = db.deleteFrom('sessions').where('user_id', '=', userId)
  if (keepSessionId) q = q.where('id', '!=', keepSessionId)
  const r = await q.executeTakeFirst()
  return Number(r.numDeletedRows)
}

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
