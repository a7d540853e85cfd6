/** The memberships table: who belongs to which workspace, with which role (with the user's own fields where listed). */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { Role } from '../auth/permissions.ts'

type Db = Kysely<Database> | Transaction<Database>

/** The caller's role in a workspace, read fresh on every request (no role is cached in a token). */
export const findMembership = (db: Db, workspaceId: string, userId: string) =>
  db
    .selectFrom('memberships')
    .select(['role', 'created_at'])
    .where('workspace_id', '=', workspaceId)
    .where('user_id', '=', userId)
    .executeTakeFirst()

export const listMembershipsOfUser = (db: Db, userId: string) =>
  db
    .selectFrom('memberships')
    .innerJoin('workspaces', 'workspaces.id', 'memberships.workspace_id')
    .select(['workspaces.id', 'workspaces.name', 'workspaces.plan', 'memberships.role'])
    .where('memberships.user_id', '=', userId)
    .orderBy('workspaces.name')
    .execute()

export const listMembers = (db: Db, workspaceId: string, afterUserId: string | undefined, limit: number) => {
  let q = db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.id', 'users.email', 'users.name', 'memberships.role', 'memberships.created_at'])
    .where('memberships.workspace_id', '=', workspaceId)
  if (afterUserId) q = q.where('users.id', '>', afterUserId)
  return q.orderBy('users.id').limit(limit).execute()
}

export const findMember = (db: Db, workspaceId: string, userId: string) =>
  db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.id', 'users.email', 'users.name', 'memberships.role', 'memberships.created_at'])
    .where('memberships.workspace_id', '=', workspaceId)
    .where('memberships.user_id', '=', userId)
    .executeTakeFirst()

export async function countMembers(db: Db, workspaceId: string, role?: Role): Promise<number> {
  let q = db
    .selectFrom('memberships')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
  if (role) q = q.where('role', '=', role)
  return Number((await q.executeTakeFirstOrThrow()).n)
}

export async function insertMembership(
  db: Db,
  workspaceId: string,
  userId: string,
  role: Role,
  at: string,
): Promise<void> {
  await db
    .insertInto('memberships')
    .values({ workspace_id: workspaceId, user_id: userId, role, created_at: at })
    .execute()
}

export async function setRole(db: Db, workspaceId: string, userId: string, role: Role): Promise<void> {
  await db
    .updateTable('memberships')
    .set({ role })
    .where('workspace_id', '=', workspaceId)
    .where('user_id', '=', userId)
    .execute()
}

export async function deleteMembership(db: Db, workspaceId: string, userId: string): Promise<void> {
  await db.deleteFrom('memberships').where('workspace_id', '=', workspaceId).where('user_id', '=', userId).execute()
}
