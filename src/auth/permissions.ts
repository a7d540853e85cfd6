/**
 * THE role → permission table (DESIGN §3). Every authorization decision in wabox reads this table and
 * nothing else; the route matrix test is generated from it.
 */
export const ROLES = ['owner', 'admin', 'agent', 'analyst'] as const
export type Role = (typeof ROLES)[number]

/** Roles an API key may carry: never Owner (an Owner can delete the workspace). */
export const API_KEY_ROLES = ['admin', 'agent', 'analyst'] as const satisfies readonly Role[]
export type ApiKeyRole = (typeof API_KEY_ROLES)[number]

const ALL: readonly Role[] = ROLES
const MANAGERS: readonly Role[] = ['owner', 'admin']

export const PERMISSIONS = {
  /** See the workspace itself (name, plan, retention). */
  'workspace.read': ALL,
  /** Rename, retention, delete, transfer ownership. */
  'workspace.manage': ['owner'],
  /** See who is in the workspace (agents need it to assign conversations). */
  'members.read': ALL,
  /** Invite, change role, remove. Admins cannot touch Owners or grant Owner (enforced in the service). */
  'members.manage': MANAGERS,
  'channels.manage': MANAGERS,
  'apikeys.manage': MANAGERS,
  'webhooks.manage': MANAGERS,
  'templates.manage': MANAGERS,
  'templates.preview': MANAGERS,
  'broadcasts.manage': MANAGERS,
  'automations.manage': MANAGERS,
  'conversations.read': ALL,
  'contacts.read': ALL,
  'conversations.reply': ['owner', 'admin', 'agent'],
  'conversations.assign': ['owner', 'admin', 'agent'],
  'conversations.takeover': ['owner', 'admin', 'agent'],
  'contacts.write': ['owner', 'admin', 'agent'],
  'contacts.erase': MANAGERS,
  'contacts.export': MANAGERS,
  'reports.read': ['owner', 'admin', 'analyst'],
  'audit.read': MANAGERS,
} as const satisfies Record<string, readonly Role[]>

export type Permission = keyof typeof PERMISSIONS

export function can(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role)
}

/** True when `role` can do everything `other` can (a member's role must cover the role of the keys they made). */
export function covers(role: Role, other: Role): boolean {
  return (Object.keys(PERMISSIONS) as Permission[]).every((p) => !can(other, p) || can(role, p))
}
