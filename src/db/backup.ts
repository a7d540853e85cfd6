/**
 * Backup and restore of a data directory.
 *
 * An archive is a gzip'd tar holding the database snapshot (`wabox.db`), the media store (`media/xx/<sha256>`,
 * content-addressed) and `manifest.json`. The snapshot is taken with `VACUUM INTO`, which reads inside one
 * transaction: consistent, and it never blocks a running server's writers (WAL). Media files are listed after
 * the snapshot, so every file it refers to is there. Everything is streamed: the snapshot and each media file
 * go through the tar and gzip streams chunk by chunk, hashed on the way; the manifest, written last, records
 * the wabox version, schema version, the master key's fingerprint (never the key: an archive alone must not
 * open the sealed credentials) and the SHA-256 and size of every part.
 *
 * The archive, and every temporary file on the way (`<file>.<pid>.snapshot.db`, `<file>.<pid>.partial`), is
 * created 0600: it holds the whole database. Each temporary file is flock'ed while its backup runs, so the
 * next backup to the same place deletes what a killed one left behind, and nothing a running one still writes.
 *
 * Restore streams the archive into a staging directory inside the data directory, checks everything before
 * it replaces anything (every part against the manifest, media against their own names, the key, the schema,
 * `PRAGMA integrity_check`), holds the data directory's lock (and keeps backups out) while it swaps files, and
 * moves what it replaces into `replaced-<time>/` instead of deleting it. Restored files are 0600. A restore that
 * was killed leaves its staging directory (`.restore-<time>/`) behind: the next restore, or the next start of the
 * server, removes it once it holds the data directory's lock.
 */
import { createHash } from 'node:crypto'
import {
  createReadStream,
  createWriteStream,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  chmodSync,
  copyFileSync,
  type Stats,
} from 'node:fs'
import { open as openFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import { BetterSqlite3, type Sqlite } from './sqlite-driver.ts'
import { syncDbOf } from './client.ts'
import { recordBackupSync } from './instance-meta.repo.ts'
import { z } from 'zod'
import { VERSION } from '../config.ts'
import { keyFingerprint, loadMasterKey, readKeyFile } from '../crypto/keyfile.ts'
import { acquireLock, acquireRestoreGate, lockFile, LockError, type HeldLock } from './lock.ts'
import { isKnownMigration } from './migrate.ts'
import { readTar, tarStream, TarError, type TarSource } from './tar.ts'
import { DB_FILE } from './client.ts'

const MANIFEST = 'manifest.json'
const MEDIA_DIR = 'media'
const FORMAT = 'wabox-backup'
/** 1: the database only (manifest first). 2: the database and media/, manifest last. Both restore. */
const FORMAT_VERSION = 2
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024
const CHUNK = 1 << 20

export class BackupError extends Error {
  override name = 'BackupError'
}

const manifestSchema = z.object({
  format: z.literal(FORMAT),
  formatVersion: z.union([z.literal(1), z.literal(2)]),
  waboxVersion: z.string(),
  schemaVersion: z.string(),
  keyFingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  parts: z.record(
    z.string(),
    z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() }),
  ),
})
export type Manifest = z.infer<typeof manifestSchema>

/** The only names an archive may hold besides the manifest: the database and content-addressed media. */
const MEDIA_NAME = /^media\/([0-9a-f]{2})\/([0-9a-f]{64})$/
const isPartName = (name: string) =>
  name === DB_FILE || (MEDIA_NAME.test(name) && name.slice(6, 8) === name.slice(9, 11))

const short = (fp: string) => fp.slice(0, 12)

type Progress = (line: string) => void

/** Migration names recorded in a database file (the last one is its schema version). */
function migrationsIn(sqlite: Sqlite): string[] {
  const table = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'").get()
  if (!table) return []
  return (sqlite.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as { name: string }[]).map(
    (r) => r.name,
  )
}

/** A new, empty file only this user can read, flock'ed from its first moment for as long as the caller keeps it. */
function createLockedFile(path: string): HeldLock {
  const lock = lockFile(path, { create: 'new' })
  if (!lock) throw new BackupError(`${path} is locked by another process`)
  return lock
}

/**
 * Deletes what backups to `file` that were killed left behind: their snapshot and partial archive. A file whose
 * lock is held belongs to a backup still running (in whatever PID namespace) and stays.
 */
