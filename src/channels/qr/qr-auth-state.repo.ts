/** The qr_auth_state table: a QR-linked device's sealed Baileys creds and Signal keys (auth-store.ts seals and opens them). */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../../db/database.ts'
import type { QrAuthStateTable } from '../channels.table.ts'

type Db = Kysely<Database> | Transaction<Database>

export const findRows = (db: Db, workspaceId: string, channelId: string, type: string, ids: string[]) =>
  db
    .selectFrom('qr_auth_state')
    .select(['key_id', 'value'])
    .where('workspace_id', '=', workspaceId)
    .where('channel_id', '=', channelId)
    .where('type', '=', type)
    .where('key_id', 'in', ids)
    .execute()

export async function upsertRows(db: Db, rows: QrAuthStateTable[]): Promise<void> {
  await db
    .insertInto('qr_auth_state')
    .values(rows)
    .onConflict((oc) =>
      oc
        .columns(['channel_id', 'type', 'key_id'])
        .doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), updated_at: eb.ref('excluded.updated_at') }))
        .whereRef('qr_auth_state.workspace_id', '=', 'excluded.workspace_id'),
    )
    .execute()
}

export async function deleteRows(
  db: Db,
  workspaceId: string,
  channelId: string,
  type: string,
  ids: string[],
): Promise<void> {
  await db
    .deleteFrom('qr_auth_state')
    .where('workspace_id', '=', workspaceId)
    .where('channel_id', '=', channelId)
    .where('type', '=', type)
    .where('key_id', 'in', ids)
    .execute()
}

export async function deleteAllRows(db: Db, workspaceId: string, channelId: string): Promise<void> {
  await db
    .deleteFrom('qr_auth_state')
    .where('workspace_id', '=', workspaceId)
    .where('channel_id', '=', channelId)
    .execute()
}
