/** Channel queries. Tenant-scoped, except the lookup by id that webhook ingress uses (the URL names it). */
import type { Insertable, Kysely, Transaction, Updateable } from 'kysely'
import type { Database } from '../db/database.ts'
import type { ChannelsTable } from './channels.table.ts'

type Db = Kysely<Database> | Transaction<Database>

export async function insert(db: Db, row: Insertable<ChannelsTable>): Promise<void> {
  await db.insertInto('channels').values(row).execute()
}

export const find = (db: Db, workspaceId: string, channelId: string) =>
  db
    .selectFrom('channels')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', channelId)
    .executeTakeFirst()

/** Webhook ingress only: the channel id in Meta's callback URL is the one thing it knows. */
export const findForIngress = (db: Db, channelId: string) =>
  db.selectFrom('channels').selectAll().where('id', '=', channelId).executeTakeFirst()

export const list = (db: Db, workspaceId: string) =>
  db
    .selectFrom('channels')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .orderBy('created_at')
    .orderBy('id')
    .execute()

export async function countLive(db: Db, workspaceId: string): Promise<number> {
  const r = await db
    .selectFrom('channels')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('status', '!=', 'disconnected')
    .executeTakeFirstOrThrow()
  return Number(r.n)
}

export const findLiveByPhoneNumberId = (db: Db, phoneNumberId: string) =>
  db
    .selectFrom('channels')
    .select(['id', 'workspace_id'])
    .where('phone_number_id', '=', phoneNumberId)
    .where('status', '!=', 'disconnected')
    .executeTakeFirst()

export async function update(
  db: Db,
  workspaceId: string,
  channelId: string,
  patch: Updateable<ChannelsTable>,
): Promise<void> {
  await db
    .updateTable('channels')
    .set(patch)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', channelId)
    .execute()
}
