/**
 * Backup and restore of a data directory.
 *
 * An archive is a gzip'd tar holding `manifest.json` and the database snapshot (`wabox.db`). The snapshot is
 * taken with `VACUUM INTO`, which reads inside one transaction: consistent, and it never blocks a running
 * server's writers (WAL). The manifest records the wabox version, schema version, the master key's fingerprint
 * (never the key: an archive alone must not open the sealed credentials) and the SHA-256 of every part.
 *
 * Restore checks everything before it touches the data directory, holds the data directory's lock while it
 * swaps files, and moves what it replaces into `replaced-<time>/` instead of deleting it.
 */
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync, chmodSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { z } from 'zod'
import { VERSION } from '../config.ts'
import { keyFingerprint, loadMasterKey, readKeyFile } from '../crypto/keyfile.ts'
import { acquireLock, lockHolder } from './lock.ts'
import { isKnownMigration } from './migrate.ts'

import { DB_FILE } from './client.ts'
const MANIFEST = 'manifest.json'
const FORMAT = 'wabox-backup'

export class BackupError extends Error {
  override name = 'BackupError'
}

const manifestSchema = z.object({
  format: z.literal(FORMAT),
  formatVersion: z.literal(1),
  waboxVersion: z.string(),
  schemaVersion: z.string(),
  keyFingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  parts: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() })),
})
export type Manifest = z.infer<typeof manifestSchema>

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')
const short = (fp: string) => fp.slice(0, 12)

type Progress = (line: string) => void

/** Migration names recorded in a database file (the last one is its schema version). */
function migrationsIn(sqlite: BetterSqlite3.Database): string[] {
  const table = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'").get()
  if (!table) return []
  return (sqlite.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as { name: string }[]).map((r) => r.name)
}

export type BackupResult = { file: string; archiveBytes: number; databaseBytes: number; schemaVersion: string; keyFingerprint: string; durationMs: number }

/** Writes a consistent archive of the data directory's database to `file` (atomically: temp file + rename). */
export async function createBackup(opts: {
  dataDir: string
  keyFile: string
  envKey: string | undefined
  file: string
  progress: Progress
}): Promise<BackupResult> {
  const started = performance.now()
  const dbPath = join(opts.dataDir, DB_FILE)
  if (!existsSync(dbPath)) throw new BackupError(`no database at ${dbPath}: nothing to back up`)
  const key = loadMasterKey({ keyFile: opts.keyFile, envKey: opts.envKey, create: false })
  mkdirSync(dirname(opts.file), { recursive: true })
  const snapshotPath = `${opts.file}.${process.pid}.snapshot.db`
  const partialPath = `${opts.file}.${process.pid}.partial`
  try {
    opts.progress(`snapshotting ${dbPath}`)
    const source = new BetterSqlite3(dbPath, { fileMustExist: true })
    let schema: string[]
    try {
      source.pragma('busy_timeout = 10000')
      schema = migrationsIn(source)
      source.prepare('VACUUM INTO ?').run(snapshotPath)
    } finally {
      source.close()
    }
    const data = new Uint8Array(await Bun.file(snapshotPath).arrayBuffer())
    opts.progress(`snapshot taken: ${data.length} bytes; checksumming and compressing`)
    const manifest: Manifest = {
      format: FORMAT,
      formatVersion: 1,
      waboxVersion: VERSION,
      schemaVersion: schema.at(-1) ?? '(empty)',
      keyFingerprint: key.fingerprint,
      createdAt: new Date().toISOString(),
      parts: { [DB_FILE]: { sha256: sha256(data), bytes: data.length } },
    }
    await Bun.Archive.write(partialPath, { [MANIFEST]: JSON.stringify(manifest, null, 2), [DB_FILE]: data }, { compress: 'gzip' })
    renameSync(partialPath, opts.file)
    return {
      file: opts.file,
      archiveBytes: statSync(opts.file).size,
      databaseBytes: data.length,
      schemaVersion: manifest.schemaVersion,
      keyFingerprint: key.fingerprint,
      durationMs: Math.round(performance.now() - started),
    }
  } finally {
    rmSync(snapshotPath, { force: true })
    rmSync(partialPath, { force: true })
  }
}

/** Reads and verifies an archive in memory: manifest shape, exact parts, checksums, known schema. */
export async function readArchive(file: string): Promise<{ manifest: Manifest; database: Uint8Array }> {
  if (!existsSync(file)) throw new BackupError(`archive ${file} does not exist`)
  let files: Map<string, File>
  try {
    files = await new Bun.Archive(await Bun.file(file).bytes()).files()
  } catch {
    throw new BackupError(`${file} is not a readable wabox backup archive (damaged or not a .tar.gz)`)
  }
  const manifestFile = files.get(MANIFEST)
  if (!manifestFile) throw new BackupError(`${file} is not a wabox backup archive (no ${MANIFEST})`)
  let manifest: Manifest
  try {
    manifest = manifestSchema.parse(JSON.parse(await manifestFile.text()))
  } catch {
    throw new BackupError(`${file} has an invalid ${MANIFEST}`)
  }
  const expected = new Set([MANIFEST, ...Object.keys(manifest.parts)])
  for (const name of files.keys()) {
    if (!expected.has(name)) throw new BackupError(`${file} contains an unexpected entry "${name}"`)
  }
  const dbPart = manifest.parts[DB_FILE]
  const dbFile = files.get(DB_FILE)
  if (!dbPart || !dbFile) throw new BackupError(`${file} holds no ${DB_FILE}`)
  const database = new Uint8Array(await dbFile.arrayBuffer())
  if (database.length !== dbPart.bytes || sha256(database) !== dbPart.sha256) {
    throw new BackupError(`${DB_FILE} in ${file} does not match its checksum: the archive is damaged`)
  }
  if (!isKnownMigration(manifest.schemaVersion)) {
    throw new BackupError(
      `the archive's schema (${manifest.schemaVersion}, wabox ${manifest.waboxVersion}) is newer than this binary knows (wabox ${VERSION})`,
    )
  }
  return { manifest, database }
}

