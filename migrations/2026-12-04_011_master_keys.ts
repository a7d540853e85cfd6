// Frozen: migrations never import from src/ — they describe the schema as it was on their date.
import { type Kysely, sql } from 'kysely'

// The master keys this database's sealed values are sealed with, by the id their envelopes carry
// (`v1.<key_id>.…`, the first 16 hex digits of the key's fingerprint). `serve` records the key it starts with
// and refuses to start with another one while sealed values name a key that is not loaded; it also refuses to
// create a new key file beside them. The table is filled at the next start (the key is not known here).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('master_keys')
    .addColumn('key_id', 'text', (c) => c.primaryKey())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'text', (c) => c.notNull().defaultTo(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('master_keys').execute()
}
