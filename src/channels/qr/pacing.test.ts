import { describe, expect, test } from 'bun:test'
import {
  DAY_MS,
  DEFAULT_QR_PACING,
  HOUR_MS,
  MINUTE_MS,
  QrPacer,
  WARMUP_DAILY_CAPS,
  capHold,
  dailyCapAt,
  mergePacing,
  qrPacingInput,
  type QrPacing,
} from './pacing.ts'

const T0 = Date.UTC(2025, 0, 1)
const pacing = (over: Partial<QrPacing> = {}): QrPacing => ({ ...DEFAULT_QR_PACING, ...over })

/**
 * Drives a pacer with a queue that is never empty: at each step it starts a send as soon as allowed and the send is
 * answered at once, then jumps the clock to the moment the pacer names. Returns the start times.
 */
function runFullQueue(pacer: QrPacer, from: number, until: number, answerMs = 0): number[] {
  const starts: number[] = []
  let now = from
  while (now < until) {
    const taken = pacer.take(now)
    if (taken.ok) {
      starts.push(now)
      now += answerMs
      pacer.done(now)
      continue
    }
    expect(taken.waitMs).toBeGreaterThan(0)
    expect(Number.isFinite(taken.waitMs)).toBe(true)
    now += taken.waitMs
  }
  return starts
}

/** Largest number of starts in any window of `windowMs` (a window (t - windowMs, t] ending at a start is the worst). */
function maxInWindow(starts: number[], windowMs: number): number {
  let most = 0
  let from = 0
  for (let i = 0; i < starts.length; i++) {
    while (starts[from]! <= starts[i]! - windowMs) from++
    most = Math.max(most, i - from + 1)
  }
  return most
}

const countBetween = (starts: number[], from: number, to: number) => starts.filter((t) => t >= from && t < to).length

describe('random pause between sends', () => {
  test('every gap between starts lies in [min, max] over 1,000 sends', () => {
    const settings = pacing({
      minDelayMs: 1000,
      maxDelayMs: 5000,
      perMinute: 60,
      perHour: 3600,
      perDay: 50_000,
      warmup: false,
    })
    const pacer = new QrPacer(settings, T0, [])
    const starts: number[] = []
    let now = T0
    while (starts.length < 1000) {
      const taken = pacer.take(now)
      if (taken.ok) {
        starts.push(now)
        pacer.done(now + 200)
        now += 200
      } else now += taken.waitMs
    }
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!)
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000)
    expect(Math.max(...gaps)).toBeLessThanOrEqual(5000)
    // Really random: the gaps spread over the range rather than sitting at one end.
    expect(Math.min(...gaps)).toBeLessThan(1500)
    expect(Math.max(...gaps)).toBeGreaterThan(4500)
  })

  test('random() = 0 gives exactly the minimum, random() ≈ 1 the maximum', () => {
    const settings = pacing({ minDelayMs: 3000, maxDelayMs: 9000 })
    const low = new QrPacer(settings, T0, [], () => 0)
    expect(low.take(T0)).toEqual({ ok: true })
    low.done(T0 + 100)
    expect(low.peek(T0 + 100)).toEqual({ ok: false, waitMs: 2900 })
    expect(low.peek(T0 + 3000)).toEqual({ ok: true })

    const high = new QrPacer(settings, T0, [], () => 0.999)
    high.take(T0)
    high.done(T0)
    const wait = high.peek(T0)
    expect(wait.ok).toBe(false)
    if (!wait.ok) {
      expect(wait.waitMs).toBeLessThanOrEqual(9000)
      expect(wait.waitMs).toBeGreaterThan(8990)
    }
    // Even a random() that returns 1 stays within the maximum.
    const one = new QrPacer(settings, T0, [], () => 1)
    one.take(T0)
    one.done(T0)
    expect(one.peek(T0)).toEqual({ ok: false, waitMs: 9000 })
  })

  test('peek is deterministic between takes, and the first send with no history starts at once', () => {
    const pacer = new QrPacer(pacing(), T0, [])
    expect(pacer.peek(T0)).toEqual({ ok: true })
    pacer.take(T0)
    pacer.done(T0 + 50)
    const first = pacer.peek(T0 + 100)
    for (let i = 0; i < 5; i++) expect(pacer.peek(T0 + 100)).toEqual(first)
  })
})

