/**
 * Sign-in, sign-out, password changes, the one-time operator setup, `wabox operator create` and `reset-password`.
 * No HTTP here: routes pass plain values and a Caller, and map the results to responses.
 */
import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { AppError } from '../lib/errors.ts'
import { constantTimeEqual, hashToken, newId, randomToken } from '../crypto/tokens.ts'
import * as audit from '../audit/audit.service.ts'
import * as workspacesRepo from '../workspaces/workspaces.repo.ts'
import { createWorkspaceRecord } from '../workspaces/workspaces.service.ts'
import type { Caller } from './principal.ts'
import { emailSchema, type UserView } from './auth.schema.ts'
import { burnVerification, hashPassword, verifyPassword } from './passwords.ts'
import { createSession } from './sessions.ts'
import * as throttle from './login-throttle.ts'
import * as usersRepo from './users.repo.ts'

export const SETUP_TOKEN_TTL_MS = 3600_000

const userView = (u: { id: string; email: string; name: string; is_operator: number }): UserView => ({
  id: u.id,
  email: u.email,
  name: u.name,
  isOperator: u.is_operator === 1,
})

function retryIn(ms: number): AppError {
  const seconds = Math.max(1, Math.ceil(ms / 1000))
  return new AppError(429, 'login_throttled', `Too many failed sign-ins; try again in ${seconds} s.`, undefined, {
    'retry-after': String(seconds),
  })
}

// One password check per account at a time: concurrent guesses cannot all slip past the counter
// before the first failure is recorded.
const accountLocks = new Map<string, Promise<unknown>>()
async function oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = accountLocks.get(key) ?? Promise.resolve()
  const run = previous.then(fn, fn)
  const settled = run.catch(() => {})
  accountLocks.set(key, settled)
  try {
    return await run
  } finally {
    if (accountLocks.get(key) === settled) accountLocks.delete(key)
  }
}

/**
 * Checks an email and password under brute-force protection (per account and per client IP), recording and
 * auditing each failure. Every path that accepts a password goes through here: sign-in, and joining a
 * workspace with an existing account.
 */
export async function verifyCredentials(deps: ServiceDeps, caller: Caller, email: string, password: string) {
  const keys = { account: throttle.accountKey(email), ip: throttle.ipKey(caller.meta.ip) }
  return oneAtATime(keys.account, async () => {
    const now = caller.meta.at
    const wait = Math.max(
      await throttle.waitFor(deps.db, keys.account, now),
      await throttle.waitFor(deps.db, keys.ip, now),
    )
    if (wait > 0) throw retryIn(wait)
    const user = await usersRepo.findUserByEmail(deps.db, email.trim())
    const ok = user ? await verifyPassword(password, user.password_hash) : await burnVerification(password)
    if (!user || !ok) {
      await deps.db.transaction().execute(async (trx) => {
        const account = await throttle.recordFailure(trx, keys.account, throttle.ACCOUNT_POLICY, now)
        const ip = await throttle.recordFailure(trx, keys.ip, throttle.IP_POLICY, now)
        // Only something shaped like an email is kept: people type passwords into the wrong field.
        const attempted = emailSchema.safeParse(email)
        const who = attempted.success ? { email: attempted.data } : { email: '(not an email address)' }
        await audit.record(trx, caller, {
          workspaceId: null,
          action: 'auth.login_failed',
          metadata: { ...who, failures: account.failures },
        })
        if (account.locked) {
          await audit.record(trx, caller, {
            workspaceId: null,
            action: 'auth.lockout',
            metadata: { scope: 'account', ...who, until: iso(account.blockedUntil!) },
          })
        }
        if (ip.locked) {
          await audit.record(trx, caller, {
            workspaceId: null,
            action: 'auth.lockout',
            metadata: { scope: 'ip', ip: caller.meta.ip, until: iso(ip.blockedUntil!) },
          })
        }
      })
      throw new AppError(401, 'invalid_credentials', 'The email or password is incorrect.')
    }
    await throttle.clear(deps.db, keys.account)
    return user
  })
}

/** Checks email + password under brute-force protection; returns the user and a new session token. */
export async function login(
  deps: ServiceDeps,
  caller: Caller,
  email: string,
  password: string,
): Promise<{ user: UserView; token: string }> {
  const user = await verifyCredentials(deps, caller, email, password)
  const { token } = await deps.db.transaction().execute(async (trx) => {
    const session = await createSession(trx, deps.clock, user.id, caller.meta)
    await audit.record(
      trx,
      { ...caller, actor: { type: 'user', id: user.id, label: user.email, isOperator: user.is_operator === 1 } },
      { workspaceId: null, action: 'auth.login', target: { type: 'user', id: user.id } },
    )
    return session
  })
  return { user: userView(user), token }
}

