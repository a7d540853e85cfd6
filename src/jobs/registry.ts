/**
 * The scheduler: named node-cron jobs started by `serve` and stopped on shutdown. Each run is guarded so
 * a failing job logs its error and waits for its next turn instead of taking the server down.
 */
import cron, { type ScheduledTask } from 'node-cron'
import type { Logger } from '../log.ts'

export type Job = { name: string; schedule: string; run: () => Promise<void> | void }

export type Scheduler = { start: () => void; stop: () => Promise<void>; runNow: (name: string) => Promise<void> }

export function createScheduler(jobs: Job[], logger: Logger): Scheduler {
  const tasks: ScheduledTask[] = []
  const running = new Set<Promise<void>>()

  const execute = async (job: Job) => {
    const started = performance.now()
    try {
      await job.run()
      logger.debug({ job: job.name, durationMs: Math.round(performance.now() - started) }, 'job finished')
    } catch (err) {
      logger.error({ job: job.name, err }, 'job failed')
    }
  }
  const track = (job: Job) => {
    const p = execute(job)
    running.add(p)
    return p.finally(() => running.delete(p))
  }

  return {
    start() {
      for (const job of jobs) {
        tasks.push(cron.schedule(job.schedule, () => track(job), { name: job.name, noOverlap: true }))
      }
    },
    async stop() {
      for (const task of tasks) await task.stop()
      tasks.length = 0
      await Promise.all(running)
    },
    async runNow(name) {
      const job = jobs.find((j) => j.name === name)
      if (!job) throw new Error(`no job named ${name}`)
      await track(job)
    },
  }
}
