import { describe, expect, test } from 'bun:test'
import BetterSqlite3 from 'better-sqlite3'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BINARY, runBinary, startServer } from '../testing/binary.ts'
import { tempDir } from '../testing/temp.ts'
import { lockFile } from './lock.ts'

const fileHash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')
const modeOf = (path: string) => statSync(path).mode & 0o777

/** Puts a file into a data directory's media store the way the downloader does: named by its SHA-256. */
function addMedia(dataDir: string, bytes: Uint8Array): string {
  const hex = createHash('sha256').update(bytes).digest('hex')
  mkdirSync(join(dataDir, 'media', hex.slice(0, 2)), { recursive: true, mode: 0o700 })
  writeFileSync(join(dataDir, 'media', hex.slice(0, 2), hex), bytes, { mode: 0o600 })
  return `media/${hex.slice(0, 2)}/${hex}`
}

/** Keeps committing rows into the running server's database from a second connection until stopped. */
function startWriter(dbPath: string) {
  const conn = new BetterSqlite3(dbPath)
  conn.pragma('busy_timeout = 5000')
  const insert = conn.prepare("INSERT INTO instance_meta (key, value) VALUES (?, 'load')")
  let written = 0
  let running = true
  const done = (async () => {
    while (running) {
      insert.run(`load-${written}`)
      written++
      await Bun.sleep(1)
    }
    conn.close()
  })()
  return {
    written: () => written,
    stop: async () => {
      running = false
      await done
    },
  }
}

function rowsIn(dbPath: string): Set<string> {
  const conn = new BetterSqlite3(dbPath, { readonly: true })
  try {
    expect(conn.pragma('integrity_check', { simple: true })).toBe('ok')
    return new Set(
      (conn.prepare("SELECT key FROM instance_meta WHERE key LIKE 'load-%'").all() as { key: string }[]).map(
        (r) => r.key,
      ),
    )
  } finally {
    conn.close()
  }
}

