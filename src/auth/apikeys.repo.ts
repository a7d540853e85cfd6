/** API key queries; tenant-scoped except the lookup by prefix that authenticates a request. */
import type { Insertable, Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { ApiKeysTable } from './auth.table.ts'

type Db = Kysely<Database> | Transaction<Database>

export async function insert(db: Db, key: Insertable<ApiKeysTable>): Promise<void> {
  await db.insertInto('api_keys').values(key).execute()
}

/** The key named by a bearer token's prefix (authentication: the token names its own workspace). */
export const findByPrefix = (db: Db, prefix: string) =>
  db.selectFrom('api_keys').selectAll().where('prefix', '=', prefix).executeTakeFirst()

export const find = (db: Db, workspaceId: string, keyId: string) =>
  db
    .selectFrom('api_keys')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', keyId)
    .executeTakeFirst()

export const list = (db: Db, workspaceId: string, before: { c: string; i: string } | undefined, limit: number) => {
  let q = db.selectFrom('api_keys').selectAll().where('workspace_id', '=', workspaceId)
  if (before)
    q = q.where((eb) =>
      eb.or([eb('created_at', '<', before.c), eb.and([eb('created_at', '=', before.c), eb('id', '<', before.i)])]),
    )
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
}

export async function countActive(db: Db, workspaceId: string, now: string): Promise<number> {
  const row = await db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/** Unrevoked keys that answer for `userId` in the workspace (expired ones too: revoking them is harmless). */
export const activeKeysOfUser = (db: Db, workspaceId: string, userId: string) =>
  db
    .selectFrom('api_keys')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('created_by_user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute()

export async function revoke(db: Db, workspaceId: string, keyId: string, at: string): Promise<boolean> {
  const r = await db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', keyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(r.numUpdatedRows) === 1
}

export async function touch(db: Db, workspaceId: string, keyId: string, at: string): Promise<void> {
  await db
    .updateTable('api_keys')
    .set({ last_used_at: at })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', keyId)
    .execute()
}