export function removeBackupLeftovers(file: string): string[] {
  const dir = dirname(file)
  const base = basename(file)
  const removed: string[] = []
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return removed
  }
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue
    const m = name.slice(base.length).match(/^\.(\d+)\.(snapshot\.db|partial)(-journal|-wal|-shm)?$/)
    if (!m) continue
    const path = join(dir, name)
    // A side file goes with its main file: when that is gone or unlocked, nobody uses the side file either.
    const main = m[3] ? join(dir, `${base}.${m[1]}.${m[2]}`) : path
    let lock: HeldLock | null = null
    if (existsSync(main)) {
      try {
        lock = lockFile(main, { create: false })
      } catch {
        continue
      }
      if (!lock) continue // a running backup's file
    }
    try {
      rmSync(path, { force: true })
      removed.push(path)
    } finally {
      lock?.release()
    }
  }
  return removed
}

/** The media store's files (content-addressed names only; temporary files of a download are not media yet). */
function listMedia(dataDir: string): { name: string; path: string }[] {
  const root = join(dataDir, MEDIA_DIR)
  if (!existsSync(root)) return []
  const out: { name: string; path: string }[] = []
  for (const prefix of readdirSync(root).sort()) {
    if (!/^[0-9a-f]{2}$/.test(prefix)) continue
    let files: string[]
    try {
      files = readdirSync(join(root, prefix))
    } catch {
      continue // not a directory
    }
    for (const f of files.sort()) {
      const name = `${MEDIA_DIR}/${prefix}/${f}`
      if (isPartName(name)) out.push({ name, path: join(root, prefix, f) })
    }
  }
  return out
}

const readFileChunks = (path: string) => createReadStream(path, { highWaterMark: CHUNK }) as AsyncIterable<Uint8Array>

export type BackupResult = {
  file: string
  archiveBytes: number
  databaseBytes: number
  mediaFiles: number
  mediaBytes: number
  schemaVersion: string
  keyFingerprint: string
  durationMs: number
  leftoversRemoved: string[]
}

/** The database remembers its last completed backup: /metrics shows its age, so a stopped backup job is noticed. */
function recordCompletedBackup(dbPath: string): void {
  const conn = new BetterSqlite3(dbPath, { fileMustExist: true })
  try {
    conn.pragma('busy_timeout = 10000')
    recordBackupSync(syncDbOf(conn), new Date().toISOString())
  } finally {
    conn.close()
  }
}

