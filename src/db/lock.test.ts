import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../testing/temp.ts'
import { acquireLock, acquireRestoreGate, lockFile, LockError, LOCK_FILE } from './lock.ts'

describe('data directory locks (flock)', () => {
  test('one owner at a time; the holder is named; releasing frees it and removes the file', () => {
    const dir = tempDir()
    const release = acquireLock(dir, 'testing')
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`)
    // flock belongs to the open file, so even this process cannot take it twice.
    const second = (() => {
      try {
        return acquireLock(dir, 'starting another server')
      } catch (err) {
        return err
      }
    })()
    expect(second).toBeInstanceOf(LockError)
    expect((second as LockError).message).toBe(
      `the data directory ${dir} is in use by process ${process.pid}; stop it before starting another server`,
    )
    expect((second as LockError).holder).toBe(`process ${process.pid}`)
    release()
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false)
    acquireLock(dir, 'testing')()
  })

  test('a lock file left by a dead holder (stale pid inside) is simply taken', () => {
    const dir = tempDir()
    writeFileSync(join(dir, LOCK_FILE), '999999\n')
    const release = acquireLock(dir, 'testing')
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`)
    release()
  })

  test('backups share the restore gate; a restore excludes them and they exclude it', () => {
    const dir = tempDir()
    const a = acquireRestoreGate(dir, 'read')
    const b = acquireRestoreGate(dir, 'read')
    expect(() => acquireRestoreGate(dir, 'replace')).toThrow(/a backup is reading/)
    a()
    b()
    const restore = acquireRestoreGate(dir, 'replace')
    expect(() => acquireRestoreGate(dir, 'read')).toThrow(/a restore is replacing/)
    restore()
  })

  test('lockFile without create leaves missing files missing', () => {
    const dir = tempDir()
    expect(() => lockFile(join(dir, 'none'), { create: false })).toThrow()
    expect(existsSync(join(dir, 'none'))).toBe(false)
  })
})
