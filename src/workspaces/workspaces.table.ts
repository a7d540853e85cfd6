import type { Role } from '../auth/permissions.ts'

export interface WorkspacesTable {
  id: string
  name: string
  plan: string
  retention_days: number | null
  created_at: string
  updated_at: string
}

export interface MembershipsTable {
  workspace_id: string
  user_id: string
  role: Role
  created_at: string
}

export interface InvitesTable {
  id: string
  workspace_id: string
  email: string
  role: Role
  token_hash: string
  invited_by: string | null
  created_at: string
  expires_at: string
  accepted_at: string | null
  accepted_by: string | null
  revoked_at: string | null
}
