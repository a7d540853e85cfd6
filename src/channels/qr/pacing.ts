/**
 * Pacing for QR-linked numbers. WhatsApp bans an ordinary account that sends like a machine: too fast, too much,
 * or too much too soon after linking. So a QR channel sends like a person: one message at a time, a random pause
 * between two starts, caps per minute / hour / day over sliding windows, and a warm-up schedule that raises the
 * daily cap over the first week. Queued messages only wait; nothing here drops anything.
 *
 * QrPacer is this provider's SendPacer (provider.ts): the outbox sender paces every kind of channel the same way.
 */
import { z } from 'zod'
import type { PaceAnswer, SendPacer } from '../provider.ts'

export type QrPacing = {
  /** Pause between two send starts, drawn uniformly in [minDelayMs, maxDelayMs] so the rhythm is not regular. */
  minDelayMs: number
  maxDelayMs: number
  /** Caps on send starts over sliding windows of one minute, one hour and one day. */
  perMinute: number
  perHour: number
  perDay: number
  /** Follow the warm-up schedule (WARMUP_DAILY_CAPS) while the number is newly linked. */
  warmup: boolean
  /** Show "typing…" before a send; used by the provider, kept here so all pacing settings live together. */
  typing: boolean
}

export const DEFAULT_QR_PACING: QrPacing = {
  minDelayMs: 3000,
  maxDelayMs: 9000,
  perMinute: 10,
  perHour: 200,
  perDay: 1000,
  warmup: true,
  typing: true,
}

/** Daily caps on day 0..6 after linking; from day 7 the configured perDay applies. */
export const WARMUP_DAILY_CAPS: readonly number[] = [20, 40, 60, 100, 150, 250, 400]

export const MINUTE_MS = 60_000
export const HOUR_MS = 3_600_000
export const DAY_MS = 86_400_000

const whole = (field: string, min: number, max: number, unit = '') =>
  z
    .number({ error: `${field} must be a number` })
    .int(`${field} must be a whole number${unit}`)
    .min(min, `${field} must be at least ${min}${unit}`)
    .max(max, `${field} must be at most ${max}${unit}`)

const delayTooShort = (min: number, max: number) => `maxDelayMs (${max}) must be at least minDelayMs (${min})`

/** Partial pacing settings as the API accepts them. Unknown fields are refused so a typo does not silently do nothing. */
export const qrPacingInput: z.ZodType<Partial<QrPacing>> = z
  .object({
    minDelayMs: whole('minDelayMs', 500, 600_000, ' ms').optional(),
    maxDelayMs: whole('maxDelayMs', 500, 600_000, ' ms').optional(),
    perMinute: whole('perMinute', 1, 60).optional(),
    perHour: whole('perHour', 1, 3600).optional(),
    perDay: whole('perDay', 1, 50_000).optional(),
    warmup: z.boolean({ error: 'warmup must be true or false' }).optional(),
    typing: z.boolean({ error: 'typing must be true or false' }).optional(),
  })
  .strict()
  // Only checkable here when both come in the same request; mergePacing checks the combination with stored settings.
  .refine((p) => p.minDelayMs === undefined || p.maxDelayMs === undefined || p.maxDelayMs >= p.minDelayMs, {
    path: ['maxDelayMs'],
    message: 'maxDelayMs must be at least minDelayMs',
  })

/** Applies a validated patch to stored settings; throws when the result would have maxDelayMs below minDelayMs. */
export function mergePacing(stored: QrPacing, patch: Partial<QrPacing>): QrPacing {
  const merged: QrPacing = { ...stored }
  for (const key of Object.keys(patch) as (keyof QrPacing)[]) {
    const value = patch[key]
    // An explicit undefined means "not given", not "erase the stored value".
    if (value !== undefined) (merged as Record<keyof QrPacing, number | boolean>)[key] = value
  }
  if (merged.maxDelayMs < merged.minDelayMs) throw new Error(delayTooShort(merged.minDelayMs, merged.maxDelayMs))
  return merged
}

