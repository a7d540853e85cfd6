import { z } from 'zod'
import { workspaceParams } from '../workspaces/workspaces.schema.ts'

export const conversationParams = workspaceParams.extend({ conversationId: z.string().min(1).max(64) })
export const contactParams = workspaceParams.extend({ contactId: z.string().min(1).max(64) })
export const messageParams = workspaceParams.extend({ messageId: z.string().min(1).max(64) })

const boolParam = z.enum(['true', 'false']).transform((v) => v === 'true')

export const conversationListQuery = z.object({
  q: z
    .string()
    .trim()
    .max(100)
    .optional()
    .describe(
      'finds the contact: name, WhatsApp profile name, username or phone number (digits, with or without +; a part will do)',
    ),
  status: z.enum(['open', 'closed']).optional(),
  channelId: z.string().max(64).optional(),
  unread: boolParam.optional(),
  /** A user id, `me`, or `none` for unassigned. */
  assignee: z.string().max(64).optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})

export const contactListQuery = z.object({
  q: z.string().trim().max(100).optional(),
  optedOut: boolParam.optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})

export const updateContactBody = z
  .object({
    name: z.string().trim().max(100).nullable().optional(),
    labels: z.array(z.string().trim().min(1).max(40)).max(50).optional(),
    notes: z.string().max(5000).optional(),
    optedOut: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field')

export const updateConversationBody = z
  .object({
    status: z.enum(['open', 'closed']).optional(),
    assigneeUserId: z
      .string()
      .min(1)
      .max(64)
      .nullable()
      .optional()
      .describe('a member of the workspace, or null to unassign'),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'send at least one field')
