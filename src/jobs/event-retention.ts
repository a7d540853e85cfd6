import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { pruneEventsBefore } from '../events/events.repo.ts'
import type { Job } from './registry.ts'

/**
 * Events, finished webhook deliveries and their attempts older than --event-retention days are deleted: the live
 * stream's resume and the delivery log reach back that far, and message text in event payloads does not stay forever.
 * Pending deliveries stay (they are still owed) unless their endpoint is disabled: then they expire as failed.
 */
export function eventRetentionJob(deps: ServiceDeps, schedule: string): Job {
  return {
    name: 'event-retention',
    schedule,
    run: async () => {
      const now = deps.clock.now()
      const removed = await pruneEventsBefore(deps.db, iso(now - deps.config.eventRetention * 86_400_000), iso(now))
      deps.logger.info({ job: 'event-retention', ...removed }, 'old events and deliveries removed')
    },
  }
}
