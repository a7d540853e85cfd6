/** The event_cursors table: how far the webhook fan-out has read the events table. */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'

type Db = Kysely<Database> | Transaction<Database>

export const cursor = async (db: Db, name: string) =>
  (await db.selectFrom('event_cursors').select('seq').where('name', '=', name).executeTakeFirst())?.seq

export async function setCursor(db: Db, name: string, seq: number): Promise<void> {
  await db
    .insertInto('event_cursors')
    .values({ name, seq })
    .onConflict((oc) => oc.column('name').doUpdateSet({ seq }))
    .execute()
}
