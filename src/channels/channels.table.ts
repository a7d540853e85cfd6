export type ChannelStatus = 'active' | 'needs_reauth' | 'disconnected'

export interface ChannelsTable {
  id: string
  workspace_id: string
  provider: 'cloud' | 'qr'
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
