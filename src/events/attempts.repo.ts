/** The webhook_attempts table: each HTTP attempt of a delivery, for the delivery log. */
import type { Insertable, Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'

type Db = Kysely<Database> | Transaction<Database>

export async function insertAttempt(db: Db, a: Insertable<Database['webhook_attempts']>): Promise<void> {
  await db.insertInto('webhook_attempts').values(a).execute()
}

export const attemptsOf = (db: Db, workspaceId: string, deliveryIds: string[]) =>
  deliveryIds.length === 0
    ? Promise.resolve([])
    : db
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('delivery_id', 'in', deliveryIds)
        .orderBy('id')
        .execute()
