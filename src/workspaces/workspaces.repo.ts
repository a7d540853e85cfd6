/**
 * The workspaces table, and the deletion of a workspace's rows in the tables that carry workspace_id without a
 * foreign key. Every query on tenant rows takes the workspace id: an id from a URL is never trusted alone.
 */
import type { Insertable, Kysely, Transaction, Updateable } from 'kysely'
import type { Database } from '../db/database.ts'
import type { WorkspacesTable } from './workspaces.table.ts'

type Db = Kysely<Database> | Transaction<Database>

export const findWorkspace = (db: Db, workspaceId: string) =>
  db.selectFrom('workspaces').selectAll().where('id', '=', workspaceId).executeTakeFirst()

export const listAllWorkspaces = (db: Db, afterId: string | undefined, limit: number) => {
  let q = db.selectFrom('workspaces').selectAll()
  if (afterId) q = q.where('id', '>', afterId)
  return q.orderBy('id').limit(limit).execute()
}

export async function insertWorkspace(db: Db, ws: Insertable<WorkspacesTable>): Promise<void> {
  await db.insertInto('workspaces').values(ws).execute()
}

export async function updateWorkspace(db: Db, workspaceId: string, patch: Updateable<WorkspacesTable>): Promise<void> {
  await db.updateTable('workspaces').set(patch).where('id', '=', workspaceId).execute()
}

/** Rows of a workspace in tables that carry workspace_id without a foreign key (they are written hot). */
export async function deleteWorkspaceData(db: Db, workspaceId: string): Promise<void> {
  for (const table of [
    'intake_events',
    'message_statuses',
    'channel_events',
    'outbox',
    'idempotency_keys',
    'events',
    'lid_mappings',
    'qr_auth_state',
    'qr_sent_messages',
  ] as const) {
    await db.deleteFrom(table).where('workspace_id', '=', workspaceId).execute()
  }
}

export async function deleteWorkspace(db: Db, workspaceId: string): Promise<void> {
  await db.deleteFrom('workspaces').where('id', '=', workspaceId).execute()
}
