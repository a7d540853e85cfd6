/** QR-linked channels: queries only. */
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

/** QR channels whose session should run: linked or linking, not stopped for a reason only the user can clear. */
export const channelsToStart = (db: Db) =>
  db
    .selectFrom('channels')
    .select(['id', 'workspace_id', 'qr_settings'])
    .where('provider', '=', 'qr')
    .where('status', '!=', 'disconnected')
    .where((eb) =>
      eb.or([
        eb('connection_state', 'is', null),
        eb('connection_state', 'not in', ['logged_out', 'replaced', 'qr_expired']),
      ]),
    )
    .execute()