describe('caps over sliding windows', () => {
  test('three days of a full queue never exceed any cap, and reach each one', () => {
    const settings = pacing({
      minDelayMs: 1000,
      maxDelayMs: 2000,
      perMinute: 5,
      perHour: 40,
      perDay: 150,
      warmup: false,
    })
    const pacer = new QrPacer(settings, T0 - 30 * DAY_MS, [])
    const starts = runFullQueue(pacer, T0, T0 + 3 * DAY_MS, 300)
    expect(maxInWindow(starts, MINUTE_MS)).toBe(5)
    expect(maxInWindow(starts, HOUR_MS)).toBe(40)
    expect(maxInWindow(starts, DAY_MS)).toBe(150)
    // The daily cap is the one that binds over three days: it is used in full every day.
    expect(starts.length).toBe(450)
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!)
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000)
  })

  test('waitMs is exact: the send becomes possible exactly when the oldest start leaves the window', () => {
    const settings = pacing({ minDelayMs: 500, maxDelayMs: 500, perMinute: 3, warmup: false })
    const pacer = new QrPacer(settings, T0, [])
    for (const t of [T0, T0 + 1000, T0 + 2000]) {
      expect(pacer.take(t)).toEqual({ ok: true })
      pacer.done(t)
    }
    const held = pacer.peek(T0 + 3000)
    expect(held).toEqual({ ok: false, waitMs: MINUTE_MS - 3000 })
    expect(pacer.nextStartAt(T0 + 3000)).toEqual({ at: T0 + MINUTE_MS, reason: 'minute' })
    expect(pacer.peek(T0 + MINUTE_MS - 1).ok).toBe(false)
    expect(pacer.peek(T0 + MINUTE_MS)).toEqual({ ok: true })
  })

  test('history from before a restart is honoured', () => {
    const settings = pacing({
      minDelayMs: 1000,
      maxDelayMs: 1000,
      perMinute: 60,
      perHour: 20,
      perDay: 1000,
      warmup: false,
    })
    const now = T0 + 10 * HOUR_MS
    // 20 starts in the last hour, oldest 50 minutes ago, given in no particular order.
    const history = Array.from({ length: 20 }, (_, i) => now - 50 * MINUTE_MS + i * 2 * MINUTE_MS).reverse()
    const pacer = new QrPacer(settings, T0 - 30 * DAY_MS, history)
    const oldest = now - 50 * MINUTE_MS
    expect(pacer.peek(now)).toEqual({ ok: false, waitMs: oldest + HOUR_MS - now })
    expect(pacer.nextStartAt(now)).toEqual({ at: oldest + HOUR_MS, reason: 'hour' })
    expect(pacer.take(oldest + HOUR_MS)).toEqual({ ok: true })
    expect(capHold(history, settings, null, now)).toEqual({ until: oldest + HOUR_MS, reason: 'hour' })
  })

  test('the pause after the last send before a restart still applies', () => {
    const pacer = new QrPacer(pacing({ minDelayMs: 4000, maxDelayMs: 4000 }), T0 - 30 * DAY_MS, [T0 - 1000])
    expect(pacer.nextStartAt(T0)).toEqual({ at: T0 + 3000, reason: 'delay' })
  })

  test('history older than a day is pruned and no longer counts', () => {
    const settings = pacing({ minDelayMs: 500, maxDelayMs: 500, perDay: 5, warmup: false })
    const history = [0, 1, 2, 3, 4].map((i) => T0 + i * HOUR_MS)
    const pacer = new QrPacer(settings, T0 - 30 * DAY_MS, history)
    expect(pacer.nextStartAt(T0 + 5 * HOUR_MS)).toEqual({ at: T0 + DAY_MS, reason: 'day' })
    expect(pacer.peek(T0 + DAY_MS)).toEqual({ ok: true })
    expect(capHold(history, settings, null, T0 + DAY_MS + 4 * HOUR_MS + 1)).toBeNull()
  })
})

