/**
 * Time as a dependency: what time it is, and waking up later. Expiry, lockouts, rate limits, reconnect backoff and
 * retry timers all go through it, so tests can move time forward (testing/fixtures.ts manualClock) instead of
 * sleeping — and prove that something did *not* happen by advancing past the moment it would have.
 */
export type TimerHandle = { readonly id: number }

export type Clock = {
  now: () => number
  /** Calls `fn` once, `ms` from now (on this clock's time). */
  setTimeout: (fn: () => void, ms: number) => TimerHandle
  clearTimeout: (handle: TimerHandle | null | undefined) => void
}

const realTimers = new Map<number, ReturnType<typeof setTimeout>>()
let nextRealId = 1

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const id = nextRealId++
    realTimers.set(
      id,
      setTimeout(
        () => {
          realTimers.delete(id)
          fn()
        },
        Math.max(0, ms),
      ),
    )
    return { id }
  },
  clearTimeout(handle) {
    if (!handle) return
    const timer = realTimers.get(handle.id)
    if (timer !== undefined) clearTimeout(timer)
    realTimers.delete(handle.id)
  },
}

/** Resolves after `ms` of the clock's time. */
export const sleep = (clock: Clock, ms: number): Promise<void> =>
  new Promise((resolve) => void clock.setTimeout(resolve, ms))

export const iso = (ms: number): string => new Date(ms).toISOString()
