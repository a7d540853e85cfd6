/**
 * Which master key belongs to a database. The database records the id of the key its sealed values are sealed
 * with (`master_keys`); `serve` starts only with that key. A valid but different key (another WABOX_MASTER_KEY,
 * a key file from another install) would start "ready" and then fail to open every credential, so it is refused
 * while any sealed value names a key that is not loaded — and a missing key file is never replaced by a new key
 * beside such values. A database with no sealed value takes whatever key it is given, and records it.
 */
import { existsSync } from 'node:fs'
import type { Db } from '../db/client.ts'
import { iso } from '../clock.ts'
import { loadMasterKey, type LoadedKey } from './keyfile.ts'
import * as repo from './master-keys.repo.ts'

export class MasterKeyError extends Error {
  override name = 'MasterKeyError'
}

const sealedSummary = (foreign: [string, number][]) => {
  const total = foreign.reduce((n, [, c]) => n + c, 0)
  return `${total} sealed credential${total === 1 ? '' : 's'} under master key ${foreign.map(([id]) => id).join(', ')}`
}

/**
 * Checks that `key` opens this database's sealed values and records it as the database's key. Throws
 * MasterKeyError (changing nothing) when sealed values name another key.
 */
export async function bindMasterKey(
  db: Db,
  key: Pick<LoadedKey, 'id' | 'fingerprint' | 'source'>,
  opts: { keyFile: string; at: number },
): Promise<void> {
  const rows = await repo.recorded(db)
  if (rows.length === 1 && rows[0]!.key_id === key.id) return
  const foreign = [...(await repo.sealedValuesByKey(db))].filter(([id]) => id !== key.id)
  if (foreign.length > 0) {
    const loaded = key.source === 'env' ? 'WABOX_MASTER_KEY' : opts.keyFile
    throw new MasterKeyError(
      `the database holds ${sealedSummary(foreign)}, but the key loaded from ${loaded} is ${key.id}: start wabox with the key that sealed them ` +
        `(its key file with --key-file, or WABOX_MASTER_KEY). If that key is lost, those credentials cannot be opened: restore a backup made ` +
        `with key ${key.id}, or start from a new data directory. Nothing was changed.`,
    )
  }
  await repo.replaceWith(db, key.id, key.fingerprint, iso(opts.at))
}

/**
 * The key given to this start — WABOX_MASTER_KEY, or the key file when it exists (its mode and size checked) —
 * or null when there is none yet. Read before the database is opened, so a bad key file changes nothing.
 */
export function readMasterKey(opts: { keyFile: string; envKey: string | undefined }): LoadedKey | null {
  if (opts.envKey === undefined && !existsSync(opts.keyFile)) return null
  return loadMasterKey({ keyFile: opts.keyFile, envKey: opts.envKey, create: false })
}

/**
 * The key `serve` runs with: the one it was given (readMasterKey), else a new key file — created only when the
 * database holds no sealed value (a new key beside them would leave them unreadable for good). Then bound.
 */
export async function keyForDatabase(
  db: Db,
  given: LoadedKey | null,
  opts: { keyFile: string; at: number },
): Promise<LoadedKey> {
  let key = given
  if (!key) {
    const sealed = [...(await repo.sealedValuesByKey(db))]
    if (sealed.length > 0) {
      throw new MasterKeyError(
        `the database holds ${sealedSummary(sealed)}, but ${opts.keyFile} does not exist and WABOX_MASTER_KEY is not set: put that key file back ` +
          `(or point --key-file at it, or set WABOX_MASTER_KEY). wabox does not create a new key beside sealed credentials: they would stay unreadable.`,
      )
    }
    key = loadMasterKey({ keyFile: opts.keyFile, envKey: undefined, create: true })
  }
  await bindMasterKey(db, key, opts)
  return key
}
