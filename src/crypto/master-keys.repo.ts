/** The master_keys table, and the scan of sealed columns for the key ids their envelopes name. */
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/database.ts'

type Db = Kysely<Database>

/**
 * Every column that holds sealed values (`v1.<keyId>.<nonce>.<body>`). A test fails when code seals into a
 * table this list does not name.
 */
export const SEALED_COLUMNS = [
  { table: 'channels', column: 'access_token' },
  { table: 'channels', column: 'app_secret' },
  { table: 'channels', column: 'verify_token' },
  { table: 'webhook_endpoints', column: 'secret' },
  { table: 'webhook_endpoints', column: 'previous_secret' },
  { table: 'qr_auth_state', column: 'value' },
  { table: 'qr_sent_messages', column: 'message' },
] as const satisfies readonly { table: keyof Database; column: string }[]

export const recorded = (db: Db) =>
  db.selectFrom('master_keys').select(['key_id', 'fingerprint']).orderBy('key_id').execute()

/** Makes `keyId` the one recorded key (the others have no sealed value left). */
export async function replaceWith(db: Db, keyId: string, fingerprint: string, at: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('master_keys').where('key_id', '!=', keyId).execute()
    await trx
      .insertInto('master_keys')
      .values({ key_id: keyId, fingerprint, recorded_at: at })
      .onConflict((oc) => oc.column('key_id').doUpdateSet({ fingerprint }))
      .execute()
  })
}

/** How many sealed values name each key id, over every sealed column. */
export async function sealedValuesByKey(db: Db): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const { table, column } of SEALED_COLUMNS) {
    const rows = await sql<{ key_id: string; n: number }>`
      SELECT substr(${sql.ref(column)}, 4, 16) AS key_id, count(*) AS n FROM ${sql.table(table)}
      WHERE ${sql.ref(column)} LIKE 'v1.%' GROUP BY substr(${sql.ref(column)}, 4, 16)`.execute(db)
    for (const r of rows.rows) counts.set(r.key_id, (counts.get(r.key_id) ?? 0) + Number(r.n))
  }
  return counts
}