/** Writes a consistent archive of the data directory (database and media) to `file`: temp file + rename. */
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
  mkdirSync(dirname(opts.file), { recursive: true, mode: 0o700 })
  const leftoversRemoved = removeBackupLeftovers(opts.file)
  if (leftoversRemoved.length)
    opts.progress(`removed what an interrupted backup left: ${leftoversRemoved.map((p) => basename(p)).join(', ')}`)

  let releaseGate: () => void
  try {
    releaseGate = acquireRestoreGate(opts.dataDir, 'read')
  } catch (err) {
    if (err instanceof LockError) throw new BackupError(err.message)
    throw err
  }
  const snapshotPath = `${opts.file}.${process.pid}.snapshot.db`
  const partialPath = `${opts.file}.${process.pid}.partial`
  let snapshotLock: HeldLock | undefined
  let partialLock: HeldLock | undefined
  try {
    opts.progress(`snapshotting ${dbPath}`)
    snapshotLock = createLockedFile(snapshotPath)
    const source = new BetterSqlite3(dbPath, { fileMustExist: true })
    let schema: string[]
    try {
      source.pragma('busy_timeout = 10000')
      schema = migrationsIn(source)
      source.prepare('VACUUM INTO ?').run(snapshotPath)
    } finally {
      source.close()
    }
    // The manifest names the key the archive needs: it must be the database's own, not just the one loaded.
    const snapshot = new BetterSqlite3(snapshotPath, { readonly: true, fileMustExist: true })
    try {
      const hasTable = snapshot
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'master_keys'")
        .get()
      const recorded = hasTable
        ? (snapshot.prepare('SELECT key_id, fingerprint FROM master_keys').all() as {
            key_id: string
            fingerprint: string
          }[])
        : []
      if (recorded.length > 0 && !recorded.some((r) => r.fingerprint === key.fingerprint)) {
        throw new BackupError(
          `the database's credentials are sealed with master key ${recorded.map((r) => r.key_id).join(', ')}, but the loaded key is ${key.id}: back up with the database's own key (--key-file or WABOX_MASTER_KEY)`,
        )
      }
    } finally {
      snapshot.close()
    }
    const databaseBytes = statSync(snapshotPath).size
    const media = listMedia(opts.dataDir)
    opts.progress(`snapshot taken: ${databaseBytes} bytes; archiving it with ${media.length} media file(s)`)

    const parts: Manifest['parts'] = {}
    let mediaFiles = 0
    let mediaBytes = 0
    const manifestOf = (): Manifest => ({
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      waboxVersion: VERSION,
      schemaVersion: schema.at(-1) ?? '(empty)',
      keyFingerprint: key.fingerprint,
      createdAt: new Date().toISOString(),
      parts,
    })
    async function* sources(): AsyncGenerator<TarSource> {
      yield { name: DB_FILE, size: databaseBytes, data: () => readFileChunks(snapshotPath) }
      for (const m of media) {
        let stat: Stats
        try {
          stat = statSync(m.path)
        } catch {
          continue // removed (retention) since the listing: the snapshot no longer needs it either
        }
        yield { name: m.name, size: stat.size, data: () => readFileChunks(m.path) }
        mediaFiles++
        mediaBytes += stat.size
      }
      const manifest = new TextEncoder().encode(JSON.stringify(manifestOf(), null, 2))
      yield {
        name: MANIFEST,
        size: manifest.byteLength,
        data: async function* () {
          yield manifest
        },
      }
    }
    const record = ({ name, sha256, bytes }: { name: string; sha256: string; bytes: number }) => {
      if (name === MANIFEST) return
      const m = name.match(MEDIA_NAME)
      if (m && m[2] !== sha256)
        throw new BackupError(
          `the media file ${name} does not match its own checksum: the media store is damaged (move that file away and back up again)`,
        )
      parts[name] = { sha256, bytes }
    }
    partialLock = createLockedFile(partialPath)
    const out = createWriteStream(partialPath, { fd: partialLock.fd, autoClose: false })
    await pipeline(Readable.from(tarStream(sources(), record), { objectMode: false }), createGzip(), out)
    fsyncSync(partialLock.fd)
    renameSync(partialPath, opts.file)
    try {
      recordCompletedBackup(dbPath)
    } catch (err) {
      // The archive is complete and usable either way; only /metrics' backup age will not know of it.
      opts.progress(`could not record the backup's time in the database (${(err as Error).message})`)
    }
    return {
      file: opts.file,
      archiveBytes: statSync(opts.file).size,
      databaseBytes,
      mediaFiles,
      mediaBytes,
      schemaVersion: schema.at(-1) ?? '(empty)',
      keyFingerprint: key.fingerprint,
      durationMs: Math.round(performance.now() - started),
      leftoversRemoved,
    }
  } catch (err) {
    if (err instanceof TarError) throw new BackupError(err.message)
    throw err
  } finally {
    rmSync(snapshotPath, { force: true })
    rmSync(`${snapshotPath}-journal`, { force: true })
    rmSync(partialPath, { force: true })
    snapshotLock?.release()
    partialLock?.release()
    releaseGate()
  }
}

