import { runMaintenance, type DbHandle } from '../db/client.ts'
import type { Logger } from '../log.ts'
import type { Job } from './registry.ts'

/** Keeps the WAL short and the query planner's statistics fresh. */
export function sqliteMaintenanceJob(db: DbHandle, schedule: string, logger: Logger): Job {
  return {
    name: 'sqlite-maintenance',
    schedule,
    run: () => {
      const { walPages } = runMaintenance(db.sqlite)
      logger.info({ job: 'sqlite-maintenance', walPages }, 'sqlite maintenance done')
    },
  }
}
