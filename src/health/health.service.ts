/** Liveness and readiness facts; no HTTP here. */
import { probeWritable, type DbHandle } from '../db/client.ts'
import { isSchemaCurrent } from '../db/migrate.ts'
import { open, seal, type Keyring } from '../crypto/envelope.ts'
import type { WriteHealth } from '../db/write-health.ts'
import type { Clock } from '../clock.ts'

/** What readiness is read from: the database, the master key, and the clock that dates recent write failures. */
export type ReadinessSources = { db: DbHandle; keyring: Keyring | undefined; clock?: Clock }

export type Check = { ok: boolean; detail?: string }
export type Readiness = { ready: boolean; checks: { database: Check; migrations: Check; key: Check; writes: Check } }

const PROBE_CONTEXT = { workspaceId: '-', table: 'readiness', rowId: '-', column: '-' }

/** Real writes that failed on storage in the last seconds (the probe above rolls back, so it cannot see a full disk). */
export function writesCheck(health: WriteHealth | undefined, now = Date.now()): Check {
  const recent = health?.recent() ?? []
  if (recent.length === 0) return { ok: true }
  const ago = (at: number) => `${Math.max(0, Math.round((now - at) / 1000))} s ago`
  return { ok: false, detail: recent.map((f) => `${f.source}: ${f.detail} (${f.code}) ${ago(f.at)}`).join('; ') }
}

export async function checkReadiness(
  db: DbHandle,
  keyring: Keyring | undefined,
  health?: WriteHealth,
  now?: number,
): Promise<Readiness> {
  // Through Kysely's hold on the connection: a raw BEGIN while a request's transaction is open would fail.
  const database = await db.db.connection().execute(async () => probeWritable(db.sqlite))
  let migrations: Check
  try {
    migrations = (await isSchemaCurrent(db.db)) ? { ok: true } : { ok: false, detail: 'pending migrations' }
  } catch {
    migrations = { ok: false, detail: 'cannot read migration table' }
  }
  let key: Check = { ok: false, detail: 'no master key loaded' }
  if (keyring) {
    try {
      key =
        open(keyring, seal(keyring, 'probe', PROBE_CONTEXT), PROBE_CONTEXT) === 'probe'
          ? { ok: true }
          : { ok: false, detail: 'key self-test failed' }
    } catch {
      key = { ok: false, detail: 'key self-test failed' }
    }
  }
  const writes = writesCheck(health, now)
  return { ready: database.ok && migrations.ok && key.ok && writes.ok, checks: { database, migrations, key, writes } }
}