/** Streams an archive into `stagingDir`, checking every entry's name; returns the manifest and what was staged. */
async function stageArchive(
  file: string,
  stagingDir: string,
): Promise<{ manifest: Manifest; staged: Map<string, { sha256: string; bytes: number }> }> {
  if (!existsSync(file)) throw new BackupError(`archive ${file} does not exist`)
  const staged = new Map<string, { sha256: string; bytes: number }>()
  let manifestText: string | undefined
  try {
    const input = createReadStream(file, { highWaterMark: CHUNK }).pipe(createGunzip())
    for await (const entry of readTar(input as AsyncIterable<Uint8Array>)) {
      if (entry.name === MANIFEST) {
        if (manifestText !== undefined) throw new BackupError(`${file} holds two manifests`)
        if (entry.size > MAX_MANIFEST_BYTES) throw new BackupError(`${file} has an oversized ${MANIFEST}`)
        const chunks: Uint8Array[] = []
        for await (const c of entry.body) chunks.push(c)
        manifestText = Buffer.concat(chunks).toString('utf8')
        continue
      }
      if (!isPartName(entry.name))
        throw new BackupError(`${file} contains an unexpected entry "${entry.name.slice(0, 120)}"`)
      if (staged.has(entry.name)) throw new BackupError(`${file} holds "${entry.name}" twice`)
      const target = join(stagingDir, entry.name)
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 })
      const hash = createHash('sha256')
      const handle = await openFile(target, 'wx', 0o600)
      let bytes = 0
      try {
        for await (const chunk of entry.body) {
          hash.update(chunk)
          bytes += chunk.byteLength
          await handle.write(chunk)
        }
        await handle.sync()
      } finally {
        await handle.close()
      }
      staged.set(entry.name, { sha256: hash.digest('hex'), bytes })
    }
  } catch (err) {
    if (err instanceof BackupError) throw err
    if (err instanceof TarError)
      throw new BackupError(`${file} is not a readable wabox backup archive (${err.message})`)
    throw new BackupError(`${file} is not a readable wabox backup archive (damaged or not a .tar.gz)`)
  }
  if (manifestText === undefined) throw new BackupError(`${file} is not a wabox backup archive (no ${MANIFEST})`)
  let manifest: Manifest
  try {
    manifest = manifestSchema.parse(JSON.parse(manifestText))
  } catch {
    throw new BackupError(`${file} has an invalid ${MANIFEST}`)
  }
  return { manifest, staged }
}

/** Every part the manifest names is staged with its checksum and size, nothing else is, and media match their names. */
function verifyParts(file: string, manifest: Manifest, staged: Map<string, { sha256: string; bytes: number }>): void {
  for (const name of staged.keys()) {
    if (!(name in manifest.parts)) throw new BackupError(`${file} contains an unexpected entry "${name}"`)
  }
  if (!manifest.parts[DB_FILE] || !staged.has(DB_FILE)) throw new BackupError(`${file} holds no ${DB_FILE}`)
  for (const [name, part] of Object.entries(manifest.parts)) {
    if (!isPartName(name)) throw new BackupError(`${file} has an invalid ${MANIFEST} (part "${name.slice(0, 120)}")`)
    const got = staged.get(name)
    if (!got) throw new BackupError(`${name} is missing from ${file}: the archive is incomplete`)
    if (got.bytes !== part.bytes || got.sha256 !== part.sha256)
      throw new BackupError(`${name} in ${file} does not match its checksum: the archive is damaged`)
    const m = name.match(MEDIA_NAME)
    if (m && m[2] !== got.sha256)
      throw new BackupError(
        `${name} in ${file} does not match its own name (a media file is named by its SHA-256): the archive is damaged`,
      )
  }
}

export type RestoreResult = {
  dataDir: string
  movedAsideTo: string | null
  schemaVersion: string
  keyInstalled: boolean
  databaseBytes: number
  mediaFiles: number
}

export type RestoreOptions = {
  dataDir: string
  file: string
  /** --key-file given on the command line: installed as the data directory's key after the restore. */
  explicitKeyFile: string | undefined
  keyFile: string
  envKey: string | undefined
  progress: Progress
}

/** Where a restore unpacks the archive before anything is replaced: inside the data directory (same filesystem). */
const STAGING_PREFIX = '.restore-'

/**
 * Deletes the staging directories of restores that were killed before their cleanup ran. Only call it while
 * holding the data directory's lock: then no restore is running there, and every staging directory is a leftover.
 */
export function removeRestoreLeftovers(dataDir: string): string[] {
  let names: string[]
  try {
    names = readdirSync(dataDir)
  } catch {
    return []
  }
  const removed: string[] = []
  for (const name of names.filter((n) => n.startsWith(STAGING_PREFIX)).sort()) {
    const path = join(dataDir, name)
    rmSync(path, { recursive: true, force: true })
    removed.push(path)
  }
  return removed
}

/** The data directory for this restore alone: no server and no other restore runs on it meanwhile. */
function takeDataDir(dataDir: string): () => void {
  try {
    return acquireLock(dataDir, 'restoring')
  } catch (err) {
    if (!(err instanceof LockError)) throw err
    throw new BackupError(
      `a wabox server or restore (${err.holder ?? 'another process'}) is running on ${dataDir}; stop it before restoring`,
    )
  }
}

