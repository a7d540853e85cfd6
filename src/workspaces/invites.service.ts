/**
 * Invites: bound to one email and one role, single use, expiring; only the token's hash is stored and the
 * token is shown once (in the accept link). Accepting creates the account, or adds the membership to an
 * existing account after checking its password.
 */
import { z } from 'zod'
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { ServiceDeps } from '../deps.ts'
import type { Role } from '../auth/permissions.ts'
import type { Caller } from '../auth/principal.ts'
import { iso } from '../clock.ts'
import { hashToken, newId, randomToken } from '../crypto/tokens.ts'
import { AppError, notFound } from '../lib/errors.ts'
import * as audit from '../audit/audit.service.ts'
import * as usersRepo from '../auth/users.repo.ts'
import { hashPassword, passwordSchema } from '../auth/passwords.ts'
import { verifyCredentials } from '../auth/auth.service.ts'
import { createSession } from '../auth/sessions.ts'
import { decodeCursor, pageOf } from '../pagination.ts'
import { requireQuota } from './plans.ts'
import type { WorkspaceContext } from './workspace-context.ts'
import type { InvitesTable } from './workspaces.table.ts'
import * as invitesRepo from './invites.repo.ts'
import * as membershipsRepo from './memberships.repo.ts'

type InviteStatus = 'pending' | 'accepted' | 'revoked' | 'expired'

function statusOf(i: InvitesTable, now: number): InviteStatus {
  if (i.accepted_at) return 'accepted'
  if (i.revoked_at) return 'revoked'
  return Date.parse(i.expires_at) <= now ? 'expired' : 'pending'
}

const inviteView = (now: number) => (i: InvitesTable) => ({
  id: i.id,
  email: i.email,
  role: i.role,
  status: statusOf(i, now),
  createdAt: i.created_at,
  expiresAt: i.expires_at,
})

export const acceptUrl = (publicUrl: string, token: string) => `${publicUrl}/invite?token=${token}`

/**
 * Creates an invite inside the caller's transaction (workspace creation reuses it for the client's Owner).
 * A newer invite to the same email replaces older pending ones.
 */
export async function createInvite(
  deps: ServiceDeps,
  trx: Transaction<Database> | Kysely<Database>,
  ctx: WorkspaceContext,
  input: { email: string; role: Role; expiresInHours: number },
) {
  if (ctx.role !== 'owner' && input.role === 'owner')
    throw new AppError(403, 'cannot_grant_owner', 'Only an Owner can invite an Owner.')
  const now = ctx.caller.meta.at
  const existing = await usersRepo.findUserByEmail(trx, input.email)
  if (existing && (await membershipsRepo.findMembership(trx, ctx.workspace.id, existing.id))) {
    throw new AppError(409, 'already_member', `${input.email} is already a member of this workspace.`)
  }
  const replaced = await invitesRepo.listPendingInvitesFor(trx, ctx.workspace.id, input.email)
  for (const old of replaced) await invitesRepo.revokeInvite(trx, ctx.workspace.id, old.id, iso(now))
  const seats =
    (await membershipsRepo.countMembers(trx, ctx.workspace.id)) +
    (await invitesRepo.countPendingInvites(trx, ctx.workspace.id, iso(now)))
  requireQuota(deps.config.plans, ctx.workspace.plan, 'members', seats)

  const token = randomToken()
  const row: InvitesTable = {
    id: newId('inv'),
    workspace_id: ctx.workspace.id,
    email: input.email,
    role: input.role,
    token_hash: hashToken(token),
    invited_by: ctx.caller.actor.id,
    created_at: iso(now),
    expires_at: iso(now + input.expiresInHours * 3600_000),
    accepted_at: null,
    accepted_by: null,
    revoked_at: null,
  }
  await invitesRepo.insertInvite(trx, row)
  await audit.record(trx, ctx.caller, {
    workspaceId: ctx.workspace.id,
    action: 'invite.created',
    target: { type: 'invite', id: row.id },
    metadata: { email: input.email, role: input.role, expiresAt: row.expires_at, replaced: replaced.length },
  })
  return { invite: inviteView(now)(row), acceptUrl: acceptUrl(deps.config.publicUrl, token) }
}

export function inviteMember(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  input: { email: string; role: Role; expiresInHours: number },
) {
  return deps.db.transaction().execute((trx) => createInvite(deps, trx, ctx, input))
}

export async function listInvites(deps: ServiceDeps, ctx: WorkspaceContext, cursor: string | undefined, limit: number) {
  const before = decodeCursor(cursor, z.object({ c: z.string(), i: z.string() }))
  const rows = await invitesRepo.listInvites(deps.db, ctx.workspace.id, before, limit + 1)
  return pageOf(rows, limit, inviteView(deps.clock.now()), (i) => ({ c: i.created_at, i: i.id }))
}

