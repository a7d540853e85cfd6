import { describe, expect, test } from 'bun:test'
import BetterSqlite3 from 'better-sqlite3'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runBinary, startServer } from '../testing/binary.ts'
import { tempDir } from '../testing/temp.ts'

const fileHash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

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
  return { written: () => written, stop: async () => ((running = false), await done) }
}

function rowsIn(dbPath: string): Set<string> {
  const conn = new BetterSqlite3(dbPath, { readonly: true })
  try {
    expect(conn.pragma('integrity_check', { simple: true })).toBe('ok')
    return new Set((conn.prepare("SELECT key FROM instance_meta WHERE key LIKE 'load-%'").all() as { key: string }[]).map((r) => r.key))
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
      expect(backup.stdout.trim().split('\n').at(-1)).toMatch(/^backup complete: .*snap\.tar\.gz \(\d+ bytes, database \d+ bytes, schema \S+, key [0-9a-f]{12}\) in \d+ ms$/)
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

    // The archive holds a manifest with checksums and the key's fingerprint, never the key.
    const files = await new Bun.Archive(await Bun.file(archive).bytes()).files()
    expect([...files.keys()].sort()).toEqual(['manifest.json', 'wabox.db'])
    const manifest = JSON.parse(await files.get('manifest.json')!.text())
    expect(manifest).toMatchObject({ format: 'wabox-backup', formatVersion: 1, keyFingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect(manifest.parts['wabox.db'].sha256).toBe(createHash('sha256').update(await files.get('wabox.db')!.bytes()).digest('hex'))
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

    const restored = await runBinary(['--restore', archive, '--data-dir', dataB, '--key-file', join(dataA, 'master.key')])
    expect(restored.stderr).toBe('')
    expect(restored.code).toBe(0)
    expect(restored.stdout).toContain('restore: integrity_check ok')
    expect(restored.stdout.trim().split('\n').at(-1)).toMatch(/^restore complete: .* the data directory was empty; master key installed$/)
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

    // Restoring over existing data keeps the old data aside.
    const again = await runBinary(['--restore', archive, '--data-dir', dataB])
    expect(again.code).toBe(0)
    const aside = readdirSync(dataB).filter((f) => f.startsWith('replaced-'))
    expect(aside).toHaveLength(1)
    expect(fileHash(join(dataB, aside[0]!, 'wabox.db'))).toBe(hashB)
  })

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
    variants.push(['checksum', { 'manifest.json': JSON.stringify(manifest), 'wabox.db': tamperedDb }, /does not match its checksum/])
    // Garbage over the b-tree pages, with a checksum that matches: only integrity_check can catch it.
    const corrupt = Buffer.from(db)
    corrupt.fill(0x5a, 4096 + 8, db.length - 1)
    const corruptManifest = { ...manifest, parts: { 'wabox.db': { sha256: sha(corrupt), bytes: corrupt.length } } }
    variants.push(['integrity', { 'manifest.json': JSON.stringify(corruptManifest), 'wabox.db': corrupt }, /integrity_check|cannot be opened/])
    variants.push(['newer schema', { 'manifest.json': JSON.stringify({ ...manifest, schemaVersion: '2099-01-01_001_future' }), 'wabox.db': db }, /newer than this binary knows/])
    variants.push(['stray entry', { 'manifest.json': JSON.stringify(manifest), 'wabox.db': db, '../evil': 'x' }, /unexpected entry/])
    variants.push(['no manifest', { 'wabox.db': db }, /no manifest\.json/])
    variants.push(['not a tarball', {}, /not a readable wabox backup/])

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
  })
})