describe('warm-up of a newly linked number', () => {
  test('the daily cap follows the schedule, capped by perDay, then perDay from day 7', () => {
    const on = pacing({ perDay: 300 })
    expect(WARMUP_DAILY_CAPS.map((_, day) => dailyCapAt(on, T0, T0 + day * DAY_MS + 5))).toEqual([
      20, 40, 60, 100, 150, 250, 300,
    ])
    expect(dailyCapAt(on, T0, T0 + 7 * DAY_MS)).toBe(300)
    expect(dailyCapAt(on, null, T0 + 100 * DAY_MS)).toBe(20)
    expect(dailyCapAt(pacing({ perDay: 300, warmup: false }), T0, T0)).toBe(300)
    expect(dailyCapAt(pacing({ perDay: 10 }), T0, T0)).toBe(10)
  })

  test('a number linked now sends at most 20 on day 0, 40 on day 1, … and perDay from day 7', () => {
    const settings = pacing({
      minDelayMs: 500,
      maxDelayMs: 1500,
      perMinute: 60,
      perHour: 3600,
      perDay: 600,
      warmup: true,
    })
    const pacer = new QrPacer(settings, T0, [])
    const starts = runFullQueue(pacer, T0, T0 + 9 * DAY_MS)
    const perDay = Array.from({ length: 9 }, (_, day) =>
      countBetween(starts, T0 + day * DAY_MS, T0 + (day + 1) * DAY_MS),
    )
    expect(perDay).toEqual([...WARMUP_DAILY_CAPS, 600, 600])
    expect(
      maxInWindow(
        starts.filter((t) => t >= T0 + 7 * DAY_MS),
        DAY_MS,
      ),
    ).toBe(600)
  })

  test('warm-up off: perDay applies on day 0', () => {
    const settings = pacing({
      minDelayMs: 500,
      maxDelayMs: 500,
      perMinute: 60,
      perHour: 3600,
      perDay: 120,
      warmup: false,
    })
    const starts = runFullQueue(new QrPacer(settings, T0, []), T0, T0 + DAY_MS)
    expect(starts.length).toBe(120)
  })

  test("capHold says 'warmup' when the warm-up cap binds and 'day' when perDay does", () => {
    const history = Array.from({ length: 20 }, (_, i) => T0 + i * HOUR_MS)
    const now = T0 + 20 * HOUR_MS
    const loose = pacing({ perMinute: 60, perHour: 3600, perDay: 1000 })
    // Held until day 1 starts and the cap rises to 40, well before the oldest start leaves the day window.
    expect(capHold(history, loose, T0, now)).toEqual({ until: T0 + DAY_MS, reason: 'warmup' })
    expect(capHold(history, pacing({ ...loose, perDay: 20, warmup: false }), T0, now)).toEqual({
      until: T0 + DAY_MS,
      reason: 'day',
    })
    expect(capHold(history, pacing({ ...loose, perDay: 20 }), T0, now)).toEqual({ until: T0 + DAY_MS, reason: 'day' })
    expect(capHold(history, pacing({ ...loose, warmup: false }), T0, now)).toBeNull()
    // Not linked yet: the day-0 cap holds with no step-up to wait for, so until the oldest start leaves the day.
    expect(capHold(history, loose, null, now)).toEqual({ until: T0 + DAY_MS, reason: 'warmup' })
    expect(capHold([...history, T0 + 19.5 * HOUR_MS].slice(1), loose, null, now)).toEqual({
      until: T0 + HOUR_MS + DAY_MS,
      reason: 'warmup',
    })
  })
})