export async function logout(deps: ServiceDeps, sessionId: string): Promise<void> {
  await usersRepo.deleteSession(deps.db, sessionId)
}

export async function me(deps: ServiceDeps, userId: string) {
  const user = await usersRepo.findUserById(deps.db, userId)
  if (!user) throw new AppError(401, 'unauthenticated', 'Sign in first.')
  const memberships = await workspacesRepo.listMembershipsOfUser(deps.db, userId)
  return {
    ...userView(user),
    memberships: memberships.map((m) => ({ workspaceId: m.id, workspaceName: m.name, plan: m.plan, role: m.role })),
  }
}

/** Changes the password and signs out every other session of the user. */
export async function changePassword(
  deps: ServiceDeps,
  caller: Caller,
  userId: string,
  currentSessionId: string,
  current: string,
  next: string,
): Promise<{ revokedSessions: number }> {
  const user = await usersRepo.findUserById(deps.db, userId)
  if (!user || !(await verifyPassword(current, user.password_hash))) {
    throw new AppError(403, 'wrong_password', 'The current password is incorrect.')
  }
  const hash = await hashPassword(next)
  return deps.db.transaction().execute(async (trx) => {
    await usersRepo.setPassword(trx, userId, hash, iso(caller.meta.at))
    const revokedSessions = await usersRepo.deleteSessionsOfUser(trx, userId, currentSessionId)
    await audit.record(trx, caller, {
      workspaceId: null,
      action: 'user.password_changed',
      target: { type: 'user', id: userId },
      metadata: { revokedSessions },
    })
    return { revokedSessions }
  })
}

/**
 * `wabox operator reset-password`: a new password for the account (whoever asks on the server's own machine is
 * trusted), every session of it signed out, its sign-in lockout lifted; audited. Unknown email: 404.
 */
export async function resetPassword(
  deps: ServiceDeps,
  caller: Caller,
  input: { email: string; password: string },
): Promise<{ userId: string; revokedSessions: number }> {
  const hash = await hashPassword(input.password)
  return deps.db.transaction().execute(async (trx) => {
    const user = await usersRepo.findUserByEmail(trx, input.email)
    if (!user) throw new AppError(404, 'not_found', `No account has the email ${input.email}.`)
    await usersRepo.setPassword(trx, user.id, hash, iso(caller.meta.at))
    const revokedSessions = await usersRepo.deleteSessionsOfUser(trx, user.id)
    await usersRepo.clearThrottle(trx, throttle.accountKey(user.email))
    await audit.record(trx, caller, {
      workspaceId: null,
      action: 'user.password_reset',
      target: { type: 'user', id: user.id },
      metadata: { email: user.email, revokedSessions },
    })
    return { userId: user.id, revokedSessions }
  })
}

// ---- first start ---------------------------------------------------------------------------------

/**
 * While no account exists, issues a fresh setup token (valid one hour, replacing any earlier one) and
 * returns it; once an account exists, removes any leftover token and returns null.
 */
export async function issueSetupToken(deps: ServiceDeps): Promise<string | null> {
  return deps.db.transaction().execute(async (trx) => {
    if ((await usersRepo.countUsers(trx)) > 0) {
      await trx.deleteFrom('instance_meta').where('key', 'in', ['setup_token_hash', 'setup_token_expires_at']).execute()
      return null
    }
    const token = randomToken()
    const at = iso(deps.clock.now())
    for (const [key, value] of [
      ['setup_token_hash', hashToken(token)],
      ['setup_token_expires_at', iso(deps.clock.now() + SETUP_TOKEN_TTL_MS)],
    ] as const) {
      await trx
        .insertInto('instance_meta')
        .values({ key, value, updated_at: at })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: at }))
        .execute()
    }
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
    const meta = await trx
      .selectFrom('instance_meta')
      .select(['key', 'value'])
      .where('key', 'in', ['setup_token_hash', 'setup_token_expires_at'])
      .execute()
    const stored = Object.fromEntries(meta.map((m) => [m.key, m.value]))
    if (!stored.setup_token_hash || !constantTimeEqual(hashToken(input.token), stored.setup_token_hash)) {
      throw new AppError(
        401,
        'invalid_setup_token',
        'The setup link is not valid; use the link printed by the latest start of the server.',
      )
    }
    if (Date.parse(stored.setup_token_expires_at ?? '') <= caller.meta.at) {
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
    await trx.deleteFrom('instance_meta').where('key', 'in', ['setup_token_hash', 'setup_token_expires_at']).execute()
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
      await trx.deleteFrom('instance_meta').where('key', 'in', ['setup_token_hash', 'setup_token_expires_at']).execute()
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
