/**
 * In-process rate limits over sliding windows. A profile is a set of windows (e.g. 3 per second, 20 per 10 s,
 * 100 per minute); a request passes only when, in every window, fewer than its limit of requests were admitted
 * in the last `seconds` — so no span of w seconds ever admits more than q, exactly what `RateLimit-Policy:
 * q;w=w` says. (Token buckets of capacity q refilling q per w admit up to 2q in some w-second span.)
 *
 * Each key keeps the times of its most recent admitted requests: at most the largest limit of them, none older
 * than the longest window. A key idle for that long has nothing left that counts and can be forgotten: that is
 * how memory stays bounded when an attacker rotates keys or IPs.
 */
import type { Clock } from '../clock.ts'

import type { Profile } from '../lib/rate-windows.ts'

export type Decision = {
  allowed: boolean
  /** The tightest window right now: what RateLimit-* headers describe. */
  limit: number
  remaining: number
  /** Seconds until that window's whole quota is back (0 when it counts nothing). */
  resetSeconds: number
  /** Seconds until the request would pass (only when refused). */
  retryAfterSeconds: number
}

/**
 * What a key was admitted: the times (ms, ascending) of its most recent admitted requests — as many as the
 * largest limit, none older than the longest window.
 */
type Log = { times: number[]; at: number }

export class RateLimiter {
  private readonly logs = new Map<string, Log>()
  private readonly idleMs: number
  private readonly keep: number

  constructor(
    readonly profile: Profile,
    private readonly clock: Clock,
    /** Hard cap on remembered keys; the least recently used are dropped first. */
    readonly maxKeys = 50_000,
  ) {
    this.idleMs = Math.max(...profile.windows.map((w) => w.seconds)) * 1000
    this.keep = Math.max(...profile.windows.map((w) => w.limit))
  }

  get size(): number {
    return this.logs.size
  }

  /** Admits one request for `key` when every window has room, or refuses it without counting it. */
  take(key: string): Decision {
    const now = this.clock.now()
    const windows = this.profile.windows
    let log = this.logs.get(key)
    if (log) {
      this.logs.delete(key) // re-inserted below: Map order doubles as least-recently-used order
      // Forget what no window can see any more (and what is beyond the largest limit).
      let drop = 0
      while (drop < log.times.length && (now - log.times[drop]! >= this.idleMs || log.times.length - drop > this.keep))
        drop++
      if (drop) log.times.splice(0, drop)
      log.at = now
    } else {
      // Full of keys that are all still counting: refuse the newcomer rather than forget an active key (forgetting
      // one would hand it a fresh quota — a flood of new keys or addresses must not reset anyone's limit).
      const waitMs = this.evict(now)
      if (waitMs > 0) return this.refusedWhileFull(waitMs)
      log = { times: [], at: now }
    }
    this.logs.set(key, log)

    const times = log.times
    // Per window: how many admitted requests it holds now, and when the oldest of them leaves it.
    const counts = windows.map((w) => countSince(times, now - w.seconds * 1000))
    const allowed = counts.every((n, i) => n < windows[i]!.limit)
    if (allowed) {
      times.push(now)
      for (let i = 0; i < counts.length; i++) counts[i]!++
    }
    // Refused: wait until, in every full window, enough admitted requests have left it for one more.
    let waitMs = 0
    if (!allowed) {
      windows.forEach((w, i) => {
        if (counts[i]! < w.limit) return
        const freeing = times[times.length - w.limit]! // the request whose leaving makes room
        waitMs = Math.max(waitMs, freeing + w.seconds * 1000 - now)
      })
    }
    // The window closest to running out describes the limit to the client.
    let tight = 0
    for (let i = 1; i < windows.length; i++)
      if (
        (windows[i]!.limit - counts[i]!) / windows[i]!.limit <
        (windows[tight]!.limit - counts[tight]!) / windows[tight]!.limit
      )
        tight = i
    const w = windows[tight]!
    const newestInWindow = counts[tight]! > 0 ? times[times.length - 1]! : now
    return {
      allowed,
      limit: w.limit,
      remaining: Math.max(0, w.limit - counts[tight]!),
      // The whole quota is back once the newest request it counts has left the window.
      resetSeconds: counts[tight]! > 0 ? Math.ceil((newestInWindow + w.seconds * 1000 - now) / 1000) : 0,
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(waitMs / 1000)),
    }
  }

  /**
   * Makes room for one more key by dropping logs idle for the longest window (nothing in them counts any more).
   * Returns 0 when there is room, else how long until the least recently used log goes idle.
   */
  private evict(now: number): number {
    if (this.logs.size < this.maxKeys) return 0
    for (const [key, l] of this.logs) {
      if (now - l.at < this.idleMs) break // the rest were used more recently
      this.logs.delete(key)
    }
    if (this.logs.size < this.maxKeys) return 0
    const oldest = this.logs.values().next().value
    return oldest ? Math.max(1, oldest.at + this.idleMs - now) : 0
  }

  private refusedWhileFull(waitMs: number): Decision {
    const w = this.profile.windows[0]!
    return {
      allowed: false,
      limit: w.limit,
      remaining: 0,
      resetSeconds: Math.ceil(waitMs / 1000),
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
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

/** How many of `times` (ascending) are after `since` (binary search: logs hold up to the largest limit). */
function countSince(times: number[], since: number): number {
  let lo = 0
  let hi = times.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (times[mid]! > since) hi = mid
    else lo = mid + 1
  }
  return times.length - lo
}