describe('one send at a time', () => {
  test('while a send is in flight nothing else may start; after done the pause counts from the start', () => {
    const pacer = new QrPacer(pacing({ minDelayMs: 3000, maxDelayMs: 3000 }), T0, [])
    expect(pacer.take(T0)).toEqual({ ok: true })
    expect(pacer.peek(T0 + 10_000)).toEqual({ ok: false, waitMs: Number.POSITIVE_INFINITY })
    expect(pacer.take(T0 + 10_000)).toEqual({ ok: false, waitMs: Number.POSITIVE_INFINITY })
    expect(pacer.nextStartAt(T0 + 10_000)).toEqual({ at: Number.POSITIVE_INFINITY, reason: 'in_flight' })

    // Answered quickly: the rest of the pause from the start still applies.
    const quick = new QrPacer(pacing({ minDelayMs: 3000, maxDelayMs: 3000 }), T0, [])
    quick.take(T0)
    quick.done(T0 + 1000)
    expect(quick.peek(T0 + 1000)).toEqual({ ok: false, waitMs: 2000 })
    expect(quick.nextStartAt(T0 + 1000)).toEqual({ at: T0 + 3000, reason: 'delay' })

    // Answered after the pause: the next may start at once.
    pacer.done(T0 + 10_000)
    expect(pacer.peek(T0 + 10_000)).toEqual({ ok: true })
    expect(pacer.nextStartAt(T0 + 10_000)).toBeNull()
  })

  test('cancel frees the slot without counting a send or starting a pause', () => {
    const settings = pacing({ minDelayMs: 3000, maxDelayMs: 3000, perMinute: 1, warmup: false })
    const pacer = new QrPacer(settings, T0, [])
    expect(pacer.take(T0)).toEqual({ ok: true })
    pacer.cancel()
    expect(pacer.peek(T0)).toEqual({ ok: true })
    // perMinute 1: had the cancelled send counted, this would be held for a minute.
    expect(pacer.take(T0 + 1)).toEqual({ ok: true })
    pacer.done(T0 + 2)
    expect(pacer.nextStartAt(T0 + 2)).toEqual({ at: T0 + 1 + MINUTE_MS, reason: 'minute' })
    // A cancel with nothing in flight changes nothing.
    pacer.cancel()
    expect(pacer.nextStartAt(T0 + 2)).toEqual({ at: T0 + 1 + MINUTE_MS, reason: 'minute' })
  })

  test('cancel restores the pause left by the previous send', () => {
    const pacer = new QrPacer(pacing({ minDelayMs: 3000, maxDelayMs: 3000 }), T0, [T0 - 5000])
    pacer.take(T0)
    pacer.cancel()
    expect(pacer.peek(T0)).toEqual({ ok: true })
  })
})

describe('nextStartAt', () => {
  test("names 'in_flight', 'delay', the cap that binds, or null", () => {
    const settings = pacing({
      minDelayMs: 2000,
      maxDelayMs: 2000,
      perMinute: 2,
      perHour: 3600,
      perDay: 1000,
      warmup: false,
    })
    const pacer = new QrPacer(settings, T0, [])
    expect(pacer.nextStartAt(T0)).toBeNull()
    pacer.take(T0)
    expect(pacer.nextStartAt(T0)).toEqual({ at: Number.POSITIVE_INFINITY, reason: 'in_flight' })
    pacer.done(T0 + 500)
    expect(pacer.nextStartAt(T0 + 500)).toEqual({ at: T0 + 2000, reason: 'delay' })
    pacer.take(T0 + 2000)
    pacer.done(T0 + 2100)
    expect(pacer.nextStartAt(T0 + 2100)).toEqual({ at: T0 + MINUTE_MS, reason: 'minute' })
    expect(pacer.nextStartAt(T0 + MINUTE_MS)).toBeNull()
  })

  test('reports the warm-up cap for a newly linked number', () => {
    const settings = pacing({ minDelayMs: 500, maxDelayMs: 500, perMinute: 60, perHour: 3600 })
    const history = Array.from({ length: 20 }, (_, i) => T0 + i * MINUTE_MS)
    const pacer = new QrPacer(settings, T0, history)
    expect(pacer.nextStartAt(T0 + HOUR_MS)).toEqual({ at: T0 + DAY_MS, reason: 'warmup' })
  })

  test('new settings apply at once; the pause already drawn is kept within the new bounds', () => {
    const pacer = new QrPacer(pacing({ minDelayMs: 9000, maxDelayMs: 9000, warmup: false }), T0, [])
    pacer.take(T0)
    pacer.done(T0)
    pacer.setSettings(pacing({ minDelayMs: 1000, maxDelayMs: 2000, warmup: false }), T0)
    expect(pacer.nextStartAt(T0)).toEqual({ at: T0 + 2000, reason: 'delay' })
    pacer.setSettings(pacing({ minDelayMs: 1000, maxDelayMs: 2000, perMinute: 1, warmup: false }), T0)
    expect(pacer.nextStartAt(T0)).toEqual({ at: T0 + MINUTE_MS, reason: 'minute' })
  })
})

