// Frozen: migrations never import from src/ — they describe the schema as it was on their date.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  // Messages per second this number may send (Meta's default throughput is 80).
  await db.schema
    .alterTable('channels')
    .addColumn('send_rate', 'integer', (c) => c.notNull().defaultTo(80))
    .execute()

  // The transactional outbox: written with its message row, claimed and sent by the sender, never lost.
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull().unique())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('request', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('queued', 'sending', 'sent', 'failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('claimed_at', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await sql`CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'queued'`.execute(db)
  await db.schema.createIndex('outbox_workspace').on('outbox').columns(['workspace_id', 'state', 'id']).execute()

  // Idempotency-Key: the first answer to a (workspace, key) is kept and replayed; the body hash catches reuse.
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('response', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['workspace_id', 'key'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute()
  await db.schema.dropTable('outbox').execute()
  await db.schema.alterTable('channels').dropColumn('send_rate').execute()
}
