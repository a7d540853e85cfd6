/**
 * Brute-force protection for sign-in, per account and per client IP. The first few failures are free;
 * after that each failure makes the next attempt wait twice as long; then the key is locked for a while.
 * Counters live in the database, so restarting the server does not reset them. Unknown emails are
 * counted exactly like real ones: the answers never tell whether an account exists.
 */
import type { Db } from '../db/client.ts'
import { iso } from '../clock.ts'
import * as throttleRepo from './login-throttle.repo.ts'

export type ThrottlePolicy = { freeFailures: number; lockAfter: number; lockMs: number; forgetAfterMs: number }

// Waits double per failure but stay well below forgetAfterMs, so patience alone never resets a counter.
const MAX_DELAY_MS = 30_000

export const ACCOUNT_POLICY: ThrottlePolicy = {
  freeFailures: 5,
  lockAfter: 10,
  lockMs: 15 * 60_000,
  forgetAfterMs: 15 * 60_000,
}
// Many people can share one address (offices, carrier NAT), so the IP allowance is larger.
export const IP_POLICY: ThrottlePolicy = {
  freeFailures: 20,
  lockAfter: 40,
  lockMs: 15 * 60_000,
  forgetAfterMs: 15 * 60_000,
}

export const accountKey = (email: string) => `account:${email.trim().toLowerCase()}`
export const ipKey = (ip: string) => `ip:${ip}`

/** Milliseconds until `key` may try again (0 = now). */
export async function waitFor(db: Db, key: string, now: number): Promise<number> {
  const row = await throttleRepo.findThrottle(db, key)
  if (!row?.blocked_until) return 0
  return Math.max(0, Date.parse(row.blocked_until) - now)
}

export type FailureResult = { failures: number; locked: boolean; blockedUntil: number | null }

/** Records one failure for `key`; `locked` is true on the failure that triggers the lock. */
export async function recordFailure(db: Db, key: string, policy: ThrottlePolicy, now: number): Promise<FailureResult> {
  const row = await throttleRepo.findThrottle(db, key)
  const recent = row && now - Date.parse(row.last_failure_at) < policy.forgetAfterMs
  const failures = (recent ? row.failures : 0) + 1
  let blockedUntil: number | null = null
  if (failures >= policy.lockAfter) blockedUntil = now + policy.lockMs
  else if (failures >= policy.freeFailures)
    blockedUntil = now + Math.min(MAX_DELAY_MS, 1000 * 2 ** (failures - policy.freeFailures))
  await throttleRepo.saveThrottle(db, key, failures, iso(now), blockedUntil === null ? null : iso(blockedUntil))
  return { failures, locked: failures === policy.lockAfter, blockedUntil }
}

export async function clear(db: Db, key: string): Promise<void> {
  await throttleRepo.clearThrottle(db, key)
}