export type RestoreResult = { dataDir: string; movedAsideTo: string | null; schemaVersion: string; keyInstalled: boolean; databaseBytes: number }

/**
 * Restores `file` into `dataDir`. The key that will open the restored credentials must be the archive's:
 * WABOX_MASTER_KEY, an explicit key file (installed into the data directory), or the data directory's own.
 */
export async function restoreBackup(opts: {
  dataDir: string
  file: string
  /** --key-file given on the command line: installed as the data directory's key after the restore. */
  explicitKeyFile: string | undefined
  keyFile: string
  envKey: string | undefined
  progress: Progress
}): Promise<RestoreResult> {
  const holder = lockHolder(opts.dataDir)
  if (holder !== null) throw new BackupError(`a wabox server (pid ${holder}) is running on ${opts.dataDir}; stop it before restoring`)

  opts.progress(`verifying ${opts.file}`)
  const { manifest, database } = await readArchive(opts.file)
  opts.progress(`archive ok: wabox ${manifest.waboxVersion}, schema ${manifest.schemaVersion}, ${database.length} bytes, key ${short(manifest.keyFingerprint)}`)

  const dataKeyFile = join(opts.dataDir, 'master.key')
  let installKeyFrom: string | null = null
  let keySource: string
  let fingerprint: string
  if (opts.envKey !== undefined) {
    fingerprint = loadMasterKey({ keyFile: opts.keyFile, envKey: opts.envKey, create: false }).fingerprint
    keySource = 'WABOX_MASTER_KEY'
  } else if (opts.explicitKeyFile !== undefined) {
    fingerprint = keyFingerprint(readKeyFile(opts.explicitKeyFile))
    keySource = opts.explicitKeyFile
    if (opts.explicitKeyFile !== opts.keyFile || opts.keyFile !== dataKeyFile) installKeyFrom = opts.explicitKeyFile
  } else if (existsSync(opts.keyFile)) {
    fingerprint = keyFingerprint(readKeyFile(opts.keyFile))
    keySource = opts.keyFile
  } else {
    throw new BackupError(
      `the archive was sealed with key ${short(manifest.keyFingerprint)}; ${opts.keyFile} does not exist: pass --key-file with that key or set WABOX_MASTER_KEY`,
    )
  }
  if (fingerprint !== manifest.keyFingerprint) {
    throw new BackupError(`the archive was sealed with key ${short(manifest.keyFingerprint)}, but ${keySource} is key ${short(fingerprint)}; restoring would leave every credential unreadable`)
  }
  if (installKeyFrom && installKeyFrom === dataKeyFile) installKeyFrom = null

  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 })
  const release = acquireLock(opts.dataDir, 'restoring')
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const staged = join(opts.dataDir, `.restore-${stamp}.db`)
  try {
    await Bun.write(staged, database)
    const check = new BetterSqlite3(staged, { fileMustExist: true })
    try {
      const result = check.pragma('integrity_check') as { integrity_check: string }[]
      if (result.length !== 1 || result[0]?.integrity_check !== 'ok') {
        throw new BackupError(`the archived database fails PRAGMA integrity_check (${result[0]?.integrity_check ?? 'no result'})`)
      }
      const unknown = migrationsIn(check).filter((m) => !isKnownMigration(m))
      if (unknown.length) throw new BackupError(`the archived database has migrations this binary does not know: ${unknown.join(', ')}`)
    } catch (err) {
      if (err instanceof BackupError) throw err
      throw new BackupError(`the archived database cannot be opened: ${(err as Error).message}`)
    } finally {
      check.close()
    }
    opts.progress('integrity_check ok')

    // Everything verified: now move the current data aside and put the restored files in place.
    const replaced = [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`, ...(installKeyFrom ? ['master.key'] : [])].filter((f) => existsSync(join(opts.dataDir, f)))
    let movedAsideTo: string | null = null
    if (replaced.length > 0) {
      movedAsideTo = join(opts.dataDir, `replaced-${stamp}`)
      mkdirSync(movedAsideTo, { mode: 0o700 })
      for (const f of replaced) renameSync(join(opts.dataDir, f), join(movedAsideTo, f))
      opts.progress(`moved ${replaced.join(', ')} aside to ${movedAsideTo}`)
    }
    renameSync(staged, join(opts.dataDir, DB_FILE))
    if (installKeyFrom) {
      copyFileSync(installKeyFrom, dataKeyFile)
      chmodSync(dataKeyFile, 0o600)
      opts.progress(`installed key ${short(fingerprint)} from ${basename(installKeyFrom)} as ${dataKeyFile}`)
    }
    return { dataDir: opts.dataDir, movedAsideTo, schemaVersion: manifest.schemaVersion, keyInstalled: installKeyFrom !== null, databaseBytes: database.length }
  } finally {
    rmSync(staged, { force: true })
    release()
  }
}
