/** Audit log queries. Insert and read only: nothing in wabox updates or deletes an audit row. */
import { sql, type Insertable, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { AuditLogTable } from './audit.table.ts'

type Db = Kysely<Database> | Transaction<Database>

export async function insert(db: Db, row: Insertable<AuditLogTable>): Promise<void> {
  await db.insertInto('audit_log').values(row).execute()
}

export type AuditFilter = {
  /** null = instance-level entries (operator view). */
  workspaceId: string | null
  action?: string
  actorId?: string
  from?: string
  to?: string
  /** Entries older than this id (newest first). */
  beforeId?: number
  limit: number
}

export async function list(db: Db, f: AuditFilter) {
  let q = db.selectFrom('audit_log').selectAll()
  q = f.workspaceId === null ? q.where('workspace_id', 'is', null) : q.where('workspace_id', '=', f.workspaceId)
  if (f.action?.endsWith('.*')) {
    const prefix = f.action.slice(0, -1) // "member.*" → every action starting with "member."
    q = q.where(sql<string>`substr(action, 1, ${prefix.length})`, '=', prefix)
  } else if (f.action) q = q.where('action', '=', f.action)
  if (f.actorId) q = q.where('actor_id', '=', f.actorId)
  if (f.from) q = q.where('created_at', '>=', f.from)
  if (f.to) q = q.where('created_at', '<', f.to)
  if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId)
  return q.orderBy('id', 'desc').limit(f.limit).execute()
}
