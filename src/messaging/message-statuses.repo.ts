/**
 * The message_statuses table: delivery statuses as WhatsApp reported them (early ones wait here for their send), one
 * per (message, status) — and per member, for a message sent to a group.
 */

import type { Insertable, Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { SyncDb } from '../db/client.ts'
import type { MessageStatusesTable } from './messaging.table.ts'

type Db = Kysely<Database> | Transaction<Database>

/** The statuses WhatsApp reported for a wamid so far (a send records them when it learns its wamid late). */
export const reportedFor = (db: Db, workspaceId: string, wamid: string) =>
  db
    .selectFrom('message_statuses')
    .select(['status', 'occurred_at'])
    .where('workspace_id', '=', workspaceId)
    .where('wamid', '=', wamid)
    .execute()

// ---- the intake processor's synchronous hot path -------------------------------------------------
// Plain SQL on the synchronous connection (db/client.ts SyncDb): the processor runs hundreds of small statements
// per batch, and a promise plus a query build per statement cost more than the statements. SQLite dialect (DESIGN
// §12 allows it here); every statement is scoped by workspace; every insert is idempotent by its unique key.

export function insertStatusOnce(db: SyncDb, s: Insertable<MessageStatusesTable>): boolean {
  return (
    db.run(
      `INSERT INTO message_statuses (workspace_id, channel_id, wamid, status, occurred_at, recipient, error_code, error_title, error_details, pricing, participant, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      s.workspace_id,
      s.channel_id,
      s.wamid,
      s.status,
      s.occurred_at,
      s.recipient,
      s.error_code,
      s.error_title,
      s.error_details,
      s.pricing,
      s.participant ?? '',
      s.detail ?? null,
    ).changes > 0
  )
}
