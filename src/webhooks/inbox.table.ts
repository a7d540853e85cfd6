import type { Generated } from 'kysely'

export type InboxKind = 'message' | 'status' | 'error' | 'field'

export interface IntakeEventsTable {
  id: Generated<number>
  workspace_id: string
  channel_id: string
  idempotency_key: string
  kind: InboxKind
  /** JSON of one event with the context needed to process it alone (see webhooks/split.ts). */
  payload: string
  received_at: string
  state: Generated<'pending' | 'processed' | 'dead'>
  attempts: Generated<number>
  next_attempt_at: string
  last_error: string | null
  processed_at: string | null
}
