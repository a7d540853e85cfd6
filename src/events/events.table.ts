import type { Generated } from 'kysely'

export interface EventsTable {
  seq: Generated<number>
  id: string
  workspace_id: string
  type: string
  /** The event's JSON payload (never a secret). */
  data: string
  created_at: string
}

export interface WebhookEndpointsTable {
  id: string
  workspace_id: string
  url: string
  description: string
  /** JSON array of event types; ["*"] is every type. */
  event_types: string
  enabled: number
  /** Sealed `whsec_…` signing secret. */
  secret: string
  /** The secret before the last rotation, still signing until previous_secret_until. */
  previous_secret: string | null
  previous_secret_until: string | null
  after_seq: number
  failing_since: string | null
  disabled_reason: string | null
  created_at: string
  updated_at: string
}

export interface WebhookDeliveriesTable {
  id: string
  workspace_id: string
  endpoint_id: string
  event_id: string
  event_type: string
  state: 'pending' | 'delivered' | 'failed'
  attempts: number
  next_attempt_at: string
  last_status: number | null
  last_error: string | null
  created_at: string
  updated_at: string
}

export interface WebhookAttemptsTable {
  id: Generated<number>
  workspace_id: string
  delivery_id: string
  at: string
  status_code: number | null
  latency_ms: number
  response_excerpt: string
  error: string | null
}

export interface EventCursorsTable {
  name: string
  seq: number
}
