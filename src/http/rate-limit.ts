/**
 * In-process token buckets. A profile is a set of windows (e.g. 3 per second, 20 per 10 s, 100 per
 * minute); a request passes only when every window has a token, and then takes one from each. Buckets
 * refill continuously, so a bucket untouched for its longest window is full again and can be forgotten:
 * that is how memory stays bounded when an attacker rotates keys or IPs.
 */
import { z } from 'zod'
import type { Clock } from '../clock.ts'

export type Window = { limit: number; seconds: number }
export type Profile = { name: string; windows: Window[] }

/** Parses "3/1s,20/10s,100/60s" (also accepts m for minutes). */
export const profileSpec = z
  .string()
  .transform((spec, ctx) => {
    const windows: Window[] = []
    for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
      const m = part.match(/^(\d+)\/(\d+)(s|m)$/)
      const limit = Number(m?.[1])
      const seconds = Number(m?.[2]) * (m?.[3] === 'm' ? 60 : 1)
      if (!m || limit < 1 || seconds < 1) {
        ctx.addIssue({ code: 'custom', message: `"${part}" is not LIMIT/WINDOW like 20/10s or 100/1m` })
        return z.NEVER
      }
      windows.push({ limit, seconds })
    }
    if (windows.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'needs at least one LIMIT/WINDOW' })
      return z.NEVER
    }
    return windows.sort((a, b) => a.seconds - b.seconds)
  })

export type Decision = {
  allowed: boolean
  /** The tightest window right now: what RateLimit-* headers describe. */
  limit: number
  remaining: number
  /** Seconds until that window has a token again (0 when it has one). */
  resetSeconds: number
  /** Seconds until the request would pass (only when refused). */
  retryAfterSeconds: number
}

type Bucket = { tokens: number[]; at: number }

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly idleMs: number

  constructor(
    readonly profile: Profile,
    private readonly clock: Clock,
    /** Hard cap on remembered keys; the least recently used are dropped first. */
    readonly maxKeys = 50_000,
  ) {
    this.idleMs = Math.max(...profile.windows.map((w) => w.seconds)) * 1000
  }

  get size(): number {
    return this.buckets.size
  }

  /** Takes one token for `key` from every window, or refuses without taking any. */
  take(key: string): Decision {
    const now = this.clock.now()
    const windows = this.profile.windows
    let bucket = this.buckets.get(key)
    if (bucket) {
      this.buckets.delete(key) // re-inserted below: Map order doubles as least-recently-used order
      const elapsed = (now - bucket.at) / 1000
      bucket.tokens = bucket.tokens.map((t, i) => Math.min(windows[i]!.limit, t + (elapsed * windows[i]!.limit) / windows[i]!.seconds))
      bucket.at = now
    } else {
      bucket = { tokens: windows.map((w) => w.limit), at: now }
      this.evict(now)
    }
    this.buckets.set(key, bucket)

    const allowed = bucket.tokens.every((t) => t >= 1)
    if (allowed) bucket.tokens = bucket.tokens.map((t) => t - 1)
    const waits = bucket.tokens.map((t, i) => (t >= 1 ? 0 : ((1 - t) * windows[i]!.seconds) / windows[i]!.limit))
    // The window closest to running out describes the limit to the client.
    let tight = 0
    for (let i = 1; i < windows.length; i++) if (bucket.tokens[i]! / windows[i]!.limit < bucket.tokens[tight]! / windows[tight]!.limit) tight = i
    return {
      allowed,
      limit: windows[tight]!.limit,
      remaining: Math.max(0, Math.floor(bucket.tokens[tight]!)),
      resetSeconds: Math.ceil(((windows[tight]!.limit - bucket.tokens[tight]!) * windows[tight]!.seconds) / windows[tight]!.limit),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(Math.max(...waits))),
    }
  }

  /** Drops buckets that have been idle long enough to be full again, then the oldest if still over the cap. */
  private evict(now: number): void {
    if (this.buckets.size < this.maxKeys) return
    for (const [key, b] of this.buckets) {
      if (now - b.at < this.idleMs) break // the rest were used more recently
      this.buckets.delete(key)
    }
    while (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next().value
      if (oldest === undefined) break
      this.buckets.delete(oldest)
    }
  }

  /** The RateLimit-* and Retry-After headers for a decision (IETF draft "RateLimit header fields"). */
  headers(d: Decision): Record<string, string> {
    const h: Record<string, string> = {
      'ratelimit-limit': String(d.limit),
      'ratelimit-remaining': String(d.remaining),
      'ratelimit-reset': String(d.resetSeconds),
      'ratelimit-policy': this.profile.windows.map((w) => `${w.limit};w=${w.seconds}`).join(', '),
    }
    if (!d.allowed) h['retry-after'] = String(d.retryAfterSeconds)
    return h
  }
}
