// Frozen: migrations never import from src/ — they describe the schema as it was on their date.
import { type Kysely, sql } from 'kysely'

// The sender reads each channel's due rows on its own. With only the global (next_attempt_at, id) index, that
// read walked past every other channel's backlog first, so a deep queue made each pass slower; this index lets
// it start at the channel's own rows.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX outbox_channel_due ON outbox (channel_id, next_attempt_at, id) WHERE state = 'queued'`.execute(
    db,
  )
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX outbox_channel_due`.execute(db)
}
