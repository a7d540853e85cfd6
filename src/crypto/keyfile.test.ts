import { describe, expect, test } from 'bun:test'
import { chmodSync, statSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { KeyFileError, keyFingerprint, loadMasterKey } from './keyfile.ts'
import { runBinary } from '../testing/binary.ts'
import { tempDir } from '../testing/temp.ts'

function keyError(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(KeyFileError)
    return (err as Error).message
  }
  throw new Error('expected a KeyFileError')
}

describe('master key', () => {
  test('created on first load with mode 0600, then read back unchanged', () => {
    const keyFile = join(tempDir(), 'data', 'master.key')
    const first = loadMasterKey({ keyFile, envKey: undefined, create: true })
    expect(first.created).toBe(true)
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    expect(statSync(keyFile).size).toBe(32)
    const again = loadMasterKey({ keyFile, envKey: undefined, create: true })
    expect(again.created).toBe(false)
    expect(again.fingerprint).toBe(first.fingerprint)
    expect(Buffer.from(again.key).equals(Buffer.from(first.key))).toBe(true)
  })

  test('refused when readable by group or others', () => {
    const keyFile = join(tempDir(), 'master.key')
    writeFileSync(keyFile, randomBytes(32), { mode: 0o600 })
    for (const mode of [0o644, 0o640, 0o604]) {
      chmodSync(keyFile, mode)
      expect(keyError(() => loadMasterKey({ keyFile, envKey: undefined, create: true }))).toContain(
        `has mode 0${mode.toString(8)}`,
      )
    }
  })

  test('refused when empty or the wrong length', () => {
    const keyFile = join(tempDir(), 'master.key')
    for (const size of [0, 16, 31, 33, 64]) {
      writeFileSync(keyFile, randomBytes(size), { mode: 0o600 })
      chmodSync(keyFile, 0o600)
      expect(keyError(() => loadMasterKey({ keyFile, envKey: undefined, create: true }))).toContain(
        `holds ${size} bytes`,
      )
    }
  })

  test('missing and not allowed to create', () => {
    const keyFile = join(tempDir(), 'master.key')
    expect(keyError(() => loadMasterKey({ keyFile, envKey: undefined, create: false }))).toContain('does not exist')
  })

  test('WABOX_MASTER_KEY: base64 of 32 bytes wins over the file; bad values are named, never echoed', () => {
    const keyFile = join(tempDir(), 'master.key')
    const raw = randomBytes(32)
    const loaded = loadMasterKey({ keyFile, envKey: raw.toString('base64'), create: true })
    expect(loaded.source).toBe('env')
    expect(loaded.fingerprint).toBe(keyFingerprint(raw))
    expect(Bun.file(keyFile).size).toBe(0) // no file was created
    const short = randomBytes(16).toString('base64')
    const msg = keyError(() => loadMasterKey({ keyFile, envKey: short, create: true }))
    expect(msg).toContain('must decode to 32 bytes (it decodes to 16)')
    expect(msg).not.toContain(short)
    expect(keyError(() => loadMasterKey({ keyFile, envKey: 'not base64 !!', create: true }))).toContain(
      'not valid base64',
    )
  })

  test('the fingerprint is stable and does not reveal the key', () => {
    const raw = randomBytes(32)
    expect(keyFingerprint(raw)).toBe(keyFingerprint(Buffer.from(raw)))
    expect(keyFingerprint(raw)).toMatch(/^[0-9a-f]{64}$/)
    expect(keyFingerprint(raw)).not.toContain(raw.toString('hex'))
  })
})

describe('master key through the compiled binary', () => {
  test('start is refused with a clear message for a 0644, empty or short key file', async () => {
    for (const [content, mode, message] of [
      [randomBytes(32), 0o644, 'must not be readable by group or others'],
      [Buffer.alloc(0), 0o600, 'holds 0 bytes'],
      [randomBytes(20), 0o600, 'holds 20 bytes'],
    ] as [Buffer, number, string][]) {
      const dir = tempDir()
      writeFileSync(join(dir, 'master.key'), content)
      chmodSync(join(dir, 'master.key'), mode)
      const r = await runBinary(['--data-dir', dir, '--port', '0'], { cwd: dir })
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(message)
      expect(await Bun.file(join(dir, 'wabox.db')).exists()).toBe(false)
    }
  })

  test('a bad WABOX_MASTER_KEY is refused', async () => {
    const dir = tempDir()
    const r = await runBinary(['--data-dir', dir, '--port', '0'], { cwd: dir, env: { WABOX_MASTER_KEY: 'AAAA' } })
    // A malformed key is bad configuration: exit 2, like every other invalid setting.
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('WABOX_MASTER_KEY must decode to 32 bytes')
  })
})
