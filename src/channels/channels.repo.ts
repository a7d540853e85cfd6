/** Channel queries. Tenant-scoped, except the lookup by id that webhook ingress uses (the URL names it). */
import type { Insertable, Kysely, Transaction, Updateable } from 'kysely'
import type { Database } from '../db/database.ts'
import type { SyncDb } from '../db/client.ts'
import type { ChannelsTable } from './channels.table.ts'
import type { ProviderName } from './provider-names.ts'

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

/** A channel of one kind (a provider's own lookups: its routes and stores apply to its channels only). */
export const findOfProvider = (db: Db, workspaceId: string, channelId: string, provider: ProviderName) =>
  db
    .selectFrom('channels')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', channelId)
    .where('provider', '=', provider)
    .executeTakeFirst()

/** Channels of a kind whose live session should run: linked or linking, not stopped for a reason only the user can clear. */
export const sessionsToStart = (db: Db, provider: ProviderName) =>
  db
    .selectFrom('channels')
    .select(['id', 'workspace_id', 'qr_settings'])
    .where('provider', '=', provider)
    .where('status', '!=', 'disconnected')
    .where((eb) =>
      eb.or([
        eb('connection_state', 'is', null),
        eb('connection_state', 'not in', ['logged_out', 'replaced', 'qr_expired']),
      ]),
    )
    .execute()

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

// ---- what /metrics counts at each scrape (each an indexed or small-table query) -----------------------------

/** Channels by provider, status and connection state: one row per channel at most (a small table). */
export async function channelStates(db: Db) {
  const rows = await db
    .selectFrom('channels')
    .select((eb) => ['provider', 'status', 'connection_state', eb.fn.countAll<number>().as('n')])
    .groupBy(['provider', 'status', 'connection_state'])
    .execute()
  return rows.map((r) => ({
    provider: r.provider,
    status: r.status,
    connection: r.connection_state ?? 'none',
    n: Number(r.n),
  }))
}

// ---- the intake processor's synchronous hot path -------------------------------------------------
// Plain SQL on the synchronous connection (db/client.ts SyncDb): the processor runs hundreds of small statements
// per batch, and a promise plus a query build per statement cost more than the statements. SQLite dialect (DESIGN
// §12 allows it here); every statement is scoped by workspace; every insert is idempotent by its unique key.

export function updateChannelStanding(
  db: SyncDb,
  workspaceId: string,
  channelId: string,
  s: { messagingLimit?: string; qualityRating?: string; accountStatus?: string },
): void {
  db.run(
    'UPDATE channels SET messaging_limit = coalesce(?, messaging_limit), quality_rating = coalesce(?, quality_rating), account_status = coalesce(?, account_status) WHERE workspace_id = ? AND id = ?',
    s.messagingLimit ?? null,
    s.qualityRating ?? null,
    s.accountStatus ?? null,
    workspaceId,
    channelId,
  )
}
