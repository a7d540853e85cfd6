/**
 * The typed shape of the database, assembled from each domain's table interfaces. Nullable columns are
 * `T | null`; columns the database fills are `Generated<T>`.
 */
import type { ApiKeysTable, LoginThrottleTable, SessionsTable, UsersTable } from '../auth/auth.table.ts'
import type { AuditLogTable } from '../audit/audit.table.ts'
import type { InvitesTable, MembershipsTable, WorkspacesTable } from '../workspaces/workspaces.table.ts'
import type {
  ChannelEventsTable,
  ChannelsTable,
  LidMappingsTable,
  QrSentMessagesTable,
  QrAuthStateTable,
} from '../channels/channels.table.ts'
import type { IntakeEventsTable } from '../intake/intake.table.ts'
import type {
  EventCursorsTable,
  EventsTable,
  WebhookAttemptsTable,
  WebhookDeliveriesTable,
  WebhookEndpointsTable,
} from '../events/events.table.ts'
import type {
  ContactsTable,
  ConversationsTable,
  IdempotencyKeysTable,
  MessageStatusesTable,
  MessagesTable,
  OutboxTable,
} from '../messaging/messaging.table.ts'

export interface InstanceMetaTable {
  key: string
  value: string
  updated_at: string
}

/** The master keys the database's sealed values are sealed with (crypto/key-binding.ts). */
export interface MasterKeysTable {
  key_id: string
  fingerprint: string
  recorded_at: string
}

export interface Database {
  instance_meta: InstanceMetaTable
  master_keys: MasterKeysTable
  users: UsersTable
  sessions: SessionsTable
  workspaces: WorkspacesTable
  memberships: MembershipsTable
  invites: InvitesTable
  api_keys: ApiKeysTable
  audit_log: AuditLogTable
  login_throttle: LoginThrottleTable
  channels: ChannelsTable
  channel_events: ChannelEventsTable
  intake_events: IntakeEventsTable
  contacts: ContactsTable
  conversations: ConversationsTable
  messages: MessagesTable
  message_statuses: MessageStatusesTable
  outbox: OutboxTable
  idempotency_keys: IdempotencyKeysTable
  events: EventsTable
  webhook_endpoints: WebhookEndpointsTable
  webhook_deliveries: WebhookDeliveriesTable
  webhook_attempts: WebhookAttemptsTable
  event_cursors: EventCursorsTable
  qr_auth_state: QrAuthStateTable
  lid_mappings: LidMappingsTable
  qr_sent_messages: QrSentMessagesTable
}
