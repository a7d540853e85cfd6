// Frozen: migrations never import from src/ — they describe the schema as it was on their date.
import { type Kysely, sql } from 'kysely'

// What a QR-linked number sent, kept for WhatsApp's retry requests: a recipient whose phone could not decrypt a
// message asks for it again, and Baileys can answer only with the message itself (its `getMessage`). One sealed
// value per (channel, WhatsApp message id), kept 14 days (WhatsApp's window for such requests), across restarts.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('qr_sent_messages')
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull().references('channels.id').onDelete('cascade'))
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('remote_jid', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('sent_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('qr_sent_messages_pk', ['channel_id', 'message_id'])
    .execute()
  await sql`CREATE INDEX qr_sent_messages_age ON qr_sent_messages (channel_id, sent_at)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('qr_sent_messages').execute()
}
