/** The idempotency_keys table: the first answer to a request sent with an Idempotency-Key, replayed on a retry. */

import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { IdempotencyKeysTable } from './messaging.table.ts'

type Db = Kysely<Database> | Transaction<Database>

export const findIdempotency = (db: Db, workspaceId: string, key: string) =>
  db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('key', '=', key)
    .executeTakeFirst()

export async function saveIdempotency(db: Db, row: IdempotencyKeysTable): Promise<void> {
  await db.insertInto('idempotency_keys').values(row).execute()
}
