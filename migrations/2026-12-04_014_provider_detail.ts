// Frozen: migrations never import from src/ — they describe the schema as it was on their date.
import { type Kysely, sql } from 'kysely'

// What WhatsApp sends with a message or a status beyond the columns wabox had — every entry of `errors`, the
// product a message asks about, the sender's identity check, parent business-scoped ids, the group, the
// conversation (billing window) a status was counted in, fields this version does not map — is kept as JSON in
// `detail` (a neutral, camelCase shape; null when there is nothing more).
//
// A status sent to a group reports each member on its own: `participant` (the member, '' outside groups) joins
// message_statuses' key, or every member after the first would be dropped as a repeat. SQLite cannot change a
// primary key, so the table is built again under its name with every row. One transaction (SQLite DDL is
// transactional): a failure leaves the old table as it was.

const statusColumns = (withParticipant: boolean) =>
  [
    'workspace_id',
    'channel_id',
    'wamid',
    'status',
    'occurred_at',
    'recipient',
    'error_code',
    'error_title',
    'error_details',
    'pricing',
    ...(withParticipant ? ['participant', 'detail'] : []),
  ].join(', ')

async function rebuildStatuses(trx: Kysely<any>, withParticipant: boolean): Promise<void> {
  let table = trx.schema
    .createTable('message_statuses_rebuilt')
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('wamid', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text')
    .addColumn('error_code', 'integer')
    .addColumn('error_title', 'text')
    .addColumn('error_details', 'text')
    .addColumn('pricing', 'text')
  table = withParticipant
    ? table
        .addColumn('participant', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('detail', 'text')
        .addPrimaryKeyConstraint('message_statuses_member_pk', [
          'workspace_id',
          'channel_id',
          'wamid',
          'status',
          'participant',
        ])
    : table.addPrimaryKeyConstraint('message_statuses_pk', ['workspace_id', 'channel_id', 'wamid', 'status'])
  await table.execute()
  const columns = statusColumns(false)
  // Going down, one row per (message, status) is all the old key can hold: the first member's is kept. (`WHERE
  // true` lets SQLite read ON CONFLICT after a SELECT.)
  await sql
    .raw(
      `INSERT INTO message_statuses_rebuilt (${columns}) SELECT ${columns} FROM message_statuses WHERE true ON CONFLICT DO NOTHING`,
    )
    .execute(trx)
  await trx.schema.dropTable('message_statuses').execute()
  await trx.schema.alterTable('message_statuses_rebuilt').renameTo('message_statuses').execute()
}

export async function up(db: Kysely<any>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.schema.alterTable('messages').addColumn('detail', 'text').execute()
    await rebuildStatuses(trx, true)
  })
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await rebuildStatuses(trx, false)
    await trx.schema.alterTable('messages').dropColumn('detail').execute()
  })
}
