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

export class WriteHealth {
  private readonly failures = new Map<string, RecentFailure>()

  constructor(private readonly now: () => number = Date.now) {}

  /** Records `err` for `source` when it is a storage failure; returns what it was (null: not one). */
  failed(source: string, err: unknown): StorageFailure | null {
    const failure = storageFailureOf(err)
    if (failure) this.failures.set(source, { source, ...failure, at: this.now() })
    return failure
  }

  /** A write of `source` committed: whatever failed before is over for it. */
  succeeded(source: string): void {
    if (this.failures.size > 0) this.failures.delete(source)
  }

  /** Failures still recent, oldest first. */
  recent(): RecentFailure[] {
    const now = this.now()
    for (const [source, f] of this.failures) if (now - f.at >= WRITE_FAILURE_WINDOW_MS) this.failures.delete(source)
    return [...this.failures.values()].sort((a, b) => a.at - b.at)
  }
}
