// Frozen: migrations never import from src/ — they describe the schema as it was on their date.
import { type Kysely, sql } from 'kysely'

// A new channel status, `pending`: a QR channel that has not been linked yet (it was `needs_reauth` until now,
// which told the team to relink a number that had never been linked). `needs_reauth` keeps its meaning: a number
// that was linked (or a Cloud token that worked) and no longer is.
//
// The status CHECK was written without a name (migration 003), and SQLite can only drop a named constraint, so the
// table is rebuilt once: SQLite's documented procedure (https://sqlite.org/lang_altertable.html#otheralter) —
// foreign keys off (outside any transaction; the migrator runs SQLite migrations without one), then in one
// transaction: a copy of the table under its exact current definition except the CHECK, the rows, the indexes,
// drop and rename, and a foreign-key check before commit. Foreign keys being off matters: dropping `channels` with
// them on would cascade into conversations, messages and QR sessions.
// The new CHECK is named `channels_status`, so the next change needs no rebuild: `ALTER TABLE channels DROP
// CONSTRAINT channels_status` + `ADD CONSTRAINT …`, on SQLite (3.53+) and PostgreSQL alike.

const OLD_CHECK = `check (status IN ('active', 'needs_reauth', 'disconnected'))`
const NEW_CHECK = `constraint "channels_status" check (status IN ('pending', 'active', 'needs_reauth', 'disconnected'))`

/** Rebuilds `channels` with the CHECK `from` replaced by `to`; `fix` (an UPDATE) runs in the same transaction. */
async function rebuildChannels(db: Kysely<any>, from: string, to: string, fix?: string): Promise<void> {
  const table = await sql<{
    sql: string
  }>`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'channels'`.execute(db)
  const definition = table.rows[0]?.sql
  if (definition?.split(from).length !== 2 || !definition.startsWith('CREATE TABLE "channels" (')) {
    throw new Error('the channels table does not have the definition this migration expects; it was left as it was')
  }
  const indexes = await sql<{
    sql: string
  }>`SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'channels' AND sql IS NOT NULL`.execute(db)
  const rebuilt = definition.replace(from, to).replace('CREATE TABLE "channels" (', 'CREATE TABLE "channels_rebuilt" (')
  await sql`PRAGMA foreign_keys = OFF`.execute(db)
  try {
    await db.transaction().execute(async (trx) => {
      await sql.raw(rebuilt).execute(trx)
      await sql`INSERT INTO channels_rebuilt SELECT * FROM channels`.execute(trx)
      await sql`DROP TABLE channels`.execute(trx)
      await sql`ALTER TABLE channels_rebuilt RENAME TO channels`.execute(trx)
      for (const index of indexes.rows) await sql.raw(index.sql).execute(trx)
      if (fix) await sql.raw(fix).execute(trx)
      const broken = await sql<Record<string, unknown>>`PRAGMA foreign_key_check`.execute(trx)
      if (broken.rows.length > 0)
        throw new Error(`rebuilding channels would break ${broken.rows.length} foreign key(s); nothing was changed`)
    })
  } finally {
    await sql`PRAGMA foreign_keys = ON`.execute(db)
  }
}

export async function up(db: Kysely<any>): Promise<void> {
  // QR channels that never connected: no number was ever seen (the first connection records it).
  const fix = `UPDATE channels SET status = 'pending' WHERE provider = 'qr' AND status = 'needs_reauth' AND linked_at IS NULL AND display_phone_number IS NULL`
  await rebuildChannels(db, OLD_CHECK, NEW_CHECK, fix)
}

export async function down(db: Kysely<any>): Promise<void> {
  // Pending rows go first: the copy under the old CHECK would refuse them.
  await sql`UPDATE channels SET status = 'needs_reauth' WHERE status = 'pending'`.execute(db)
  await rebuildChannels(db, NEW_CHECK, OLD_CHECK)
}
