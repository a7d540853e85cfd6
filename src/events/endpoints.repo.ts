/** The webhook_endpoints table: a workspace's receivers, their event filters and sealed secrets. */
import type { Kysely, Transaction, Updateable } from 'kysely'
import type { Database } from '../db/database.ts'
import type { WebhookEndpointsTable } from './events.table.ts'

type Db = Kysely<Database> | Transaction<Database>

// ---- endpoints ----
export async function insertEndpoint(db: Db, e: WebhookEndpointsTable): Promise<void> {
  await db.insertInto('webhook_endpoints').values(e).execute()
}

export const findEndpoint = (db: Db, workspaceId: string, id: string) =>
  db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst()

export const listEndpoints = (
  db: Db,
  workspaceId: string,
  after: { createdAt: string; id: string } | undefined,
  limit: number,
) => {
  let q = db.selectFrom('webhook_endpoints').selectAll().where('workspace_id', '=', workspaceId)
  if (after)
    q = q.where((eb) =>
      eb.or([
        eb('created_at', '>', after.createdAt),
        eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)]),
      ]),
    )
  return q
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit + 1)
    .execute()
}

export const countEndpoints = async (db: Db, workspaceId: string) =>
  Number(
    (
      await db
        .selectFrom('webhook_endpoints')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirst()
    )?.n ?? 0,
  )

/**
 * Endpoints that get deliveries (the fan-out's view): enabled ones, and those disabled for failing — what happens
 * meanwhile waits for them. One an admin switched off gets nothing.
 */
export const receivingEndpoints = (db: Db) =>
  db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where((eb) => eb.or([eb('enabled', '=', 1), eb('disabled_reason', 'is not', null)]))
    .execute()

export async function updateEndpoint(
  db: Db,
  workspaceId: string,
  id: string,
  set: Updateable<WebhookEndpointsTable>,
): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set(set)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute()
}

export async function deleteEndpoint(db: Db, workspaceId: string, id: string): Promise<void> {
  await db.deleteFrom('webhook_endpoints').where('workspace_id', '=', workspaceId).where('id', '=', id).execute()
}

// ---- deliveries ----
