// Frozen: migrations never import from src/ — they describe the schema as it was on their date.
import { type Kysely, sql } from 'kysely'

// A QR-linked number's pacing looks at its own sends of the last day (on each send request, and when the sender
// starts); the sender's sweep looks for rows a crash left `sending` every minute. Without these indexes both
// read every row of the outbox (the first, every sent row of the workspace, Cloud channels' included).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX outbox_channel_recent ON outbox (channel_id, state, updated_at)`.execute(db)
  await sql`CREATE INDEX outbox_sending ON outbox (id) WHERE state = 'sending'`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX outbox_sending`.execute(db)
  await sql`DROP INDEX outbox_channel_recent`.execute(db)
}
