/**
 * Memberships. The rules that protect a workspace from its own members:
 * - an Admin cannot grant Owner, and cannot change or remove an Owner;
 * - the last Owner cannot leave, be demoted or be removed (someone must always be able to manage it).
 * A removed member's sessions are revoked, and so are the API keys they made (also those a new role no longer
 * covers); membership is read on every request, so access ends at once.
 */
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { Role } from '../auth/permissions.ts'
import { AppError, notFound } from '../lib/errors.ts'
import * as audit from '../audit/audit.service.ts'
import * as sessionsRepo from '../auth/sessions.repo.ts'
import { revokeKeysOfMember } from '../auth/apikeys.service.ts'
import { decodeCursor, pageOf } from '../pagination.ts'
import type { WorkspaceContext } from './workspace-context.ts'
import * as membershipsRepo from './memberships.repo.ts'

type MemberRow = { id: string; email: string; name: string; role: Role; created_at: string }
const memberView = (m: MemberRow) => ({
  userId: m.id,
  email: m.email,
  name: m.name,
  role: m.role,
  joinedAt: m.created_at,
})

export async function listMembers(deps: ServiceDeps, ctx: WorkspaceContext, cursor: string | undefined, limit: number) {
  const after = decodeCursor(cursor, z.object({ i: z.string() }))
  const rows = await membershipsRepo.listMembers(deps.db, ctx.workspace.id, after?.i, limit + 1)
  return pageOf(rows, limit, memberView, (m) => ({ i: m.id }))
}

export async function getMember(deps: ServiceDeps, ctx: WorkspaceContext, userId: string) {
  const m = await membershipsRepo.findMember(deps.db, ctx.workspace.id, userId)
  if (!m) throw notFound('member')
  return memberView(m)
}

function guardOwnerRules(ctx: WorkspaceContext, target: MemberRow, newRole: Role | null): void {
  if (ctx.role !== 'owner' && target.role === 'owner') {
    throw new AppError(403, 'owner_protected', 'Only an Owner can change or remove an Owner.')
  }
  if (ctx.role !== 'owner' && newRole === 'owner') {
    throw new AppError(403, 'cannot_grant_owner', 'Only an Owner can make someone an Owner.')
  }
}

async function guardLastOwner(
  db: ServiceDeps['db'],
  workspaceId: string,
  target: MemberRow,
  newRole: Role | null,
): Promise<void> {
  if (
    target.role === 'owner' &&
    newRole !== 'owner' &&
    (await membershipsRepo.countMembers(db, workspaceId, 'owner')) <= 1
  ) {
    throw new AppError(409, 'last_owner', 'The workspace needs at least one Owner: make someone else Owner first.')
  }
}

export async function changeRole(deps: ServiceDeps, ctx: WorkspaceContext, userId: string, role: Role) {
  return deps.db.transaction().execute(async (trx) => {
    const target = await membershipsRepo.findMember(trx, ctx.workspace.id, userId)
    if (!target) throw notFound('member')
    guardOwnerRules(ctx, target, role)
    await guardLastOwner(trx, ctx.workspace.id, target, role)
    if (target.role !== role) {
      await membershipsRepo.setRole(trx, ctx.workspace.id, userId, role)
      const revokedKeys = await revokeKeysOfMember(trx, ctx.caller, ctx.workspace.id, userId, role)
      await audit.record(trx, ctx.caller, {
        workspaceId: ctx.workspace.id,
        action: 'member.role_changed',
        target: { type: 'user', id: userId },
        metadata: {
          email: target.email,
          from: target.role,
          to: role,
          ...(revokedKeys.length ? { revokedKeys: revokedKeys.length } : {}),
        },
      })
    }
    return memberView({ ...target, role })
  })
}

/** Removes a member (members.manage), or the caller themself when `self` is set (leaving). */
export async function removeMember(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  userId: string,
  opts: { self: boolean },
): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const target = await membershipsRepo.findMember(trx, ctx.workspace.id, userId)
    if (!target) throw notFound('member')
    if (!opts.self) guardOwnerRules(ctx, target, null)
    await guardLastOwner(trx, ctx.workspace.id, target, null)
    await membershipsRepo.deleteMembership(trx, ctx.workspace.id, userId)
    const revokedSessions = opts.self ? 0 : await sessionsRepo.deleteSessionsOfUser(trx, userId)
    const revokedKeys = await revokeKeysOfMember(trx, ctx.caller, ctx.workspace.id, userId, null)
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: opts.self ? 'member.left' : 'member.removed',
      target: { type: 'user', id: userId },
      metadata: {
        email: target.email,
        role: target.role,
        revokedSessions,
        ...(revokedKeys.length ? { revokedKeys: revokedKeys.length } : {}),
      },
    })
  })
}
