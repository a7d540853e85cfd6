import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { pruneEventsBefore } from '../events/events.repo.ts'
import type { Job } from './registry.ts'

/**
 * Events, finished webhook deliveries and their attempts older than --event-retention days are deleted: the live
 * stream's resume and the delivery log reach back that far, and message text in event payloads does not stay forever.
 * Pending deliveries stay whatever their age (they are still owed).
 */
export function eventRetentionJob(deps: ServiceDeps, schedule: string): Job {
  return {
    name: 'event-retention',
    schedule,
    run: async () => {
      const removed = await pruneEventsBefore(deps.db, iso(deps.clock.now() - deps.config.eventRetention * 86_400_000))
      deps.logger.info({ job: 'event-retention', ...removed }, 'old events and deliveries removed')
    },
  }
}
