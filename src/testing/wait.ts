/** Bounded polling: waiting for something to become true without a fixed sleep. */

type Truthy<T> = Exclude<T, null | undefined | false | 0 | ''>

/**
 * Polls `check` (every 25 ms) until it returns a truthy value, and resolves with it; throws after `timeoutMs`
 * with `what` and the last value or error seen. For conditions outside the page (a Graph double's record,
 * a database row) and for measuring how soon something shows.
 */
export async function waitUntil<T>(what: string, check: () => T | Promise<T>, timeoutMs = 5_000): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value as Truthy<T>
      last = value
    } catch (err) {
      last = err
    }
    if (Date.now() >= deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
      )
    await Bun.sleep(25)
  }
}

/**
 * A guard for `Promise.race`: resolves with `value()` after `ms` — only if what it races has hung. Never a wait
 * in itself (a test that needs time to pass moves the clock or polls with waitUntil); its timer does not keep the
 * process alive.
 */
export function unlessSettledWithin<T>(ms: number, value: () => T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(value()), ms)
    timer.unref?.()
  })
}
