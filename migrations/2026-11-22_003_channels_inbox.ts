// Frozen: migrations never import from src/ — they describe the schema as it was on their date.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  // A WhatsApp number connected to a workspace. Credentials are AES-GCM envelopes (AAD = this row and
  // column); `*_last4` is all that responses ever show of them.
  await db.schema
    .createTable('channels')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('provider', 'text', (c) => c.notNull().check(sql`provider IN ('cloud', 'qr')`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('active', 'needs_reauth', 'disconnected')`))
    .addColumn('phone_number_id', 'text')
    .addColumn('waba_id', 'text')
    .addColumn('display_phone_number', 'text')
    .addColumn('verified_name', 'text')
    .addColumn('quality_rating', 'text')
    .addColumn('messaging_limit', 'text')
    .addColumn('account_status', 'text')
    .addColumn('access_token', 'text')
    .addColumn('access_token_last4', 'text')
    .addColumn('app_secret', 'text')
    .addColumn('app_secret_last4', 'text')
    .addColumn('verify_token', 'text')
    .addColumn('verify_token_last4', 'text')
    .addColumn('auth_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('disconnected_at', 'text')
    .execute()
  await db.schema.createIndex('channels_workspace').on('channels').columns(['workspace_id', 'created_at']).execute()
  // One live connection per Cloud API number on the instance: two would fight over the same webhooks.
  await sql`CREATE UNIQUE INDEX channels_live_phone ON channels (phone_number_id) WHERE status != 'disconnected' AND phone_number_id IS NOT NULL`.execute(
    db,
  )

  // The durable webhook inbox: one row per event, keyed by its idempotency key. Rows are written before the
  // 200 goes back to Meta and marked processed in the same transaction as their effects.
  await db.schema
    .createTable('webhook_inbox')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`state IN ('pending', 'processed', 'dead')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('processed_at', 'text')
    .execute()
  await db.schema
    .createIndex('webhook_inbox_key')
    .on('webhook_inbox')
    .columns(['workspace_id', 'idempotency_key'])
    .unique()
    .execute()
  // The processor drains every tenant's pending rows in arrival order; this partial index stays small.
  await sql`CREATE INDEX webhook_inbox_pending ON webhook_inbox (next_attempt_at, id) WHERE state = 'pending'`.execute(
    db,
  )
  await db.schema
    .createIndex('webhook_inbox_dead')
    .on('webhook_inbox')
    .columns(['workspace_id', 'state', 'id'])
    .execute()

  await db.schema
    .createTable('contacts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('wa_id', 'text')
    .addColumn('bsuid', 'text')
    .addColumn('profile_name', 'text')
    .addColumn('username', 'text')
    .addColumn('name', 'text')
    .addColumn('labels', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('notes', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('opted_out', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('opted_out_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  // Phone (wa_id) may be absent for username users: the business-scoped user id identifies them then.
  await sql`CREATE UNIQUE INDEX contacts_wa_id ON contacts (workspace_id, wa_id) WHERE wa_id IS NOT NULL`.execute(db)
  await sql`CREATE UNIQUE INDEX contacts_bsuid ON contacts (workspace_id, bsuid) WHERE bsuid IS NOT NULL`.execute(db)
  await db.schema
    .createIndex('contacts_workspace_updated')
    .on('contacts')
    .columns(['workspace_id', 'updated_at', 'id'])
    .execute()

  await db.schema
    .createTable('conversations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('channel_id', 'text', (c) => c.notNull().references('channels.id').onDelete('cascade'))
    .addColumn('contact_id', 'text', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status IN ('open', 'closed')`))
    .addColumn('assignee_user_id', 'text')
    .addColumn('unread_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_message_at', 'text', (c) => c.notNull())
    .addColumn('last_inbound_at', 'text')
    .addColumn('last_message_preview', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('conversations_key')
    .on('conversations')
    .columns(['workspace_id', 'channel_id', 'contact_id'])
    .unique()
    .execute()
  await db.schema
    .createIndex('conversations_recent')
    .on('conversations')
    .columns(['workspace_id', 'last_message_at', 'id'])
    .execute()

  await db.schema
    .createTable('messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
    .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('wamid', 'text')
    .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction IN ('in', 'out')`))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('text', 'text')
    .addColumn('content', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('context_wamid', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_at', 'text')
    .addColumn('error_code', 'integer')
    .addColumn('error_title', 'text')
    .addColumn('error_details', 'text')
    .addColumn('pricing', 'text')
    .addColumn('media_id', 'text')
    .addColumn('media_mime', 'text')
    .addColumn('media_sha256', 'text')
    .addColumn('media_filename', 'text')
    .addColumn('media_path', 'text')
    .addColumn('media_size', 'integer')
    .addColumn('media_state', 'text')
    .addColumn('media_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('sent_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute()
  await sql`CREATE UNIQUE INDEX messages_wamid ON messages (workspace_id, channel_id, wamid) WHERE wamid IS NOT NULL`.execute(
    db,
  )
  await db.schema
    .createIndex('messages_conversation')
    .on('messages')
    .columns(['workspace_id', 'conversation_id', 'sent_at', 'id'])
    .execute()
  await sql`CREATE INDEX messages_media_pending ON messages (workspace_id, media_state) WHERE media_state = 'pending'`.execute(
    db,
  )

  // Every delivery status Meta reports, once per (message, status): the message row keeps the furthest one.
  await db.schema
    .createTable('message_statuses')
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
    .addPrimaryKeyConstraint('message_statuses_pk', ['workspace_id', 'channel_id', 'wamid', 'status'])
    .execute()

  // Account-level news about a channel: template status and quality, number quality, account updates, errors.
  await db.schema
    .createTable('channel_events')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('event', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('channel_events_channel')
    .on('channel_events')
    .columns(['workspace_id', 'channel_id', 'id'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'channel_events',
    'message_statuses',
    'messages',
    'conversations',
    'contacts',
    'webhook_inbox',
    'channels',
  ]) {
    await db.schema.dropTable(t).execute()
  }
}
