import type { ProviderName } from './provider-names.ts'

/**
 * `pending`: a QR channel not linked yet (never connected). `active`: can send. `needs_reauth`: it worked once and no
 * longer does (a Cloud token Meta refuses; a QR number logged out or replaced) — someone must act. `disconnected`:
 * removed from the workspace (history kept).
 */
export type ChannelStatus = 'pending' | 'active' | 'needs_reauth' | 'disconnected'

/** The columns only QR-linked devices use, empty on a Cloud API channel. */
export const NO_QR_COLUMNS = {
  connection_state: null,
  connection_since: null,
  last_error: null,
  reconnect_count: 0,
  linked_at: null,
  qr_settings: null,
} as const

export interface ChannelsTable {
  id: string
  workspace_id: string
  /** The channel's provider (registry.ts). */
  provider: ProviderName
  name: string
  status: ChannelStatus
  phone_number_id: string | null
  waba_id: string | null
  display_phone_number: string | null
  verified_name: string | null
  quality_rating: string | null
  messaging_limit: string | null
  account_status: string | null
  /** Sealed envelopes (crypto/envelope.ts); null once disconnected. */
  access_token: string | null
  access_token_last4: string | null
  app_secret: string | null
  app_secret_last4: string | null
  verify_token: string | null
  verify_token_last4: string | null
  auth_failures: number
  /** Messages per second the sender allows this number (Meta's default throughput: 80). */
  send_rate: number
  created_at: string
  updated_at: string
  disconnected_at: string | null
  /** QR-linked devices: linking | connecting | connected | reconnecting | logged_out | replaced | qr_expired |
   * needs_attention. */
  connection_state: QrConnectionState | null
  connection_since: string | null
  last_error: string | null
  reconnect_count: number
  /** When the number was linked (the warm-up schedule counts from here). */
  linked_at: string | null
  /** JSON of the QR channel's pacing and options (channels/qr/pacing.ts). */
  qr_settings: string | null
}

/** A QR-linked phone's connection, as the channel view, its events and the admin UI show it. */
export const QR_CONNECTION_STATES = [
  'linking',
  'connecting',
  'connected',
  'reconnecting',
  'logged_out',
  'replaced',
  'qr_expired',
  /** Stopped after repeated unexplained stream errors (500); the session is kept, a person reconnects. */
  'needs_attention',
  /** WhatsApp refused the WhatsApp Web version (405); the session is kept, a person changes qr-wa-version. */
  'outdated_version',
] as const
export type QrConnectionState = (typeof QR_CONNECTION_STATES)[number]

/** The states a session stops in: nothing more happens until a person acts (the QR stream ends there too). */
export const QR_STOPPED_STATES: ReadonlySet<QrConnectionState> = new Set([
  'logged_out',
  'replaced',
  'qr_expired',
  'needs_attention',
  'outdated_version',
])

/** What a QR session warns a person about (channel.warning events, wabox_qr_session_warnings_total). */
export const QR_WARNINGS = [
  'replaced',
  'needs_attention',
  'restart_loop',
  'undecryptable_messages',
  'reachout_locked',
  'outdated_version',
  'pairing_failed',
] as const
export type QrWarning = (typeof QR_WARNINGS)[number]

export interface QrAuthStateTable {
  workspace_id: string
  channel_id: string
  type: string
  key_id: string
  /** Sealed (crypto/envelope.ts), AAD bound to channel, type and id. */
  value: string
  updated_at: string
}

export interface LidMappingsTable {
  workspace_id: string
  lid: string
  wa_id: string
  updated_at: string
}

/** What a QR-linked number sent, for WhatsApp's retry requests (channels/qr/sent-messages.ts). */
export interface QrSentMessagesTable {
  workspace_id: string
  channel_id: string
  /** WhatsApp's message id (the key id Baileys sent it under). */
  message_id: string
  remote_jid: string
  /** The message as WhatsApp got it (Baileys' proto JSON), sealed. */
  message: string
  sent_at: string
}

export interface ChannelEventsTable {
  id: import('kysely').Generated<number>
  workspace_id: string
  channel_id: string
  field: string
  event: string | null
  payload: string
  occurred_at: string
}
