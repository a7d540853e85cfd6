/**
 * Recent write failures, as the paths that write saw them: the webhook intake's group commit, the request write
 * group (sends) and the background workers report here. A probe that writes and rolls back succeeds on a full
 * disk (nothing reaches the file) and on a database damaged where the probe does not look; real writes do not.
 * `/readyz` is not ready while a failure is recent: less than WRITE_FAILURE_WINDOW_MS old, and not followed by
 * a successful write of the same path (so it recovers by itself the moment space comes back).
 *
 * Only storage failures count — the disk, the file, the database — never a constraint or a bug in one write.
 */

export const WRITE_FAILURE_WINDOW_MS = 30_000

export type StorageFailure = { code: string; detail: string }

/** SQLite's result codes (better-sqlite3 puts them in `code`) and errno codes, by what they tell an operator. */
const STORAGE_CODES: [RegExp, string][] = [
  [/^SQLITE_FULL/, 'disk full'],
  [/^ENOSPC$|^EDQUOT$/, 'disk full'],
  [/^SQLITE_IOERR/, 'I/O error'],
  [/^EIO$/, 'I/O error'],
  [/^SQLITE_READONLY/, 'database is read-only'],
  [/^EROFS$/, 'file system is read-only'],
  [/^SQLITE_CORRUPT|^SQLITE_NOTADB/, 'database file is damaged'],
  [/^SQLITE_CANTOPEN/, 'database file cannot be opened'],
]

/** The storage failure behind `err` (or its causes), if it is one. */
export function storageFailureOf(err: unknown): StorageFailure | null {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code !== 'string') continue
    const match = STORAGE_CODES.find(([pattern]) => pattern.test(code))
    if (match) return { code, detail: match[1] }
  }
  return null
}

export type RecentFailure = { source: string; code: string; detail: string; at: number }

/** Free space that shows a full disk is over: more than a commit's worth, not the few blocks a deleted temp file gave back. */
export const DISK_ROOM_BYTES = 1024 * 1024

export class WriteHealth {
  private readonly failures = new Map<string, RecentFailure>()

  constructor(
    private readonly now: () => number = Date.now,
    /** Bytes free on the data disk (null: unknown); lets one path's commit end the others' "disk full". */
    private readonly freeBytes?: () => number | null,
  ) {}

  /** Records `err` for `source` when it is a storage failure; returns what it was (null: not one). */
  failed(source: string, err: unknown): StorageFailure | null {
    const failure = storageFailureOf(err)
    if (failure) this.failures.set(source, { source, ...failure, at: this.now() })
    return failure
  }

  /**
   * A write of `source` committed: whatever failed before is over for it. A full disk can be over for every path:
   * they all write the same database on the same disk — but a small commit can succeed on a full disk (the WAL
   * reuses its own space), so only when the disk also has room again (DISK_ROOM_BYTES free). Otherwise a send
   * that failed on the full disk would keep `/readyz` 503 until the next send, or 30 s, after space came back.
   * Other failures (I/O errors, a damaged file) stay each path's own.
   */
  succeeded(source: string): void {
    if (this.failures.size === 0) return
    this.failures.delete(source)
    if (![...this.failures.values()].some((f) => f.detail === 'disk full')) return
    let free: number | null = null
    try {
      free = this.freeBytes?.() ?? null
    } catch {
      free = null
    }
    if (free === null || free < DISK_ROOM_BYTES) return
    for (const [other, f] of this.failures) if (f.detail === 'disk full') this.failures.delete(other)
  }

  /**
   * Failures still recent, oldest first. A disk-full failure outlives the window while the disk is still short of
   * room: a quiet instance must not turn ready again only because nothing tried to write for 30 s.
   */
  recent(): RecentFailure[] {
    const now = this.now()
    let free: number | null | undefined
    for (const [source, f] of this.failures) {
      if (now - f.at < WRITE_FAILURE_WINDOW_MS) continue
      if (f.detail === 'disk full') {
        free ??= this.freeBytes?.() ?? null
        if (free !== null && free < DISK_ROOM_BYTES) continue
      }
      this.failures.delete(source)
    }
    return [...this.failures.values()].sort((a, b) => a.at - b.at)
  }
}