describe('settings input', () => {
  const issues = (input: unknown) => {
    const parsed = qrPacingInput.safeParse(input)
    expect(parsed.success).toBe(false)
    return parsed.error!.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
  }

  test('accepts a partial patch and the defaults', () => {
    expect(qrPacingInput.parse({ perMinute: 5 })).toEqual({ perMinute: 5 })
    expect(qrPacingInput.parse({})).toEqual({})
    expect(qrPacingInput.parse(DEFAULT_QR_PACING)).toEqual(DEFAULT_QR_PACING)
    expect(qrPacingInput.parse({ minDelayMs: 500, maxDelayMs: 500 })).toEqual({ minDelayMs: 500, maxDelayMs: 500 })
  })

  test('refuses unknown fields', () => {
    const found = issues({ perMinute: 5, perSecond: 1 })
    expect(found).toHaveLength(1)
    expect(found[0]!.message).toContain('perSecond')
  })

  test('refuses out-of-range and wrongly typed values with the field path', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ minDelayMs: 499 }, 'minDelayMs'],
      [{ minDelayMs: 600_001 }, 'minDelayMs'],
      [{ maxDelayMs: 700_000 }, 'maxDelayMs'],
      [{ perMinute: 0 }, 'perMinute'],
      [{ perMinute: 61 }, 'perMinute'],
      [{ perMinute: 2.5 }, 'perMinute'],
      [{ perHour: 3601 }, 'perHour'],
      [{ perDay: 0 }, 'perDay'],
      [{ perDay: 50_001 }, 'perDay'],
      [{ warmup: 'yes' }, 'warmup'],
      [{ typing: 1 }, 'typing'],
      [{ perDay: '100' }, 'perDay'],
    ]
    for (const [input, path] of cases) {
      const found = issues(input)
      expect(found.map((i) => i.path)).toEqual([path])
      expect(found[0]!.message).toContain(path)
    }
  })

  test('refuses maxDelayMs below minDelayMs on maxDelayMs', () => {
    expect(issues({ minDelayMs: 5000, maxDelayMs: 4000 })).toEqual([
      { path: 'maxDelayMs', message: 'maxDelayMs must be at least minDelayMs' },
    ])
  })

  test('mergePacing applies the patch and refuses a merged maxDelayMs below minDelayMs', () => {
    const stored = pacing()
    expect(mergePacing(stored, { perDay: 50, maxDelayMs: undefined })).toEqual({ ...stored, perDay: 50 })
    expect(mergePacing(stored, { minDelayMs: 9000 })).toEqual({ ...stored, minDelayMs: 9000 })
    expect(() => mergePacing(stored, { minDelayMs: 10_000 })).toThrow(
      'maxDelayMs (9000) must be at least minDelayMs (10000)',
    )
    expect(() => mergePacing(stored, { maxDelayMs: 2000 })).toThrow(
      'maxDelayMs (2000) must be at least minDelayMs (3000)',
    )
    // The stored settings are not changed by a merge.
    expect(stored).toEqual(DEFAULT_QR_PACING)
  })
})
