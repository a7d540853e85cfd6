/** sessions: one row per signed-in browser, found by the hash of its cookie's token. */
import type { Insertable, Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { SessionsTable } from './auth.table.ts'

type Db = Kysely<Database> | Transaction<Database>

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
