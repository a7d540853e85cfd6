import type { Generated } from 'kysely'

export interface AuditLogTable {
  id: Generated<number>
  workspace_id: string | null
  created_at: string
  action: string
  actor_type: 'user' | 'api_key' | 'anonymous' | 'system'
  actor_id: string | null
  actor_label: string
  target_type: string | null
  target_id: string | null
  /** JSON object; never holds a secret (audit.record strips credential-like fields). */
  metadata: string
  ip: string
  request_id: string
}
