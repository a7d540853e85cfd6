/** The qr_sent_messages table: what a QR-linked number sent, sealed, for WhatsApp's retry requests. */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../../db/database.ts'
import type { QrSentMessagesTable } from '../channels.table.ts'

type Db = Kysely<Database> | Transaction<Database>

/** Stores a sent message; a second send under the same id (a retried send) replaces the first. */
export async function saveSentMessage(db: Db, row: QrSentMessagesTable): Promise<void> {
  await db
    .insertInto('qr_sent_messages')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['channel_id', 'message_id']).doUpdateSet((eb) => ({
        remote_jid: eb.ref('excluded.remote_jid'),
        message: eb.ref('excluded.message'),
        sent_at: eb.ref('excluded.sent_at'),
      })),
    )
    .execute()
}

export const findSentMessage = (db: Db, workspaceId: string, channelId: string, messageId: string, since: string) =>
  db
    .selectFrom('qr_sent_messages')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('channel_id', '=', channelId)
    .where('message_id', '=', messageId)
    .where('sent_at', '>=', since)
    .executeTakeFirst()

export async function deleteSentBefore(db: Db, workspaceId: string, channelId: string, before: string): Promise<void> {
  await db
    .deleteFrom('qr_sent_messages')
    .where('workspace_id', '=', workspaceId)
    .where('channel_id', '=', channelId)
    .where('sent_at', '<', before)
    .execute()
}

export async function deleteAllSent(db: Db, workspaceId: string, channelId: string): Promise<void> {
  await db
    .deleteFrom('qr_sent_messages')
    .where('workspace_id', '=', workspaceId)
    .where('channel_id', '=', channelId)
    .execute()
}