/** Whole days since linking; a clock behind linkedAt counts as day 0 rather than a negative day. */
const warmupDay = (linkedAt: number, now: number) => Math.max(0, Math.floor((now - linkedAt) / DAY_MS))

/** The daily cap at `now`: the warm-up cap of the day (capped by perDay) while warming up; not linked yet = day 0. */
export function dailyCapAt(settings: QrPacing, linkedAt: number | null, now: number): number {
  if (!settings.warmup) return settings.perDay
  const day = linkedAt === null ? 0 : warmupDay(linkedAt, now)
  const warm = WARMUP_DAILY_CAPS[day]
  return warm === undefined ? settings.perDay : Math.min(settings.perDay, warm)
}

export type CapReason = 'minute' | 'hour' | 'day' | 'warmup'
export type CapHold = { until: number; reason: CapReason }

/** Index of the first element of an ascending array that is > value. */
function firstAbove(sorted: readonly number[], value: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]! <= value) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Earliest t >= now at which one more start fits in the window (fewer than cap(t) starts in (t - windowMs, t]).
 * Later starts are not counted: nothing starts while a send is held. The count only falls and (with warm-up) the cap
 * only rises as t grows, so the answer is the first candidate that fits: a start leaving the window, or the cap rising.
 */
function windowFreeAt(
  sorted: readonly number[],
  windowMs: number,
  now: number,
  capAt: (t: number) => number,
  capRises: readonly number[],
): number {
  const countAt = (t: number) => sorted.length - firstAbove(sorted, t - windowMs)
  if (countAt(now) < capAt(now)) return now
  const first = firstAbove(sorted, now - windowMs)
  let r = first
  let b = 0
  while (b < capRises.length && capRises[b]! <= now) b++
  for (;;) {
    const leave = r < sorted.length ? sorted[r]! + windowMs : Number.POSITIVE_INFINITY
    const rise = b < capRises.length ? capRises[b]! : Number.POSITIVE_INFINITY
    const t = Math.min(leave, rise)
    // Unreachable with a positive cap (the window empties eventually), kept so a bad cap cannot loop forever.
    if (t === Number.POSITIVE_INFINITY) return t
    if (t === leave) r++
    else b++
    if (countAt(t) < capAt(t)) return t
  }
}

/** Moments after linking when the warm-up daily cap steps up (start of each warm-up day and of day 7). */
function warmupSteps(settings: QrPacing, linkedAt: number | null): number[] {
  if (!settings.warmup || linkedAt === null) return []
  return WARMUP_DAILY_CAPS.map((_, day) => linkedAt + (day + 1) * DAY_MS)
}

function capHoldSorted(
  sorted: readonly number[],
  settings: QrPacing,
  linkedAt: number | null,
  now: number,
): CapHold | null {
  const holds: CapHold[] = [
    { reason: 'minute', until: windowFreeAt(sorted, MINUTE_MS, now, () => settings.perMinute, []) },
    { reason: 'hour', until: windowFreeAt(sorted, HOUR_MS, now, () => settings.perHour, []) },
  ]
  const dayUntil = windowFreeAt(
    sorted,
    DAY_MS,
    now,
    (t) => dailyCapAt(settings, linkedAt, t),
    warmupSteps(settings, linkedAt),
  )
  holds.push({ reason: dailyCapAt(settings, linkedAt, now) < settings.perDay ? 'warmup' : 'day', until: dayUntil })
  // Every cap must allow the send, and none loosens again once it allows (nothing starts meanwhile): the latest one binds.
  let binding: CapHold | null = null
  for (const hold of holds) if (hold.until > now && (binding === null || hold.until > binding.until)) binding = hold
  return binding
}

/** Why and until when the caps hold a send back, from the send history (ms timestamps of send starts in the last 24 h, any order). */
export function capHold(history: number[], settings: QrPacing, linkedAt: number | null, now: number): CapHold | null {
  const recent = history.filter((t) => t > now - DAY_MS).sort((a, b) => a - b)
  return capHoldSorted(recent, settings, linkedAt, now)
}

