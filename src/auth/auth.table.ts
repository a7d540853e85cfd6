export interface UsersTable {
  id: string
  email: string
  name: string
  password_hash: string
  is_operator: number
  created_at: string
  password_changed_at: string
}

export interface SessionsTable {
  id: string
  token_hash: string
  user_id: string
  created_at: string
  last_seen_at: string
  idle_expires_at: string
  absolute_expires_at: string
  ip: string
  user_agent: string
}

export interface ApiKeysTable {
  id: string
  workspace_id: string
  name: string
  role: 'admin' | 'agent' | 'analyst'
  prefix: string
  token_hash: string
  created_by: string | null
  /** The member the key answers for: who made it, or — for a key made with a key — that key's member. */
  created_by_user_id: string | null
  created_at: string
  expires_at: string | null
  last_used_at: string | null
  revoked_at: string | null
}

export interface LoginThrottleTable {
  key: string
  failures: number
  last_failure_at: string
  blocked_until: string | null
}