/** Waits for no backup: a backup running now would read the files being swapped. */
function keepBackupsOut(dataDir: string): () => void {
  try {
    return acquireRestoreGate(dataDir, 'replace')
  } catch (err) {
    if (err instanceof LockError) throw new BackupError(err.message)
    throw err
  }
}

function requireKnownSchema(manifest: Manifest): void {
  if (!isKnownMigration(manifest.schemaVersion)) {
    throw new BackupError(
      `the archive's schema (${manifest.schemaVersion}, wabox ${manifest.waboxVersion}) is newer than this binary knows (wabox ${VERSION})`,
    )
  }
}

/**
 * The key that will open the restored credentials must be the one the archive was sealed with: WABOX_MASTER_KEY,
 * the --key-file given (then installed as the data directory's key), or the data directory's own key file.
 */
function checkRestoreKey(
  opts: RestoreOptions,
  manifest: Manifest,
): { fingerprint: string; installFrom: string | null; dataKeyFile: string } {
  const dataKeyFile = join(opts.dataDir, 'master.key')
  let installFrom: string | null = null
  let keySource: string
  let fingerprint: string
  if (opts.envKey !== undefined) {
    fingerprint = loadMasterKey({ keyFile: opts.keyFile, envKey: opts.envKey, create: false }).fingerprint
    keySource = 'WABOX_MASTER_KEY'
  } else if (opts.explicitKeyFile !== undefined) {
    fingerprint = keyFingerprint(readKeyFile(opts.explicitKeyFile))
    keySource = opts.explicitKeyFile
    if (opts.explicitKeyFile !== opts.keyFile || opts.keyFile !== dataKeyFile) installFrom = opts.explicitKeyFile
  } else if (existsSync(opts.keyFile)) {
    fingerprint = keyFingerprint(readKeyFile(opts.keyFile))
    keySource = opts.keyFile
  } else {
    throw new BackupError(
      `the archive was sealed with key ${short(manifest.keyFingerprint)}; ${opts.keyFile} does not exist: pass --key-file with that key or set WABOX_MASTER_KEY`,
    )
  }
  if (fingerprint !== manifest.keyFingerprint) {
    throw new BackupError(
      `the archive was sealed with key ${short(manifest.keyFingerprint)}, but ${keySource} is key ${short(fingerprint)}; restoring would leave every credential unreadable`,
    )
  }
  if (installFrom === dataKeyFile) installFrom = null
  return { fingerprint, installFrom, dataKeyFile }
}

/** The staged database opens, passes `PRAGMA integrity_check`, and holds only migrations this binary knows. */
function checkStagedDatabase(stagedDb: string): void {
  const check = (() => {
    try {
      return new BetterSqlite3(stagedDb, { fileMustExist: true })
    } catch (err) {
      throw new BackupError(`the archived database cannot be opened: ${(err as Error).message}`)
    }
  })()
  try {
    const result = check.pragma('integrity_check') as { integrity_check: string }[]
    if (result.length !== 1 || result[0]?.integrity_check !== 'ok') {
      throw new BackupError(
        `the archived database fails PRAGMA integrity_check (${result[0]?.integrity_check ?? 'no result'})`,
      )
    }
    const unknown = migrationsIn(check).filter((m) => !isKnownMigration(m))
    if (unknown.length)
      throw new BackupError(`the archived database has migrations this binary does not know: ${unknown.join(', ')}`)
  } catch (err) {
    if (err instanceof BackupError) throw err
    throw new BackupError(`the archived database cannot be opened: ${(err as Error).message}`)
  } finally {
    check.close()
  }
}

/**
 * Moves the current files aside into `replaced-<stamp>/` (kept, never deleted) and the staged ones into place, in
 * an order that a kill at any instant cannot turn into an empty database on the next start: the current database
 * is first hard-linked into `replaced-*` (both names, one file), its WAL and shared memory are moved aside with it,
 * and only then does the staged database replace `wabox.db` in one rename(2) — so the data directory always has a
 * `wabox.db`: the old one until that rename, the restored one after it. An old WAL is never left beside the new
 * database (SQLite would replay it into the wrong file); a kill in the instant between moving it aside and the
 * rename leaves the old database without its last un-checkpointed writes in place — they are in `replaced-*` —
 * and a clean shutdown checkpoints the WAL away, so normally there is none.
 */
