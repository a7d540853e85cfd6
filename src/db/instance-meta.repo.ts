/**
 * instance_meta: the instance's own key/value facts. The setup token (its hash and expiry) lives here while no
 * account exists. (db/client.ts also writes its readiness probe row here, in SQLite's own terms.)
 */
import type { Kysely, Transaction } from 'kysely'
import type { SyncDb } from './client.ts'
import type { Database } from './database.ts'

type Db = Kysely<Database> | Transaction<Database>

const SETUP_TOKEN_KEYS = ['setup_token_hash', 'setup_token_expires_at'] as const

export type StoredSetupToken = { hash: string | undefined; expiresAt: string | undefined }

export async function readSetupToken(db: Db): Promise<StoredSetupToken> {
  const rows = await db
    .selectFrom('instance_meta')
    .select(['key', 'value'])
    .where('key', 'in', SETUP_TOKEN_KEYS)
    .execute()
  const stored = Object.fromEntries(rows.map((row) => [row.key, row.value]))
  return { hash: stored.setup_token_hash, expiresAt: stored.setup_token_expires_at }
}

/** Replaces any earlier token. */
export async function saveSetupToken(db: Db, token: { hash: string; expiresAt: string }, at: string): Promise<void> {
  for (const [key, value] of [
    ['setup_token_hash', token.hash],
    ['setup_token_expires_at', token.expiresAt],
  ] as const) {
    await db
      .insertInto('instance_meta')
      .values({ key, value, updated_at: at })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: at }))
      .execute()
  }
}

export async function deleteSetupToken(db: Db): Promise<void> {
  await db.deleteFrom('instance_meta').where('key', 'in', SETUP_TOKEN_KEYS).execute()
}

/** When the last backup archive was completed (written by `wabox --backup`; /metrics shows its age). */
export async function readLastBackupAt(db: Db): Promise<string | null> {
  const row = await db
    .selectFrom('instance_meta')
    .select('value')
    .where('key', '=', 'last_backup_at')
    .executeTakeFirst()
  return row?.value ?? null
}

/**
 * Records a completed backup, from the backup command's own connection (a plain SQL statement PostgreSQL also
 * runs: the backup tool opens the database file directly, without the server's Kysely instance).
 */
export function recordBackupSync(db: SyncDb, at: string): void {
  db.run(
    "INSERT INTO instance_meta (key, value, updated_at) VALUES ('last_backup_at', ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    at,
    at,
  )
}
