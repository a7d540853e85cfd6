/**
 * Workspaces, memberships and invites. Every query on tenant rows takes the workspace id and filters by it:
 * an id from a URL is never trusted alone.
 */
import type { Insertable, Kysely, Transaction, Updateable } from 'kysely'
import type { Database } from '../db/database.ts'
import type { Role } from '../auth/permissions.ts'
import type { InvitesTable, WorkspacesTable } from './workspaces.table.ts'

type Db = Kysely<Database> | Transaction<Database>

export const findWorkspace = (db: Db, workspaceId: string) =>
  db.selectFrom('workspaces').selectAll().where('id', '=', workspaceId).executeTakeFirst()

export const listAllWorkspaces = (db: Db, afterId: string | undefined, limit: number) => {
  let q = db.selectFrom('workspaces').selectAll()
  if (afterId) q = q.where('id', '>', afterId)
  return q.orderBy('id').limit(limit).execute()
}

export async function insertWorkspace(db: Db, ws: Insertable<WorkspacesTable>): Promise<void> {
  await db.insertInto('workspaces').values(ws).execute()
}

export async function updateWorkspace(db: Db, workspaceId: string, patch: Updateable<WorkspacesTable>): Promise<void> {
  await db.updateTable('workspaces').set(patch).where('id', '=', workspaceId).execute()
}

/** Rows of a workspace in tables that carry workspace_id without a foreign key (they are written hot). */
export async function deleteWorkspaceData(db: Db, workspaceId: string): Promise<void> {
  for (const table of [
    'intake_events',
    'message_statuses',
    'channel_events',
    'outbox',
    'idempotency_keys',
    'events',
    'lid_mappings',
    'qr_auth_state',
  ] as const) {
    await db.deleteFrom(table).where('workspace_id', '=', workspaceId).execute()
  }
}

export async function deleteWorkspace(db: Db, workspaceId: string): Promise<void> {
  await db.deleteFrom('workspaces').where('id', '=', workspaceId).execute()
}

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

export async function insertInvite(db: Db, invite: Insertable<InvitesTable>): Promise<void> {
  await db.insertInto('invites').values(invite).execute()
}

export const findInvite = (db: Db, workspaceId: string, inviteId: string) =>
  db
    .selectFrom('invites')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', inviteId)
    .executeTakeFirst()

/** By token hash: the token itself is the proof of access, and names its workspace. */
export const findInviteByTokenHash = (db: Db, tokenHash: string) =>
  db
    .selectFrom('invites')
    .innerJoin('workspaces', 'workspaces.id', 'invites.workspace_id')
    .selectAll('invites')
    .select(['workspaces.name as workspace_name', 'workspaces.plan as workspace_plan'])
    .where('invites.token_hash', '=', tokenHash)
    .executeTakeFirst()

export const listInvites = (
  db: Db,
  workspaceId: string,
  before: { c: string; i: string } | undefined,
  limit: number,
) => {
  let q = db.selectFrom('invites').selectAll().where('workspace_id', '=', workspaceId)
  if (before)
    q = q.where((eb) =>
      eb.or([eb('created_at', '<', before.c), eb.and([eb('created_at', '=', before.c), eb('id', '<', before.i)])]),
    )
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
}

/** Pending invites for one email in a workspace (a new invite replaces them). */
export const listPendingInvitesFor = (db: Db, workspaceId: string, email: string) =>
  db
    .selectFrom('invites')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('email', '=', email)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .execute()

/** Invites that still hold a seat: not accepted, not revoked, not expired. */
export async function countPendingInvites(db: Db, workspaceId: string, now: string): Promise<number> {
  const row = await db
    .selectFrom('invites')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function markInviteAccepted(
  db: Db,
  workspaceId: string,
  inviteId: string,
  userId: string,
  at: string,
): Promise<boolean> {
  // The `accepted_at IS NULL` guard makes acceptance single-use even when two requests race.
  const r = await db
    .updateTable('invites')
    .set({ accepted_at: at, accepted_by: userId })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', inviteId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(r.numUpdatedRows) === 1
}

export async function revokeInvite(db: Db, workspaceId: string, inviteId: string, at: string): Promise<boolean> {
  const r = await db
    .updateTable('invites')
    .set({ revoked_at: at })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', inviteId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(r.numUpdatedRows) === 1
}