export async function revokeInvite(deps: ServiceDeps, ctx: WorkspaceContext, inviteId: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const invite = await invitesRepo.findInvite(trx, ctx.workspace.id, inviteId)
    if (!invite) throw notFound('invite')
    if (invite.role === 'owner' && ctx.role !== 'owner')
      throw new AppError(403, 'owner_protected', 'Only an Owner can revoke an Owner invite.')
    if (!(await invitesRepo.revokeInvite(trx, ctx.workspace.id, inviteId, iso(ctx.caller.meta.at)))) {
      throw new AppError(409, 'invite_not_pending', `The invite is already ${statusOf(invite, ctx.caller.meta.at)}.`)
    }
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'invite.revoked',
      target: { type: 'invite', id: inviteId },
      metadata: { email: invite.email, role: invite.role },
    })
  })
}

async function usableInvite(deps: ServiceDeps, token: string, now: number) {
  const invite = await invitesRepo.findInviteByTokenHash(deps.db, hashToken(token))
  if (!invite) throw new AppError(404, 'invite_not_found', 'This invite link is not valid.')
  const status = statusOf(invite, now)
  if (status !== 'pending') {
    const words = { accepted: 'has already been used', revoked: 'has been revoked', expired: 'has expired' } as const
    throw new AppError(410, `invite_${status}`, `This invite ${words[status]}; ask for a new one.`)
  }
  return invite
}

/** What the accept page shows before the person signs up. */
export async function previewInvite(deps: ServiceDeps, token: string) {
  const invite = await usableInvite(deps, token, deps.clock.now())
  return { workspaceName: invite.workspace_name, email: invite.email, role: invite.role, expiresAt: invite.expires_at }
}

/** Accepts an invite: creates the account (or checks the existing one's password) and signs in. */
export async function acceptInvite(
  deps: ServiceDeps,
  caller: Caller,
  input: { token: string; email: string; password: string; name: string },
) {
  const now = caller.meta.at
  const invite = await usableInvite(deps, input.token, now)
  if (invite.email !== input.email) {
    throw new AppError(403, 'invite_email_mismatch', 'This invite was sent to a different email address.', [
      { field: 'email', message: 'does not match the invite' },
    ])
  }
  const existing = await usersRepo.findUserByEmail(deps.db, input.email)
  let newHash: string | null = null
  if (existing) {
    // The same brute-force protection (and audit) as signing in: an invite must not be a password oracle.
    await verifyCredentials(deps, caller, input.email, input.password)
  } else {
    const policy = passwordSchema.safeParse(input.password)
    if (!policy.success) {
      throw new AppError(
        422,
        'validation_failed',
        `Invalid request body: password — ${policy.error.issues[0]?.message}`,
        [{ field: 'password', message: policy.error.issues[0]?.message ?? 'invalid' }],
      )
    }
    newHash = await hashPassword(input.password)
  }
  return deps.db.transaction().execute(async (trx) => {
    const userId = existing?.id ?? newId('usr')
    // Claim the invite first: of concurrent accepts only one marks it, the others stop here with a clear
    // answer (and never race to create the same account).
    if (!(await invitesRepo.markInviteAccepted(trx, invite.workspace_id, invite.id, userId, iso(now)))) {
      throw new AppError(410, 'invite_accepted', 'This invite has already been used; ask for a new one.')
    }
    if (!existing) {
      // Another invite for this email may have created the account since we looked: its password was not checked.
      if (await usersRepo.findUserByEmail(trx, input.email)) {
        throw new AppError(
          409,
          'account_exists',
          'An account with this email was just created; accept again with its password.',
        )
      }
      await usersRepo.insertUser(trx, {
        id: userId,
        email: input.email,
        name: input.name,
        password_hash: newHash!,
        is_operator: 0,
        created_at: iso(now),
        password_changed_at: iso(now),
      })
    }
    if (await membershipsRepo.findMembership(trx, invite.workspace_id, userId)) {
      throw new AppError(409, 'already_member', 'You are already a member of this workspace.')
    }
    await membershipsRepo.insertMembership(trx, invite.workspace_id, userId, invite.role, iso(now))
    const actor = {
      ...caller,
      actor: { type: 'user' as const, id: userId, label: input.email, isOperator: existing?.is_operator === 1 },
    }
    await audit.record(trx, actor, {
      workspaceId: invite.workspace_id,
      action: 'invite.accepted',
      target: { type: 'invite', id: invite.id },
      metadata: { email: input.email, role: invite.role, newAccount: !existing },
    })
    const session = await createSession(trx, deps.clock, userId, caller.meta)
    return {
      user: {
        id: userId,
        email: input.email,
        name: existing?.name ?? input.name,
        isOperator: existing?.is_operator === 1,
      },
      workspaceId: invite.workspace_id,
      role: invite.role,
      token: session.token,
    }
  })
}
