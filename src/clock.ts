/** Time as a dependency, so expiry, lockouts and rate limits can be tested without waiting. */
export type Clock = { now: () => number }

export const systemClock: Clock = { now: () => Date.now() }

export const iso = (ms: number): string => new Date(ms).toISOString()
