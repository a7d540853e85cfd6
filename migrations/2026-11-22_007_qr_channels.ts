// Frozen: migrations never import from src/ — they describe the schema as it was on their date.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  // A QR-linked device's connection, as the API shows it: state, since when, the last error, reconnects.
  for (const [name, type] of [
    ['connection_state', 'text'],
    ['connection_since', 'text'],
    ['last_error', 'text'],
    ['linked_at', 'text'],
    ['qr_settings', 'text'],
  ] as const) {
    await db.schema.alterTable('channels').addColumn(name, type).execute()
  }
  await db.schema
    .alterTable('channels')
    .addColumn('reconnect_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()

  // Baileys' session (creds and Signal keys), one sealed value per (type, id); no session files on disk.
  await db.schema
    .createTable('qr_auth_state')
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull().references('channels.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('qr_auth_state_pk', ['channel_id', 'type', 'key_id'])
    .execute()

  // WhatsApp's privacy ids (@lid) and the phone numbers behind them, so one person stays one contact.
  await db.schema
    .createTable('lid_mappings')
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('lid', 'text', (c) => c.notNull())
    .addColumn('wa_id', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('lid_mappings_pk', ['workspace_id', 'lid'])
    .execute()
  await sql`CREATE INDEX lid_mappings_wa_id ON lid_mappings (workspace_id, wa_id)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('lid_mappings').execute()
  await db.schema.dropTable('qr_auth_state').execute()
  for (const name of [
    'reconnect_count',
    'qr_settings',
    'linked_at',
    'last_error',
    'connection_since',
    'connection_state',
  ])
    await db.schema.alterTable('channels').dropColumn(name).execute()
}
