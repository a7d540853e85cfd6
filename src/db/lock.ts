/**
 * A data directory is owned by one process at a time: the server while it runs, or a restore while it
 * replaces the database. The lock file holds the owner's pid; a lock whose pid is gone is stale and taken over.
 */
import { closeSync, constants, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'

export class LockError extends Error {
  override name = 'LockError'
}

export const LOCK_FILE = 'wabox.lock'

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The pid holding the data directory, or null when it is free (or only a stale lock is left). */
export function lockHolder(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : null
  } catch {
    return null
  }
}

/** Takes the data directory's lock for this process; throws LockError naming the holder when taken. */
export function acquireLock(dataDir: string, purpose: string): () => void {
  const path = join(dataDir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      let released = false
      return () => {
        if (released) return
        released = true
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path)
        } catch {
          // already gone: nothing to release
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = lockHolder(dataDir)
      if (holder !== null) {
        throw new LockError(`the data directory ${dataDir} is in use by process ${holder}; stop it before ${purpose}`)
      }
      // Stale lock from a process that died without cleaning up: remove it and try once more.
      try {
        unlinkSync(path)
      } catch {
        // another process removed it first; the retry decides who wins
      }
    }
  }
  throw new LockError(`could not lock the data directory ${dataDir} for ${purpose}`)
}
