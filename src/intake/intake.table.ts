import type { Generated } from 'kysely'

export type IntakeKind = 'message' | 'status' | 'error' | 'field' | 'unknown'

/**
 * The intake: the durable queue of inbound events, one row per event, written before the sender is answered
 * (Cloud API webhooks, QR-linked devices) and marked processed in the same transaction as its effects.
 */
export interface IntakeEventsTable {
  id: Generated<number>
  workspace_id: string
  channel_id: string
  idempotency_key: string
  kind: IntakeKind
  /** JSON of one event with the context needed to process it alone (see channels/cloud/inbound.ts). */
  payload: string
  received_at: string
  state: Generated<'pending' | 'processed' | 'dead'>
  attempts: Generated<number>
  next_attempt_at: string
  last_error: string | null
  processed_at: string | null
}
