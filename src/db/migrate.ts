/**
 * Applies the static migration registry. A database that has a migration this binary does not know was
 * written by a newer wabox: refusing is the only safe answer, since running older code on it could corrupt it.
 */
import { type Kysely, sql } from 'kysely'
import { Migrator, type MigrationResultSet } from 'kysely/migration'
import { migrations } from '../../migrations/index.ts'

export const MIGRATION_TABLE = 'kysely_migration'

export class MigrationError extends Error {
  override name = 'MigrationError'
}

export type MigrationStatus = { name: string; appliedAt: string | null }[]

function migratorFor(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } })
}

/** Names of the migrations recorded as applied in the database (empty for a fresh one). */
export async function appliedMigrations(db: Kysely<any>): Promise<{ name: string; timestamp: string }[]> {
  const exists = await sql<{
    n: number
  }>`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ${MIGRATION_TABLE}`.execute(db)
  if (!exists.rows[0]?.n) return []
  const rows = await sql<{
    name: string
    timestamp: string
  }>`SELECT name, timestamp FROM kysely_migration ORDER BY name`.execute(db)
  return rows.rows
}

/** Throws MigrationError when the database holds migrations this binary does not know. */
export async function assertNoUnknownMigrations(db: Kysely<any>): Promise<void> {
  const unknown = (await appliedMigrations(db)).map((m) => m.name).filter((n) => !(n in migrations))
  if (unknown.length > 0) {
    throw new MigrationError(
      `the database was migrated by a newer wabox (unknown migrations: ${unknown.join(', ')}); run a wabox version that knows them`,
    )
  }
}

/** Applies pending migrations in order; a no-op when the schema is current. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  await assertNoUnknownMigrations(db)
  const { error, results } = (await migratorFor(db).migrateToLatest()) as MigrationResultSet
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new MigrationError(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`)
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/** Every known migration with the time it was applied, or null while pending. */
export async function migrationStatus(db: Kysely<any>): Promise<MigrationStatus> {
  const applied = new Map((await appliedMigrations(db)).map((m) => [m.name, m.timestamp]))
  return Object.keys(migrations)
    .sort()
    .map((name) => ({ name, appliedAt: applied.get(name) ?? null }))
}

/** The newest migration this binary knows: the schema version it writes into backup manifests. */
export function latestKnownMigration(): string {
  return Object.keys(migrations).sort().at(-1)!
}

export function isKnownMigration(name: string): boolean {
  return name in migrations
}

/** True when every known migration has been applied (readiness). */
export async function isSchemaCurrent(db: Kysely<any>): Promise<boolean> {
  const applied = new Set((await appliedMigrations(db)).map((m) => m.name))
  return Object.keys(migrations).every((n) => applied.has(n))
}