describe('backup and restore with the compiled binary', () => {
  test('online backup under write load, restore into a fresh data dir, refusals that change nothing', async () => {
    const work = tempDir('wabox-backup')
    const dataA = join(work, 'a')
    const server = await startServer({ cwd: work, args: ['--data-dir', dataA] })
    const writer = startWriter(join(dataA, 'wabox.db'))
    const archive = join(work, 'backups', 'snap.tar.gz')
    // Media the server stored: a picture and a 1.5 MB document (several chunks on their way through the streams).
    const media = [addMedia(dataA, randomBytes(40_000)), addMedia(dataA, randomBytes(1536 * 1024 + 17))]
    let committedBefore: number
    try {
      // Readiness probes keep the server busy with requests while rows are being written.
      const probes = (async () => {
        for (let i = 0; i < 40; i++) expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
      })()
      while (writer.written() < 200) await Bun.sleep(5)
      committedBefore = writer.written()
      const backup = await runBinary(['--backup', archive, '--data-dir', dataA])
      expect(backup.stderr).toBe('')
      expect(backup.code).toBe(0)
      expect(backup.stdout.trim().split('\n').at(-1)).toMatch(
        /^backup complete: .*snap\.tar\.gz \(\d+ bytes, database \d+ bytes, 2 media files \d+ bytes, schema \S+, key [0-9a-f]{12}\) in \d+ ms$/,
      )
      // The archive holds the whole database: only its owner may read it.
      expect(modeOf(archive)).toBe(0o600)
      await probes
      expect(writer.written()).toBeGreaterThan(committedBefore) // the writer kept going during the backup

      // Restoring over the running server's data directory is refused and changes nothing.
      const before = readdirSync(dataA).sort()
      const refused = await runBinary(['--restore', archive, '--data-dir', dataA])
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain(`is running on ${dataA}`)
      expect(readdirSync(dataA).sort()).toEqual(before)
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
    } finally {
      await writer.stop()
      await server.stop()
    }

    // The archive holds the database, the media store and a manifest with checksums and the key's
    // fingerprint, never the key.
    const files = await new Bun.Archive(await Bun.file(archive).bytes()).files()
    expect([...files.keys()].sort()).toEqual(['manifest.json', ...media, 'wabox.db'].sort())
    const manifest = JSON.parse(await files.get('manifest.json')!.text())
    expect(manifest).toMatchObject({
      format: 'wabox-backup',
      formatVersion: 2,
      keyFingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
    })
    expect(Object.keys(manifest.parts).sort()).toEqual([...media, 'wabox.db'].sort())
    for (const part of [...media, 'wabox.db']) {
      const bytes = await files.get(part)!.bytes()
      expect({ part, ...manifest.parts[part] }).toEqual({
        part,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        bytes: bytes.length,
      })
    }
    const rawKey = readFileSync(join(dataA, 'master.key'))
    const archiveBytes = Buffer.from(await Bun.file(archive).bytes())
    expect(archiveBytes.includes(rawKey)).toBe(false)
    expect(JSON.stringify(manifest)).not.toContain(rawKey.toString('hex'))

    // A fresh data directory has no key: restore names the archive's key and refuses until given one.
    const dataB = join(work, 'b')
    const noKey = await runBinary(['--restore', archive, '--data-dir', dataB])
    expect(noKey.code).toBe(1)
    expect(noKey.stderr).toContain('pass --key-file')
    expect(existsSync(join(dataB, 'wabox.db'))).toBe(false)
    const wrongKeyFile = join(work, 'other.key')
    writeFileSync(wrongKeyFile, randomBytes(32), { mode: 0o600 })
    const wrongKey = await runBinary(['--restore', archive, '--data-dir', dataB, '--key-file', wrongKeyFile])
    expect(wrongKey.code).toBe(1)
    expect(wrongKey.stderr).toContain('restoring would leave every credential unreadable')
    expect(existsSync(join(dataB, 'wabox.db'))).toBe(false)

    const restored = await runBinary([
      '--restore',
      archive,
      '--data-dir',
      dataB,
      '--key-file',
      join(dataA, 'master.key'),
    ])
    expect(restored.stderr).toBe('')
    expect(restored.code).toBe(0)
    expect(restored.stdout).toContain('restore: integrity_check ok')
    expect(restored.stdout.trim().split('\n').at(-1)).toMatch(
      /^restore complete: .*, 2 media files\); the data directory was empty; master key installed$/,
    )
    expect(modeOf(join(dataB, 'wabox.db'))).toBe(0o600)
    for (const part of media) {
      expect(readFileSync(join(dataB, part)).equals(readFileSync(join(dataA, part)))).toBe(true)
      expect(modeOf(join(dataB, part))).toBe(0o600)
    }
    const rows = rowsIn(join(dataB, 'wabox.db'))
    for (let i = 0; i < committedBefore; i++) expect(rows.has(`load-${i}`)).toBe(true)
    expect(readFileSync(join(dataB, 'master.key')).equals(rawKey)).toBe(true)

    // The restored directory serves.
    const serverB = await startServer({ cwd: work, args: ['--data-dir', dataB] })
    try {
      expect((await fetch(`${serverB.url}/readyz`)).status).toBe(200)
    } finally {
      await serverB.stop()
    }

    // A corrupted archive is refused and the existing data stays exactly as it was.
    const hashB = fileHash(join(dataB, 'wabox.db'))
    const entriesB = readdirSync(dataB).sort()
    const damaged = join(work, 'damaged.tar.gz')
    const bytes = Buffer.from(archiveBytes)
    const middle = Math.floor(bytes.length / 2)
    bytes[middle] = bytes[middle]! ^ 0xff
    writeFileSync(damaged, bytes)
    const bad = await runBinary(['--restore', damaged, '--data-dir', dataB])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/damaged|not a readable wabox backup/)
    expect(fileHash(join(dataB, 'wabox.db'))).toBe(hashB)
    expect(readdirSync(dataB).sort()).toEqual(entriesB)

    // Restoring over existing data keeps the old data aside, media included.
    const extra = addMedia(dataB, randomBytes(100))
    const again = await runBinary(['--restore', archive, '--data-dir', dataB])
    expect(again.code).toBe(0)
    const aside = readdirSync(dataB).filter((f) => f.startsWith('replaced-'))
    expect(aside).toHaveLength(1)
    expect(fileHash(join(dataB, aside[0]!, 'wabox.db'))).toBe(hashB)
    expect(existsSync(join(dataB, aside[0]!, extra))).toBe(true)
    expect(existsSync(join(dataB, extra))).toBe(false)
    for (const part of media) expect(existsSync(join(dataB, part))).toBe(true)
  }, 60_000)

  test('archives whose content lies are refused: bad checksum, failing integrity_check, newer schema, stray entries', async () => {
    const work = tempDir()
    const data = join(work, 'data')
    const server = await startServer({ cwd: work, args: ['--data-dir', data] })
    await server.stop()
    const good = join(work, 'good.tar.gz')
    expect((await runBinary(['--backup', good, '--data-dir', data])).code).toBe(0)
    const files = await new Bun.Archive(await Bun.file(good).bytes()).files()
    const manifest = JSON.parse(await files.get('manifest.json')!.text())
    const db = Buffer.from(await files.get('wabox.db')!.bytes())
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
    const hashBefore = fileHash(join(data, 'wabox.db'))

    const variants: [string, Record<string, string | Uint8Array>, RegExp][] = []
    const tamperedDb = Buffer.from(db)
    tamperedDb[tamperedDb.length - 100] = tamperedDb[tamperedDb.length - 100]! ^ 1
    variants.push([
      'checksum',
      { 'manifest.json': JSON.stringify(manifest), 'wabox.db': tamperedDb },
      /does not match its checksum/,
    ])
    // Garbage over the b-tree pages, with a checksum that matches: only integrity_check can catch it.
    const corrupt = Buffer.from(db)
    corrupt.fill(0x5a, 4096 + 8, db.length - 1)
    const corruptManifest = { ...manifest, parts: { 'wabox.db': { sha256: sha(corrupt), bytes: corrupt.length } } }
    variants.push([
      'integrity',
      { 'manifest.json': JSON.stringify(corruptManifest), 'wabox.db': corrupt },
      /integrity_check|cannot be opened/,
    ])
    variants.push([
      'newer schema',
      { 'manifest.json': JSON.stringify({ ...manifest, schemaVersion: '2099-01-01_001_future' }), 'wabox.db': db },
      /newer than this binary knows/,
    ])
    variants.push([
      'stray entry',
      { 'manifest.json': JSON.stringify(manifest), 'wabox.db': db, '../evil': 'x' },
      /unexpected entry/,
    ])
    variants.push(['no manifest', { 'wabox.db': db }, /no manifest\.json/])
    variants.push(['not a tarball', {}, /not a readable wabox backup/])
    // Media: a file whose bytes are not what its name says, one the manifest names but the archive lacks, one
    // whose checksum disagrees with the manifest, and a path outside the media store's shape.
    const picture = randomBytes(5000)
    const pictureName = `media/${sha(picture).slice(0, 2)}/${sha(picture)}`
    const forged = randomBytes(5000)
    const withParts = (parts: Record<string, Uint8Array>) => ({
      ...manifest,
      parts: {
        ...manifest.parts,
        ...Object.fromEntries(Object.entries(parts).map(([n, b]) => [n, { sha256: sha(b), bytes: b.length }])),
      },
    })
    variants.push([
      'media not its name',
      { 'wabox.db': db, [pictureName]: forged, 'manifest.json': JSON.stringify(withParts({ [pictureName]: forged })) },
      /does not match its own name/,
    ])
    variants.push([
      'media missing',
      { 'wabox.db': db, 'manifest.json': JSON.stringify(withParts({ [pictureName]: picture })) },
      /missing from .*incomplete/,
    ])
    variants.push([
      'media checksum',
      {
        'wabox.db': db,
        [pictureName]: picture,
        'manifest.json': JSON.stringify({
          ...withParts({ [pictureName]: picture }),
          parts: { ...withParts({}).parts, [pictureName]: { sha256: sha(forged), bytes: picture.length } },
        }),
      },
      /does not match its checksum/,
    ])
    variants.push([
      'media path',
      { 'wabox.db': db, 'media/../../x': picture, 'manifest.json': JSON.stringify(manifest) },
      /unexpected entry/,
    ])

    for (const [name, entries, message] of variants) {
      const file = join(work, `${name.replace(/ /g, '-')}.tar.gz`)
      if (Object.keys(entries).length === 0) writeFileSync(file, 'plain text, not an archive')
      else await Bun.Archive.write(file, entries, { compress: 'gzip' })
      const r = await runBinary(['--restore', file, '--data-dir', data])
      expect({ name, code: r.code }).toEqual({ name, code: 1 })
      expect(r.stderr).toMatch(message)
      expect(fileHash(join(data, 'wabox.db'))).toBe(hashBefore)
      expect(readdirSync(data).filter((f) => f.startsWith('replaced-') || f.startsWith('.restore-'))).toEqual([])
    }

    // An archive of the first format (database only, manifest first) still restores, and leaves media/ alone.
    const kept = addMedia(data, randomBytes(300))
    const v1 = join(work, 'v1.tar.gz')
    await Bun.Archive.write(
      v1,
      {
        'manifest.json': JSON.stringify({
          ...manifest,
          formatVersion: 1,
          parts: { 'wabox.db': manifest.parts['wabox.db'] },
        }),
        'wabox.db': db,
      },
      { compress: 'gzip' },
    )
    const restored = await runBinary(['--restore', v1, '--data-dir', data])
    expect(restored.stderr).toBe('')
    expect(restored.code).toBe(0)
    expect(fileHash(join(data, 'wabox.db'))).toBe(sha(db))
    expect(existsSync(join(data, kept))).toBe(true)
  }, 60_000)

  test('a backup killed mid-run leaves only files its owner can read, and the next run removes them (not those of a running backup)', async () => {
    const work = tempDir()
    const data = join(work, 'data')
    const server = await startServer({ cwd: work, args: ['--data-dir', data] })
    await server.stop()
    const archive = join(work, 'out', 'nightly.tar.gz')
    // Hold the database exclusively, so the backup waits inside its snapshot step (busy timeout), then kill it there.
    const holder = new BetterSqlite3(join(data, 'wabox.db'))
    holder.pragma('locking_mode = EXCLUSIVE')
    holder.exec("BEGIN EXCLUSIVE; INSERT INTO instance_meta (key, value) VALUES ('held', 'x')")
    const killed = Bun.spawn([BINARY, '--backup', archive, '--data-dir', data], {
      env: { PATH: process.env.PATH ?? '' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const snapshot = join(work, 'out', `nightly.tar.gz.${killed.pid}.snapshot.db`)
    for (let i = 0; i < 200 && !existsSync(snapshot); i++) await Bun.sleep(25)
    expect(existsSync(snapshot)).toBe(true)
    killed.kill('SIGKILL')
    await killed.exited
    holder.exec('ROLLBACK')
    holder.close()
    expect(modeOf(snapshot)).toBe(0o600)

    // A leftover of an older wabox (world-readable), and a temporary file a backup still running holds.
    const oldLeftover = join(work, 'out', 'nightly.tar.gz.999999.partial')
    writeFileSync(oldLeftover, 'half an archive')
    chmodSync(oldLeftover, 0o644)
    const running = join(work, 'out', 'nightly.tar.gz.424242.snapshot.db')
    writeFileSync(running, '', { mode: 0o600 })
    const held = lockFile(running, { create: false })!
    try {
      const next = await runBinary(['--backup', archive, '--data-dir', data])
      expect(next.stderr).toBe('')
      expect(next.code).toBe(0)
      expect(next.stdout).toContain('removed what an interrupted backup left')
      expect(existsSync(snapshot)).toBe(false)
      expect(existsSync(oldLeftover)).toBe(false)
      expect(existsSync(running)).toBe(true)
      expect(readdirSync(join(work, 'out')).sort()).toEqual(['nightly.tar.gz', 'nightly.tar.gz.424242.snapshot.db'])
      expect(modeOf(archive)).toBe(0o600)
    } finally {
      held.release()
    }
  }, 60_000)

  test('a restore killed mid-run leaves its staging directory, and the next restore or start removes it', async () => {
    const work = tempDir()
    const data = join(work, 'data')
    const server = await startServer({ cwd: work, args: ['--data-dir', data] })
    await server.stop()
    // A large media file keeps the restore busy staging for a while: long enough to kill it there.
    addMedia(data, randomBytes(24 * 1024 * 1024))
    const archive = join(work, 'big.tar.gz')
    const backup = await runBinary(['--backup', archive, '--data-dir', data])
    expect(backup.code).toBe(0)
    const staging = () => readdirSync(data).filter((name) => name.startsWith('.restore-'))

    const killed = Bun.spawn([BINARY, '--restore', archive, '--data-dir', data], {
      env: { PATH: process.env.PATH ?? '' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    for (let i = 0; i < 2000 && staging().length === 0; i++) await Bun.sleep(2)
    killed.kill('SIGKILL')
    await killed.exited
    expect(staging()).toHaveLength(1)

    const next = await runBinary(['--restore', archive, '--data-dir', data])
    expect(next.stderr).toBe('')
    expect(next.code).toBe(0)
    expect(next.stdout).toContain('removed what an interrupted restore left: .restore-')
    expect(staging()).toEqual([])

    // What a killed restore leaves, found by the next start of the server instead.
    const leftover = join(data, '.restore-2026-01-01T00-00-00-000Z')
    mkdirSync(join(leftover, 'media'), { recursive: true, mode: 0o700 })
    writeFileSync(join(leftover, 'wabox.db'), 'half a database', { mode: 0o600 })
    const restarted = await startServer({ cwd: work, args: ['--data-dir', data] })
    try {
      expect(staging()).toEqual([])
      expect(restarted.lines.join('\n')).toContain('removed the staging directory of an interrupted restore')
      expect((await fetch(`${restarted.url}/readyz`)).status).toBe(200)
    } finally {
      await restarted.stop()
    }
  }, 90_000)
})
