/** The invites table: pending, accepted, revoked and expired invitations to a workspace (token stored hashed). */
import type { Insertable, Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { InvitesTable } from './workspaces.table.ts'

type Db = Kysely<Database> | Transaction<Database>

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
