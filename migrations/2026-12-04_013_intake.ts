// Frozen: migrations never import from src/ — they describe the schema as it was on their date.
import { type Kysely, sql } from 'kysely'

// The durable queue of inbound events (Cloud API webhooks and QR-linked devices both write into it) is the
// "intake": "inbox" now means the team inbox people read. `webhook_inbox` becomes `intake_events`, every row and
// id kept.
//
// ALTER TABLE … RENAME keeps the rows and the AUTOINCREMENT counter (sqlite_sequence follows the rename), and the
// indexes under their old names. SQLite cannot rename an index, so each is dropped and created again, from the
// same definition, under the new table's name. One transaction (the migrator runs SQLite migrations without one,
// and SQLite DDL is transactional): a failure leaves the old table and its indexes as they were.

/** The queue's indexes, named after its table (as migration 003 named them). */
const indexesOf = (table: string) => [
  `CREATE UNIQUE INDEX ${table}_key ON ${table} (workspace_id, idempotency_key)`,
  // The processor drains every tenant's pending rows in arrival order; this partial index stays small.
  `CREATE INDEX ${table}_pending ON ${table} (next_attempt_at, id) WHERE state = 'pending'`,
  `CREATE INDEX ${table}_dead ON ${table} (workspace_id, state, id)`,
]

async function renameQueue(db: Kysely<any>, from: string, to: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const index of ['key', 'pending', 'dead']) await sql.raw(`DROP INDEX ${from}_${index}`).execute(trx)
    await sql.raw(`ALTER TABLE ${from} RENAME TO ${to}`).execute(trx)
    for (const index of indexesOf(to)) await sql.raw(index).execute(trx)
  })
}

export async function up(db: Kysely<any>): Promise<void> {
  await renameQueue(db, 'webhook_inbox', 'intake_events')
}

export async function down(db: Kysely<any>): Promise<void> {
  await renameQueue(db, 'intake_events', 'webhook_inbox')
}
