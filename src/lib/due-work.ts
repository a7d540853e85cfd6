/**
 * A background worker that runs `step` until it reports no more work. `wake()` is cheap and coalesces:
 * a wake during a run schedules one more pass. `start()` adds a timer for work that comes due by itself
 * (retries with backoff); `stop()` waits for the current pass. With `health`, a pass that fails on storage is
 * reported as a write failure of this worker, and a pass that got work done clears it.
 */
import type { Logger } from '../log.ts'
import type { WriteHealth } from '../db/write-health.ts'

export class DueWorker {
  private running: Promise<void> | null = null
  private again = false
  private timer: ReturnType<typeof setInterval> | null = null

  constructor(
    private readonly name: string,
    /** Does one unit of work; returns how many items it handled (0 = nothing to do now). */
    private readonly step: () => Promise<number>,
    private readonly logger: Logger,
    private readonly health?: { record: WriteHealth; source: string },
  ) {}

  wake(): void {
    if (this.running) {
      this.again = true
      return
    }
    this.running = this.loop()
  }

  /** Runs until nothing is left to do now (tests and shutdown). */
  async drain(): Promise<void> {
    this.wake()
    while (this.running) await this.running
  }

  start(intervalMs: number): void {
    this.timer ??= setInterval(() => this.wake(), intervalMs)
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    while (this.running) await this.running
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false
        while ((await this.step()) > 0) {
          // keep going while there is work
          this.health?.record.succeeded(this.health.source)
        }
      } while (this.again)
    } catch (err) {
      this.health?.record.failed(this.health.source, err)
      this.logger.error({ err, worker: this.name }, 'background worker failed')
    } finally {
      this.running = null
    }
  }
}
