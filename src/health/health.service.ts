/** Liveness and readiness facts; no HTTP here. */
import { probeWritable, type DbHandle } from '../db/client.ts'
import { isSchemaCurrent } from '../db/migrate.ts'
import { open, seal, type Keyring } from '../crypto/envelope.ts'

export type Check = { ok: boolean; detail?: string }
export type Readiness = { ready: boolean; checks: { database: Check; migrations: Check; key: Check } }

const PROBE_CONTEXT = { workspaceId: '-', table: 'readiness', rowId: '-', column: '-' }

export async function checkReadiness(db: DbHandle, keyring: Keyring | undefined): Promise<Readiness> {
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
      key = open(keyring, seal(keyring, 'probe', PROBE_CONTEXT), PROBE_CONTEXT) === 'probe' ? { ok: true } : { ok: false, detail: 'key self-test failed' }
    } catch {
      key = { ok: false, detail: 'key self-test failed' }
    }
  }
  return { ready: database.ok && migrations.ok && key.ok, checks: { database, migrations, key } }
}
