/** The channel_events table: account, quality and template notices from Meta, as they came (the processor writes them). */
import type { SyncDb } from '../db/client.ts'

// ---- the intake processor's synchronous hot path -------------------------------------------------
// Plain SQL on the synchronous connection (db/client.ts SyncDb): the processor runs hundreds of small statements
// per batch, and a promise plus a query build per statement cost more than the statements. SQLite dialect (DESIGN
// §12 allows it here); every statement is scoped by workspace; every insert is idempotent by its unique key.

export function insertChannelEvent(
  db: SyncDb,
  e: {
    workspaceId: string
    channelId: string
    field: string
    event: string | null
    payload: string
    occurredAt: string
  },
): void {
  db.run(
    'INSERT INTO channel_events (workspace_id, channel_id, field, event, payload, occurred_at) VALUES (?, ?, ?, ?, ?, ?)',
    e.workspaceId,
    e.channelId,
    e.field,
    e.event,
    e.payload,
    e.occurredAt,
  )
}
