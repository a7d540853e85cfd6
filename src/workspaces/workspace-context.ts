/** What the permission macro hands a tenant route: the caller, the workspace and the caller's role in it. */
import type { Caller } from '../auth/principal.ts'
import type { Role } from '../auth/permissions.ts'
import type { WorkspacesTable } from './workspaces.table.ts'

export type WorkspaceContext = { caller: Caller; workspace: WorkspacesTable; role: Role }
