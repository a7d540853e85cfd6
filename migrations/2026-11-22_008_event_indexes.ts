// Frozen: migrations never import from src/ — they describe the schema as it was on their date.
import { type Kysely, sql } from 'kysely'

// Pruning old events asks "does a delivery still need this event?", and deleting a delivery cascades to its
// attempts: without these indexes both are full scans per row.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id)`.execute(db)
  await sql`CREATE INDEX webhook_attempts_delivery_only ON webhook_attempts (delivery_id)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX webhook_attempts_delivery_only`.execute(db)
  await sql`DROP INDEX webhook_deliveries_event`.execute(db)
}
