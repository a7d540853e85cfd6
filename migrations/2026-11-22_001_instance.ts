// Frozen: migrations never import from src/ — they describe the schema as it was on their date.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  // Instance-wide key/value facts (instance id, setup state). Not tenant data, so no workspace_id.
  await db.schema
    .createTable('instance_meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull().defaultTo(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`))
    .execute()
  await sql`INSERT INTO instance_meta (key, value) VALUES ('instance_id', lower(hex(randomblob(16))))`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('instance_meta').execute()
}
