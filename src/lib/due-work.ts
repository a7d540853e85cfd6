/**
 * A background worker that runs `step` until it reports no more work: the intake processor, the outbox sender,
 * the media downloader and the webhook dispatcher are each one. `wake()` is cheap and coalesces: a wake during a
 * run schedules one more pass. `wakeIn(ms)` asks for a pass later (the earliest request wins) for work that comes
 * due at a known time (a retry, a pacing slot); `start()` adds a periodic pass as a safety net; `stop()` cancels
 * the timers and waits for the current pass. Timers go through the clock, so tests move time instead of sleeping.
 * With `health`, a pass that fails on storage is reported as a write failure of this worker, and a pass that got
 * work done clears it.
 */
import type { Clock, TimerHandle } from '../clock.ts'
import type { Logger } from '../log.ts'
import type { WriteHealth } from '../db/write-health.ts'

export type DueWorkerOptions = {
  logger: Logger
  clock: Clock
  health?: { record: WriteHealth; source: string }
}

export class DueWorker {
  private running: Promise<void> | null = null
  private again = false
  private stopped = false
  private periodic: { handle: TimerHandle; intervalMs: number } | null = null
  private later: { handle: TimerHandle; at: number } | null = null

  constructor(
    private readonly name: string,
    /** Does one unit of work; returns how many items it handled (0 = nothing to do now). */
    private readonly step: () => Promise<number>,
    private readonly opts: DueWorkerOptions,
  ) {}

  wake(): void {
    if (this.running) {
      this.again = true
      return
    }
    this.running = this.loop()
  }

  /** A pass `ms` from now, unless one is already due sooner. Ignored once stopped, and for a wait of Infinity. */
  wakeIn(ms: number): void {
    if (this.stopped || !Number.isFinite(ms)) return
    const { clock } = this.opts
    const at = clock.now() + Math.max(0, ms)
    if (this.later && this.later.at <= at) return
    clock.clearTimeout(this.later?.handle)
    this.later = {
      at,
      handle: clock.setTimeout(
        () => {
          this.later = null
          this.wake()
        },
        Math.max(0, Math.ceil(ms)),
      ),
    }
  }

  /** Runs until nothing is left to do now (tests and shutdown). */
  async drain(): Promise<void> {
    this.wake()
    while (this.running) await this.running
  }

  /** A pass every `intervalMs` besides the wakes: work that came due while nobody woke the worker. */
  start(intervalMs: number): void {
    if (this.periodic) return
    this.stopped = false
    const tick = () => {
      if (!this.periodic) return
      this.periodic.handle = this.opts.clock.setTimeout(tick, intervalMs)
      this.wake()
    }
    this.periodic = { intervalMs, handle: this.opts.clock.setTimeout(tick, intervalMs) }
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.opts.clock.clearTimeout(this.periodic?.handle)
    this.opts.clock.clearTimeout(this.later?.handle)
    this.periodic = null
    this.later = null
    while (this.running) await this.running
  }

  private async loop(): Promise<void> {
    const { health } = this.opts
    try {
      do {
        this.again = false
        while ((await this.step()) > 0) {
          // keep going while there is work
          health?.record.succeeded(health.source)
        }
      } while (this.again)
    } catch (err) {
      health?.record.failed(health.source, err)
      this.opts.logger.error({ err, worker: this.name }, 'background worker failed')
    } finally {
      this.running = null
    }
  }
}
