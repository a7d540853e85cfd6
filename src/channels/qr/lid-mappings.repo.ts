/** The lid_mappings table: which WhatsApp number a QR-linked device's LID (linked identity) stands for, per workspace. */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../../db/database.ts'

type Db = Kysely<Database> | Transaction<Database>

export const lidMappings = (db: Db, workspaceId: string) =>
  db.selectFrom('lid_mappings').select(['lid', 'wa_id']).where('workspace_id', '=', workspaceId).execute()

export async function saveLidMappings(
  db: Db,
  workspaceId: string,
  pairs: { lid: string; waId: string }[],
  at: string,
): Promise<void> {
  if (pairs.length === 0) return
  await db
    .insertInto('lid_mappings')
    .values(pairs.map((p) => ({ workspace_id: workspaceId, lid: p.lid, wa_id: p.waId, updated_at: at })))
    .onConflict((oc) =>
      oc
        .columns(['workspace_id', 'lid'])
        .doUpdateSet((eb) => ({ wa_id: eb.ref('excluded.wa_id'), updated_at: eb.ref('excluded.updated_at') })),
    )
    .execute()
}