function swapIntoPlace(opts: {
  dataDir: string
  staging: string
  stamp: string
  withMedia: boolean
  replacesKey: boolean
  progress: Progress
}): string | null {
  const { dataDir, staging } = opts
  const present = (f: string) => existsSync(join(dataDir, f))
  const sidecars = [`${DB_FILE}-wal`, `${DB_FILE}-shm`].filter(present)
  const others = [...(opts.withMedia ? [MEDIA_DIR] : []), ...(opts.replacesKey ? ['master.key'] : [])].filter(present)
  const hasDb = present(DB_FILE)
  let movedAsideTo: string | null = null
  if (hasDb || sidecars.length > 0 || others.length > 0) {
    movedAsideTo = join(dataDir, `replaced-${opts.stamp}`)
    mkdirSync(movedAsideTo, { mode: 0o700 })
    if (hasDb) linkSync(join(dataDir, DB_FILE), join(movedAsideTo, DB_FILE))
    for (const f of sidecars) renameSync(join(dataDir, f), join(movedAsideTo, f))
  }
  renameSync(join(staging, DB_FILE), join(dataDir, DB_FILE))
  chmodSync(join(dataDir, DB_FILE), 0o600)
  for (const f of others) renameSync(join(dataDir, f), join(movedAsideTo!, f))
  if (opts.withMedia && existsSync(join(staging, MEDIA_DIR)))
    renameSync(join(staging, MEDIA_DIR), join(dataDir, MEDIA_DIR))
  if (movedAsideTo) {
    const aside = [...(hasDb ? [DB_FILE] : []), ...sidecars, ...others]
    opts.progress(`moved ${aside.join(', ')} aside to ${movedAsideTo}`)
  }
  return movedAsideTo
}

function installKey(from: string, dataKeyFile: string): void {
  copyFileSync(from, dataKeyFile)
  chmodSync(dataKeyFile, 0o600)
}

/**
 * Restores `file` into `dataDir`: takes the data directory, unpacks the archive into a staging directory there,
 * verifies everything (parts, schema, key, integrity) before replacing anything, swaps the files, and always
 * removes the staging directory and lets go of the locks.
 */
export async function restoreBackup(opts: RestoreOptions): Promise<RestoreResult> {
  if (!existsSync(opts.file)) throw new BackupError(`archive ${opts.file} does not exist`)
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 })
  const releaseDataDir = takeDataDir(opts.dataDir)
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const staging = join(opts.dataDir, `${STAGING_PREFIX}${stamp}`)
  let releaseGate: (() => void) | undefined
  try {
    const leftovers = removeRestoreLeftovers(opts.dataDir)
    if (leftovers.length)
      opts.progress(`removed what an interrupted restore left: ${leftovers.map((p) => basename(p)).join(', ')}`)
    releaseGate = keepBackupsOut(opts.dataDir)

    opts.progress(`verifying ${opts.file}`)
    mkdirSync(staging, { mode: 0o700 })
    const { manifest, staged } = await stageArchive(opts.file, staging)
    verifyParts(opts.file, manifest, staged)
    requireKnownSchema(manifest)
    const databaseBytes = staged.get(DB_FILE)!.bytes
    const mediaFiles = staged.size - 1
    opts.progress(
      `archive ok: wabox ${manifest.waboxVersion}, schema ${manifest.schemaVersion}, ${databaseBytes} bytes, ${mediaFiles} media file(s), key ${short(manifest.keyFingerprint)}`,
    )
    const key = checkRestoreKey(opts, manifest)
    checkStagedDatabase(join(staging, DB_FILE))
    opts.progress('integrity_check ok')

    // Everything verified: only now is anything replaced.
    const movedAsideTo = swapIntoPlace({
      dataDir: opts.dataDir,
      staging,
      stamp,
      withMedia: manifest.formatVersion >= 2,
      replacesKey: key.installFrom !== null,
      progress: opts.progress,
    })
    if (key.installFrom) {
      installKey(key.installFrom, key.dataKeyFile)
      opts.progress(`installed key ${short(key.fingerprint)} from ${basename(key.installFrom)} as ${key.dataKeyFile}`)
    }
    return {
      dataDir: opts.dataDir,
      movedAsideTo,
      schemaVersion: manifest.schemaVersion,
      keyInstalled: key.installFrom !== null,
      databaseBytes,
      mediaFiles,
    }
  } finally {
    rmSync(staging, { recursive: true, force: true })
    releaseGate?.()
    releaseDataDir()
  }
}
