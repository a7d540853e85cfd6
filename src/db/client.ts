/**
 * The one place that knows the SQLite driver. Everything else sees Kysely<Database>, so moving to
 * `bun:sqlite` later means changing this file only.
 */
import { BetterSqlite3, type Sqlite, type Statement } from './sqlite-driver.ts'
import { Kysely, SqliteDialect } from 'kysely'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Database } from './database.ts'

/** The database file inside the data directory. */
export const DB_FILE = 'wabox.db'

export type { Sqlite }
export type Db = Kysely<Database>
export type DbHandle = { sqlite: Sqlite; db: Db; path: string; close: () => Promise<void> }

export type OpenOptions = {
  /** `FULL` (default) makes every commit durable before it returns; webhook acks depend on that. */
  synchronous?: 'FULL' | 'NORMAL'
  readonly?: boolean
}

/** Applies wabox's pragmas to a raw connection. busy_timeout goes first so the others wait, not fail. */
export function applyPragmas(sqlite: Sqlite, opts: OpenOptions = {}): void {
  sqlite.pragma('busy_timeout = 5000')
  if (!opts.readonly) sqlite.pragma('journal_mode = WAL')
  sqlite.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`)
  sqlite.pragma('foreign_keys = ON')
}

/** What Kysely runs for a `rollback` SQLite already did (see withStatementCache). */
const NO_TRANSACTION_LEFT = { reader: false, run: () => ({ changes: 0, lastInsertRowid: 0 }) } as unknown as Statement

/**
 * Kysely prepares every query afresh; preparing costs more than running a small statement. The same SQL
 * text (Kysely emits placeholders, never inlined values) reuses one prepared statement.
 */
function withStatementCache(sqlite: Sqlite): { close(): void; prepare(sql: string): Statement } {
  const cache = new Map<string, Statement>()
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      // SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM…).
      // Kysely then sends its own `rollback`, which fails with "cannot rollback - no transaction is active" and
      // replaces the real error (the disk-full code the write paths report, the error mapper's 503). The
      // transaction is already over: the rollback has nothing left to do.
      if (sql === 'rollback' && !sqlite.inTransaction) return NO_TRANSACTION_LEFT
      let statement = cache.get(sql)
      if (!statement) {
        statement = sqlite.prepare(sql)
        // Bounded: dynamic IN lists and multi-row inserts produce many shapes.
        if (cache.size >= 2000) cache.clear()
        cache.set(sql, statement)
      }
      return statement
    },
  }
}

/** Opens (creating if needed) the database file at `path`, or `:memory:`. */
export function openDatabase(path: string, opts: OpenOptions = {}): DbHandle {
  if (path !== ':memory:' && !opts.readonly) mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const sqlite = new BetterSqlite3(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false })
  return handleOf(sqlite, path, opts)
}

/**
 * An in-memory database that starts as a copy of `image` (another database's `serialize()`): the test suite
 * migrates one template per process and opens each test app's database from it.
 */
export function openDatabaseImage(image: Buffer): DbHandle {
  return handleOf(new BetterSqlite3(image), ':memory:', {})
}

function handleOf(sqlite: Sqlite, path: string, opts: OpenOptions): DbHandle {
  applyPragmas(sqlite, opts)
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) })
  return {
    sqlite,
    db,
    path,
    // Kysely's destroy() closes the driver connection, which is the better-sqlite3 handle.
    close: () => db.destroy(),
  }
}

/**
 * True when the connection can take the write lock and write a row. The write is rolled back, so a
 * readiness probe leaves nothing behind; it fails on a read-only file, a full disk or `query_only`.
 */
export function probeWritable(sqlite: Sqlite): { ok: boolean; detail?: string } {
  try {
    sqlite.exec('BEGIN IMMEDIATE')
    try {
      sqlite
        .prepare("INSERT OR REPLACE INTO instance_meta (key, value) VALUES ('ready_probe', ?)")
        .run(new Date().toISOString())
    } finally {
      sqlite.exec('ROLLBACK')
    }
    return { ok: true }
  } catch (err) {
    return { ok: false, detail: (err as { code?: string }).code ?? 'write failed' }
  }
}

/**
 * PRAGMA quick_check: the structure of every page (b-trees, free list, record formats), without the slower
 * index-content comparison of integrity_check. Returns the problems it found (at most `max`); none means sound.
 */
export function quickCheck(sqlite: Sqlite, max = 5): string[] {
  let rows: { quick_check: string }[]
  try {
    rows = sqlite.pragma(`quick_check(${Math.max(1, Math.floor(max))})`) as { quick_check: string }[]
  } catch (err) {
    // Damage bad enough that the check itself cannot walk the file is a finding, not a crash.
    if (/^SQLITE_(CORRUPT|NOTADB)/.test(String((err as { code?: unknown }).code))) return [(err as Error).message]
    throw err
  }
  const problems = rows.map((r) => r.quick_check)
  return problems.length === 1 && problems[0] === 'ok' ? [] : problems
}

/** Folds the WAL back into the database file and refreshes planner statistics. */
export function runMaintenance(sqlite: Sqlite): { walPages: number } {
  const [row] = sqlite.pragma('wal_checkpoint(TRUNCATE)') as { log: number }[]
  sqlite.pragma('optimize')
  return { walPages: row?.log ?? 0 }
}

/** Synchronous statements for hot write paths (prepared once, bound per call). */
export type SyncDb = {
  get<T>(sql: string, ...params: unknown[]): T | undefined
  all<T>(sql: string, ...params: unknown[]): T[]
  run(sql: string, ...params: unknown[]): { changes: number }
}

export type SyncTransaction = <T>(fn: (db: SyncDb) => T) => Promise<T>

/**
 * Runs `fn` as one synchronous transaction on the connection Kysely uses. It first takes Kysely's hold on
 * that connection, so no async transaction can be open underneath (its statements would otherwise join
 * ours). For the intake processor: hundreds of small statements per batch, without a promise per statement.
 */
export function syncTransactions(handle: DbHandle): SyncTransaction {
  const db = syncDbOf(handle.sqlite)
  return (fn) => handle.db.connection().execute(async () => handle.sqlite.transaction(() => fn(db))())
}

/** Synchronous statements on a connection, each prepared once and reused. */
export function syncDbOf(sqlite: Sqlite): SyncDb {
  const statements = new Map<string, Statement>()
  const prepared = (sql: string) => {
    let s = statements.get(sql)
    if (!s) statements.set(sql, (s = sqlite.prepare(sql)))
    return s
  }
  return {
    get: <T>(sql: string, ...params: unknown[]) => prepared(sql).get(...params) as T | undefined,
    all: <T>(sql: string, ...params: unknown[]) => prepared(sql).all(...params) as T[],
    run: (sql: string, ...params: unknown[]) => ({ changes: prepared(sql).run(...params).changes }),
  }
}
