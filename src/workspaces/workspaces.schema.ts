import { z } from 'zod'
import { ROLES, API_KEY_ROLES } from '../auth/permissions.ts'
import { emailSchema, userView } from '../auth/auth.schema.ts'

export const workspaceParams = z.object({ workspaceId: z.string().min(1).max(64) })
export const memberParams = workspaceParams.extend({ userId: z.string().min(1).max(64) })
export const inviteParams = workspaceParams.extend({ inviteId: z.string().min(1).max(64) })
export const apiKeyParams = workspaceParams.extend({ keyId: z.string().min(1).max(64) })

const name = z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters')

export const workspaceView = z.object({
  id: z.string(),
  name: z.string(),
  plan: z.string(),
  retentionDays: z.number().nullable(),
  createdAt: z.string(),
})
export type WorkspaceView = z.infer<typeof workspaceView>

export const createWorkspaceBody = z.object({
  name,
  plan: z.string().min(1).max(32).optional(),
  /** Optional: also invite this person as an Owner (agencies create workspaces for clients). */
  ownerEmail: emailSchema.optional(),
})
export const setPlanBody = z.object({ plan: z.string().min(1).max(32) })
export const updateWorkspaceBody = z
  .object({ name: name.optional(), retentionDays: z.number().int().min(1).max(36500).nullable().optional() })
  .refine((b) => b.name !== undefined || b.retentionDays !== undefined, 'send name and/or retentionDays')
export const deleteWorkspaceBody = z.object({ confirmName: z.string().min(1, 'type the workspace name to confirm') })
export const transferOwnershipBody = z.object({ userId: z.string().min(1).max(64) })

export const memberView = z.object({
  userId: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  joinedAt: z.string(),
})
export const changeRoleBody = z.object({ role: z.enum(ROLES) })

export const inviteView = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  status: z.enum(['pending', 'accepted', 'revoked', 'expired']),
  createdAt: z.string(),
  expiresAt: z.string(),
})
/** A new invite with its accept link: the link holds the token, so it is shown in this answer only. */
export const createdInviteView = z.object({
  invite: inviteView,
  acceptUrl: z.string().describe('<public URL>/invite?token=…: send it to the invitee; it is not shown again'),
})
/** A workspace the operator created, with the invite of its client's Owner when `ownerEmail` was given. */
export const createdWorkspaceView = z.object({
  workspace: workspaceView,
  ownerInvite: createdInviteView.nullable().describe('The Owner invite sent to ownerEmail; null without one'),
})
/** What an invite link offers, shown on the accept page before the person signs up. */
export const invitePreviewView = z.object({
  workspaceName: z.string(),
  email: z.string().describe('The address the invite was sent to: only it can accept'),
  role: z.enum(ROLES),
  expiresAt: z.string(),
})
/** An accepted invite (the session cookie of the signed-in account is set beside it). */
export const acceptedInviteView = z.object({
  user: userView.describe('The account: just created, or the existing one whose password was confirmed'),
  workspaceId: z.string(),
  role: z.enum(ROLES).describe('The role the invite granted'),
})
export const createInviteBody = z.object({
  email: emailSchema,
  role: z.enum(ROLES),
  expiresInHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(24 * 7),
})
export const acceptInviteBody = z.object({
  token: z.string().min(1).max(200),
  email: emailSchema,
  /** An existing account's password, or the password for the account being created. */
  password: z.string().min(1, 'is required').max(256),
  name: z.string().trim().max(100).default(''),
})
export const invitePreviewQuery = z.object({ token: z.string().min(1).max(200) })

export const apiKeyView = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(API_KEY_ROLES),
  /** The visible part of the token; the secret is shown once, at creation. */
  display: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
})
export const createApiKeyBody = z.object({
  name,
  role: z.enum(API_KEY_ROLES, { error: `must be one of ${API_KEY_ROLES.join(', ')} (API keys are never Owner)` }),
  expiresAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional(),
})

export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() })
