/** The contacts table: every query on it, scoped by workspace (async for requests, sync for the processor). */

import { sql, type Insertable, type Kysely, type Transaction, type Updateable } from 'kysely'
import type { Database } from '../db/database.ts'
import type { SyncDb } from '../db/client.ts'
import type { ContactsTable } from './messaging.table.ts'

import { containing } from '../db/like.ts'

type Db = Kysely<Database> | Transaction<Database>

export const findContact = (db: Db, workspaceId: string, contactId: string) =>
  db
    .selectFrom('contacts')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', contactId)
    .executeTakeFirst()

/** By phone (wa_id): the send API addresses people by number. */
export const findContactByPhone = (db: Db, workspaceId: string, waId: string) =>
  db
    .selectFrom('contacts')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('wa_id', '=', waId)
    .executeTakeFirst()

export async function insertContactRow(db: Db, row: Insertable<ContactsTable>): Promise<void> {
  await db.insertInto('contacts').values(row).execute()
}

export async function updateContact(
  db: Db,
  workspaceId: string,
  contactId: string,
  patch: Updateable<ContactsTable>,
): Promise<void> {
  await db
    .updateTable('contacts')
    .set(patch)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', contactId)
    .execute()
}

/**
 * Takes the number WhatsApp itself uses for a contact (its normalised wa_id), so the person's replies, which come
 * from that number, land in the same contact. Only while the contact still has the number it was sent to, and
 * never onto a number another contact of the workspace already has.
 */
export async function adoptWhatsAppNumber(
  db: Db,
  workspaceId: string,
  contactId: string,
  from: string,
  to: string,
  at: string,
): Promise<void> {
  await db
    .updateTable('contacts')
    .set({ wa_id: to, updated_at: at })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', contactId)
    .where('wa_id', '=', from)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('contacts as other')
            .select('other.id')
            .where('other.workspace_id', '=', workspaceId)
            .where('other.wa_id', '=', to),
        ),
      ),
    )
    .execute()
}

export function listContacts(
  db: Db,
  workspaceId: string,
  f: { q?: string; optedOut?: boolean; before?: { u: string; i: string }; limit: number },
) {
  let q = db.selectFrom('contacts').selectAll().where('workspace_id', '=', workspaceId)
  if (f.q) {
    const like = containing(f.q)
    q = q.where((eb) =>
      eb.or([
        eb(sql`wa_id`, 'like', sql`${like} ESCAPE '\\'`),
        eb(sql`coalesce(name, '')`, 'like', sql`${like} ESCAPE '\\'`),
        eb(sql`coalesce(profile_name, '')`, 'like', sql`${like} ESCAPE '\\'`),
        eb(sql`coalesce(username, '')`, 'like', sql`${like} ESCAPE '\\'`),
      ]),
    )
  }
  if (f.optedOut !== undefined) q = q.where('opted_out', '=', f.optedOut ? 1 : 0)
  if (f.before)
    q = q.where((eb) =>
      eb.or([
        eb('updated_at', '<', f.before!.u),
        eb.and([eb('updated_at', '=', f.before!.u), eb('id', '<', f.before!.i)]),
      ]),
    )
  return q.orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute()
}

// ---- the intake processor's synchronous hot path -------------------------------------------------
// Plain SQL on the synchronous connection (db/client.ts SyncDb): the processor runs hundreds of small statements
// per batch, and a promise plus a query build per statement cost more than the statements. SQLite dialect (DESIGN
// §12 allows it here); every statement is scoped by workspace; every insert is idempotent by its unique key.

export const contactByWaId = (db: SyncDb, workspaceId: string, waId: string) =>
  db.get<ContactsTable>('SELECT * FROM contacts WHERE workspace_id = ? AND wa_id = ?', workspaceId, waId)

export const contactByBsuid = (db: SyncDb, workspaceId: string, bsuid: string) =>
  db.get<ContactsTable>('SELECT * FROM contacts WHERE workspace_id = ? AND bsuid = ?', workspaceId, bsuid)

export function insertContact(db: SyncDb, c: ContactsTable): void {
  db.run(
    `INSERT INTO contacts (id, workspace_id, wa_id, bsuid, profile_name, username, name, labels, notes, opted_out, opted_out_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    c.id,
    c.workspace_id,
    c.wa_id,
    c.bsuid,
    c.profile_name,
    c.username,
    c.name,
    c.labels,
    c.notes,
    c.opted_out,
    c.opted_out_at,
    c.created_at,
    c.updated_at,
  )
}

/** Fills in what WhatsApp newly told us about a contact (profile name, username, phone or BSUID). */
export function refreshContact(
  db: SyncDb,
  workspaceId: string,
  id: string,
  c: Pick<ContactsTable, 'profile_name' | 'username' | 'wa_id' | 'bsuid' | 'updated_at'>,
): void {
  db.run(
    'UPDATE contacts SET profile_name = ?, username = ?, wa_id = ?, bsuid = ?, updated_at = ? WHERE workspace_id = ? AND id = ?',
    c.profile_name,
    c.username,
    c.wa_id,
    c.bsuid,
    c.updated_at,
    workspaceId,
    id,
  )
}
