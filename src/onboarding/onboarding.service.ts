/**
 * The first people and the first workspace: the one-time operator setup (its setup token included) and
 * `wabox operator create`. Onboarding stands above both domains it joins — it creates a user (auth) and a
 * workspace with its Owner (workspaces) in one transaction — so neither of them has to import the other.
 */
import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { AppError } from '../lib/errors.ts'
import { constantTimeEqual, hashToken, newId, randomToken } from '../crypto/tokens.ts'
import * as audit from '../audit/audit.service.ts'
import type { Caller } from '../auth/principal.ts'
import { hashPassword } from '../auth/passwords.ts'
import * as usersRepo from '../auth/users.repo.ts'
import { createWorkspaceRecord } from '../workspaces/workspaces.service.ts'
import * as instanceMeta from '../db/instance-meta.repo.ts'

export const SETUP_TOKEN_TTL_MS = 3600_000

/**
 * While no account exists, issues a fresh setup token (valid one hour, replacing any earlier one) and
 * returns it; once an account exists, removes any leftover token and returns null.
 */
export async function issueSetupToken(deps: ServiceDeps): Promise<string | null> {
  return deps.db.transaction().execute(async (trx) => {
    if ((await usersRepo.countUsers(trx)) > 0) {
      await instanceMeta.deleteSetupToken(trx)
      return null
    }
    const token = randomToken()
    const now = deps.clock.now()
    await instanceMeta.saveSetupToken(
      trx,
      { hash: hashToken(token), expiresAt: iso(now + SETUP_TOKEN_TTL_MS) },
      iso(now),
    )
    return token
  })
}

export async function setupRequired(deps: ServiceDeps): Promise<boolean> {
  return (await usersRepo.countUsers(deps.db)) === 0
}

export type SetupInput = { token: string; email: string; password: string; name: string; workspaceName: string }

/** Creates the operator, the first workspace and the Owner membership; consumes the setup token. */
export async function completeSetup(deps: ServiceDeps, caller: Caller, input: SetupInput) {
  const hash = await hashPassword(input.password)
  return deps.db.transaction().execute(async (trx) => {
    if ((await usersRepo.countUsers(trx)) > 0)
      throw new AppError(410, 'setup_complete', 'Setup is already complete; sign in instead.')
    const stored = await instanceMeta.readSetupToken(trx)
    if (!stored.hash || !constantTimeEqual(hashToken(input.token), stored.hash)) {
      throw new AppError(
        401,
        'invalid_setup_token',
        'The setup link is not valid; use the link printed by the latest start of the server.',
      )
    }
    if (Date.parse(stored.expiresAt ?? '') <= caller.meta.at) {
      throw new AppError(
        401,
        'setup_token_expired',
        'The setup link has expired; restart the server to print a new one.',
      )
    }
    const userId = newId('usr')
    await usersRepo.insertUser(trx, {
      id: userId,
      email: input.email,
      name: input.name,
      password_hash: hash,
      is_operator: 1,
      created_at: iso(caller.meta.at),
      password_changed_at: iso(caller.meta.at),
    })
    await instanceMeta.deleteSetupToken(trx)
    const actor = { ...caller, actor: { type: 'user' as const, id: userId, label: input.email, isOperator: true } }
    const workspace = await createWorkspaceRecord(trx, actor, {
      name: input.workspaceName,
      plan: deps.config.defaultPlan,
      ownerUserId: userId,
    })
    await audit.record(trx, actor, {
      workspaceId: workspace.id,
      action: 'instance.setup',
      target: { type: 'user', id: userId },
      metadata: { email: input.email },
    })
    return { user: { id: userId, email: input.email, name: input.name, isOperator: true }, workspace }
  })
}

/**
 * `wabox operator create`: makes `email` an instance operator, creating the account if needed. On an
 * instance with no account yet it also creates the first workspace, as the web setup would.
 */
export async function createOperator(
  deps: ServiceDeps,
  caller: Caller,
  input: { email: string; password: string; workspaceName: string },
) {
  const hash = await hashPassword(input.password)
  return deps.db.transaction().execute(async (trx) => {
    const first = (await usersRepo.countUsers(trx)) === 0
    const existing = await usersRepo.findUserByEmail(trx, input.email)
    if (existing) {
      await usersRepo.setOperator(trx, existing.id)
      await audit.record(trx, caller, {
        workspaceId: null,
        action: 'instance.operator_granted',
        target: { type: 'user', id: existing.id },
        metadata: { email: input.email },
      })
      return { userId: existing.id, created: false, workspaceId: null as string | null }
    }
    const userId = newId('usr')
    const at = iso(caller.meta.at)
    await usersRepo.insertUser(trx, {
      id: userId,
      email: input.email,
      name: '',
      password_hash: hash,
      is_operator: 1,
      created_at: at,
      password_changed_at: at,
    })
    await audit.record(trx, caller, {
      workspaceId: null,
      action: 'instance.operator_created',
      target: { type: 'user', id: userId },
      metadata: { email: input.email },
    })
    let workspaceId: string | null = null
    if (first) {
      await instanceMeta.deleteSetupToken(trx)
      workspaceId = (
        await createWorkspaceRecord(trx, caller, {
          name: input.workspaceName,
          plan: deps.config.defaultPlan,
          ownerUserId: userId,
        })
      ).id
    }
    return { userId, created: true, workspaceId }
  })
}