export type NextStart = { at: number; reason: 'delay' | CapReason | 'in_flight' }

export class QrPacer implements SendPacer {
  /** Send starts (history and sends taken since), ascending, pruned to the last 24 h. */
  private readonly starts: number[]
  /** The earliest start allowed by the random pause after the last start. */
  private delayUntil = Number.NEGATIVE_INFINITY
  private inFlight: { start: number; delayUntilBefore: number } | null = null
  private settings: QrPacing
  private linkedAt: number | null

  constructor(
    settings: QrPacing,
    linkedAt: number | null,
    history: number[],
    private readonly random: () => number = Math.random,
  ) {
    this.settings = settings
    this.linkedAt = linkedAt
    this.starts = [...history].sort((a, b) => a - b)
    // A restart must not skip the pause after the last send made before it.
    const last = this.starts.at(-1)
    if (last !== undefined) this.delayUntil = last + this.drawDelay()
  }

  setSettings(settings: QrPacing, linkedAt: number | null): void {
    this.settings = settings
    this.linkedAt = linkedAt
    // Keep the pause already drawn, only brought within the new bounds (no redraw, so peek stays predictable).
    const last = this.starts.at(-1)
    if (last !== undefined && this.delayUntil > Number.NEGATIVE_INFINITY) {
      const drawn = this.delayUntil - last
      this.delayUntil = last + Math.min(settings.maxDelayMs, Math.max(settings.minDelayMs, drawn))
    }
  }

  peek(now: number): PaceAnswer {
    const next = this.nextStartAt(now)
    if (next === null) return { ok: true }
    return { ok: false, waitMs: next.reason === 'in_flight' ? Number.POSITIVE_INFINITY : next.at - now }
  }

  take(now: number): PaceAnswer {
    const free = this.peek(now)
    if (!free.ok) return free
    this.inFlight = { start: now, delayUntilBefore: this.delayUntil }
    this.starts.splice(firstAbove(this.starts, now), 0, now)
    // Drawn now rather than at peek, so peek gives the same answer until the next take.
    this.delayUntil = now + this.drawDelay()
    return free
  }

  done(_now: number): void {
    // The pause counts from the start, which take already recorded; finishing only frees the one-at-a-time slot.
    this.inFlight = null
  }

  cancel(): void {
    if (this.inFlight === null) return
    const { start, delayUntilBefore } = this.inFlight
    const at = this.starts.lastIndexOf(start)
    if (at >= 0) this.starts.splice(at, 1)
    this.delayUntil = delayUntilBefore
    this.inFlight = null
  }

  /** When the next send could start if one were queued now (for the send API to say a message is deferred); null = now. */
  nextStartAt(now: number): NextStart | null {
    // A send in flight: only its answer frees the slot, so there is no time to give.
    if (this.inFlight !== null) return { at: Number.POSITIVE_INFINITY, reason: 'in_flight' }
    this.prune(now)
    const cap = capHoldSorted(this.starts, this.settings, this.linkedAt, now)
    // A cap holding at least as long as the pause is the more useful reason to report.
    if (cap !== null && cap.until >= this.delayUntil) return { at: cap.until, reason: cap.reason }
    if (this.delayUntil > now) return { at: this.delayUntil, reason: 'delay' }
    return null
  }

  private prune(now: number): void {
    const keepFrom = firstAbove(this.starts, now - DAY_MS)
    if (keepFrom > 0) this.starts.splice(0, keepFrom)
  }

  private drawDelay(): number {
    const { minDelayMs, maxDelayMs } = this.settings
    // Whole milliseconds, each value in [min, max] equally likely; the clamp guards a random() that returns 1.
    return Math.min(maxDelayMs, minDelayMs + Math.floor(this.random() * (maxDelayMs - minDelayMs + 1)))
  }
}
