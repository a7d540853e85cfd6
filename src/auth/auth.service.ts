/**
 * Sign-in, sign-out, password changes and `wabox operator reset-password` (the setup and `operator create` are
 * onboarding's).
 * No HTTP here: routes pass plain values and a Caller, and map the results to responses.
 */
import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { AppError } from '../lib/errors.ts'
import * as audit from '../audit/audit.service.ts'
import * as membershipsRepo from '../workspaces/memberships.repo.ts'
import type { Caller } from './principal.ts'
import { emailSchema, type UserView } from './auth.schema.ts'
import { burnVerification, hashPassword, verifyPassword } from './passwords.ts'
import { createSession } from './sessions.ts'
import * as throttle from './login-throttle.ts'
import * as usersRepo from './users.repo.ts'
import * as sessionsRepo from './sessions.repo.ts'
import * as throttleRepo from './login-throttle.repo.ts'

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
  await sessionsRepo.deleteSession(deps.db, sessionId)
}

export async function me(deps: ServiceDeps, userId: string) {
  const user = await usersRepo.findUserById(deps.db, userId)
  if (!user) throw new AppError(401, 'unauthenticated', 'Sign in first.')
  const memberships = await membershipsRepo.listMembershipsOfUser(deps.db, userId)
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
    const revokedSessions = await sessionsRepo.deleteSessionsOfUser(trx, userId, currentSessionId)
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
    const revokedSessions = await sessionsRepo.deleteSessionsOfUser(trx, user.id)
    await throttleRepo.clearThrottle(trx, throttle.accountKey(user.email))
    await audit.record(trx, caller, {
      workspaceId: null,
      action: 'user.password_reset',
      target: { type: 'user', id: user.id },
      metadata: { email: user.email, revokedSessions },
    })
    return { userId: user.id, revokedSessions }
  })
}
