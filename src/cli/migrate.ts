/** `wabox migrate status|up`: list the known migrations and when each was applied, or apply pending ones. */
import { join } from 'node:path'
import type { Config } from '../config.ts'
import { DB_FILE, openDatabase } from '../db/client.ts'
import { assertNoUnknownMigrations, migrateToLatest, migrationStatus } from '../db/migrate.ts'

export async function migrate(config: Config, action: 'status' | 'up', out: (line: string) => void): Promise<void> {
  const db = openDatabase(join(config.dataDir, DB_FILE))
  try {
    await assertNoUnknownMigrations(db.db)
    if (action === 'up') {
      const applied = await migrateToLatest(db.db)
      out(
        applied.length
          ? `applied ${applied.length} migration(s): ${applied.join(', ')}`
          : 'schema is current; nothing to apply',
      )
      return
    }
    const status = await migrationStatus(db.db)
    for (const m of status)
      out(`${m.appliedAt ? 'applied' : 'pending'}  ${m.name}${m.appliedAt ? `  ${m.appliedAt}` : ''}`)
    const pending = status.filter((m) => !m.appliedAt).length
    out(`${status.length - pending} applied, ${pending} pending`)
  } finally {
    await db.close()
  }
}
