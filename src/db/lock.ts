/**
 * A data directory is owned by one process at a time: the server while it runs, or a restore while it
 * replaces the database. Ownership is an OS lock — flock(2) on `wabox.lock` — not a pid in a file: the kernel
 * knows who holds it across PID namespaces (two containers on one volume, on one kernel), keeps it for exactly
 * the life of the open file, and drops it when the holder dies, however it dies. The pid written into the file
 * only names the holder in messages (as its own PID namespace numbers it).
 *
 * A second lock, `restore.lock`, keeps backups and restores apart: a backup holds it shared while it reads the
 * data directory (a server may be running), a restore holds it exclusively while it replaces files.
 *
 * The same primitive guards a backup's temporary files (`lockFile`), so a later run can tell the leftovers of a
 * killed backup (unlocked) from the files of one still running (locked).
 *
 * Bun has no flock (node:fs neither), so it is called in libc through bun:ffi.
 */
import { dlopen, FFIType, read } from 'bun:ffi'
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'

export class LockError extends Error {
  override name = 'LockError'
  constructor(
    message: string,
    /** Who holds the lock ("process 123", as its PID namespace numbers it), when that is what failed. */
    readonly holder?: string,
  ) {
    super(message)
  }
}

export const LOCK_FILE = 'wabox.lock'
export const RESTORE_LOCK_FILE = 'restore.lock'

const LOCK_SH = 1
const LOCK_EX = 2
const LOCK_NB = 4
const darwin = process.platform === 'darwin'
// EWOULDBLOCK: 11 on Linux, 35 on macOS. ENOLCK, EOPNOTSUPP: 37 and 95 on Linux, 77 and 45 on macOS.
const BUSY = new Set([darwin ? 35 : 11])
const NO_LOCKS = new Set(darwin ? [77, 45] : [37, 95])

type Libc = { flock: (fd: number, op: number) => number; errno: () => number }
let libc: Libc | undefined

function loadLibc(): Libc {
  if (libc) return libc
  // Where errno lives: glibc and musl export __errno_location, macOS __error.
  const errnoSymbol = darwin ? '__error' : '__errno_location'
  const names = darwin
    ? ['libc.dylib']
    : ['libc.so.6', `libc.musl-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`]
  for (const name of names) {
    try {
      const lib = dlopen(name, {
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        [errnoSymbol]: { args: [], returns: FFIType.ptr },
      })
      const s = lib.symbols as unknown as Record<string, (...a: number[]) => unknown>
      const flock = s.flock!
      const errnoAt = s[errnoSymbol]!
      libc = { flock: (fd, op) => flock(fd, op) as number, errno: () => read.i32(errnoAt() as never, 0) }
      return libc
    } catch {
      // try the next name
    }
  }
  throw new LockError(`cannot load the C library to lock files (tried ${names.join(', ')})`)
}

/** flock(2) without waiting: true when taken, false when another open file holds a conflicting lock. */
function tryFlock(fd: number, shared: boolean): boolean {
  const c = loadLibc()
  for (;;) {
    if (c.flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) === 0) return true
    const errno = c.errno()
    if (BUSY.has(errno)) return false
    if (errno === 4) continue // EINTR
    // ENOLCK or EOPNOTSUPP: a file system without locks (some network mounts).
    if (NO_LOCKS.has(errno))
      throw new LockError(
        'the file system of the data directory does not support file locks (flock); put the data directory on a local file system',
      )
    throw new LockError(`flock failed (errno ${errno})`)
  }
}

export type HeldLock = {
  /** The open lock file (the lock lives as long as it is open). */
  fd: number
  /** Releases the lock; with `remove`, deletes the lock file first (only while it is still this lock's file). */
  release: (opts?: { remove?: boolean }) => void
}

/**
 * Locks `path` without waiting; returns null when another process holds it. `create`: true (default) creates
 * the file 0600 when missing, false requires it, 'new' creates it and fails if it exists (locked from its first
 * moment). A lock file that was replaced between open and lock (a releasing holder deleted it) is retried, so
 * two processes can never both think they hold the same path.
 */
export function lockFile(path: string, opts: { shared?: boolean; create?: boolean | 'new' } = {}): HeldLock | null {
  const flags =
    constants.O_RDWR | (opts.create === false ? 0 : constants.O_CREAT) | (opts.create === 'new' ? constants.O_EXCL : 0)
  for (let attempt = 0; attempt < 5; attempt++) {
    const fd = openSync(path, flags, 0o600)
    let held = false
    try {
      if (!tryFlock(fd, opts.shared ?? false)) return null
      let current: number | undefined
      try {
        current = statSync(path).ino
      } catch {
        current = undefined
      }
      if (current !== fstatSync(fd).ino) continue // deleted or replaced meanwhile: lock the file that is there now
      held = true
    } finally {
      if (!held) closeSync(fd)
    }
    let released = false
    return {
      release: ({ remove = false } = {}) => {
        if (released) return
        released = true
        try {
          if (remove && statSync(path).ino === fstatSync(fd).ino) unlinkSync(path)
        } catch {
          // already gone: nothing to remove
        }
        closeSync(fd) // closing the last descriptor releases the lock
      },
      fd,
    }
  }
  throw new LockError(`could not lock ${path}: it keeps being replaced`)
}

function holderOf(path: string): string {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim())
    if (Number.isInteger(pid) && pid > 0) return `process ${pid}`
  } catch {
    // unreadable or gone: no name to give
  }
  return 'another process'
}

/**
 * Takes the data directory for this process (server, restore); throws LockError naming the holder when another
 * process has it. The returned function releases it (and removes the lock file); a crash releases it too.
 */
export function acquireLock(dataDir: string, purpose: string): () => void {
  const path = join(dataDir, LOCK_FILE)
  const lock = lockFile(path)
  if (!lock) {
    const holder = holderOf(path)
    throw new LockError(`the data directory ${dataDir} is in use by ${holder}; stop it before ${purpose}`, holder)
  }
  ftruncateSync(lock.fd, 0)
  writeSync(lock.fd, `${process.pid}\n`, 0)
  return () => lock.release({ remove: true })
}

/**
 * The backup/restore gate: `read` (shared; backups, any number at once, beside a running server) or `replace`
 * (exclusive; a restore). Throws LockError when the other side holds it.
 */
export function acquireRestoreGate(dataDir: string, mode: 'read' | 'replace'): () => void {
  const lock = lockFile(join(dataDir, RESTORE_LOCK_FILE), { shared: mode === 'read' })
  if (!lock) {
    throw new LockError(
      mode === 'read'
        ? `a restore is replacing the data in ${dataDir}; back up after it has finished`
        : `a backup is reading ${dataDir}; restore after it has finished`,
    )
  }
  return () => lock.release()
}
