/** The Cloud API's pace: at most `send_rate` messages per second per number (Meta's throughput limit). */
import type { PaceAnswer, SendPacer } from '../provider.ts'

/** Exact sliding window: at most `limit` events in any `windowMs`. */
export class SlidingWindow {
  private readonly times: number[] = []
  constructor(
    public limit: number,
    private readonly windowMs = 1000,
  ) {}
  /** Whether a slot is free at `now` (without taking it). */
  peek(now: number): PaceAnswer {
    while (this.times.length > 0 && this.times[0]! <= now - this.windowMs) this.times.shift()
    return this.times.length < this.limit ? { ok: true } : { ok: false, waitMs: this.times[0]! + this.windowMs - now }
  }
  /** Takes a slot at `now`, or returns how many ms until one frees up. */
  take(now: number): PaceAnswer {
    const free = this.peek(now)
    if (free.ok) this.times.push(now)
    return free
  }
}

/**
 * A channel's pace. Meta counts a send when it arrives, somewhere between the moment we start it and the moment
 * its answer comes back; so a send holds its slot in the one-second window from its start until one second
 * after its answer. Then no one-second window at Meta can hold more than `rate` of them, whatever the network
 * does — at the cost of the response time per slot (a 10 ms answer leaves 99% of the rate usable).
 * Starts are also spread: at most a twentieth of the rate in any 50 ms, so sends leave steadily rather than
 * in a burst that would queue up (and arrive bunched).
 */
export class Pacer implements SendPacer {
  private readonly finished: number[] = []
  private inFlight = 0
  private readonly spread = new SlidingWindow(1, 50)
  private rate = 1
  constructor(rate: number) {
    this.setRate(rate)
  }
  setRate(rate: number): void {
    this.rate = rate
    this.spread.limit = Math.max(1, Math.ceil(rate / 20))
  }
  /** Whether a send could start at `now`, without taking the slot; waitMs is Infinity while only an answer can free one. */
  peek(now: number): PaceAnswer {
    while (this.finished.length > 0 && this.finished[0]! <= now - 1000) this.finished.shift()
    if (this.inFlight + this.finished.length >= this.rate) {
      return { ok: false, waitMs: this.finished.length > 0 ? this.finished[0]! + 1000 - now : Number.POSITIVE_INFINITY }
    }
    return this.spread.peek(now)
  }
  take(now: number): PaceAnswer {
    const free = this.peek(now)
    if (!free.ok) return free
    this.spread.take(now)
    this.inFlight++
    return free
  }
  /** A slot was taken for a send that never started. */
  cancel(): void {
    this.inFlight = Math.max(0, this.inFlight - 1)
  }
  /** The answer to a started send came back (or it ended without one) at `now`. */
  done(now: number): void {
    this.inFlight = Math.max(0, this.inFlight - 1)
    this.finished.push(now)
  }
}
