import { z } from 'zod'
import { workspaceParams } from '../workspaces/workspaces.schema.ts'

export const channelParams = workspaceParams.extend({ channelId: z.string().min(1).max(64) })

const secret = (what: string) => z.string().trim().min(8, `must be the ${what} (at least 8 characters)`).max(1024)
const graphId = z.string().trim().regex(/^\d{5,30}$/, 'must be the numeric id Meta shows')

export const connectCloudBody = z.object({
  name: z.string().trim().min(1).max(100),
  accessToken: secret('access token'),
  phoneNumberId: graphId,
  wabaId: graphId,
  appSecret: secret('app secret'),
  /** Optional: generated when omitted. Shown once, in this response. */
  verifyToken: z.string().trim().min(16, 'must be at least 16 characters').max(200).optional(),
})

export const updateChannelBody = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    /** Messages per second the sender allows this number: Meta's default is 80, upgraded numbers reach 1000. */
    sendRate: z.number().int().min(1).max(1000).optional(),
  })
  .refine((b) => b.name !== undefined || b.sendRate !== undefined, 'send name and/or sendRate')

export const rotateCredentialsBody = z
  .object({
    accessToken: secret('access token').optional(),
    appSecret: secret('app secret').optional(),
    verifyToken: z.string().trim().min(16).max(200).optional(),
    regenerateVerifyToken: z.boolean().optional(),
  })
  .refine((b) => b.accessToken || b.appSecret || b.verifyToken || b.regenerateVerifyToken, 'send at least one credential to change')

export const channelView = z.object({
  id: z.string(),
  provider: z.enum(['cloud', 'qr']),
  name: z.string(),
  status: z.enum(['active', 'needs_reauth', 'disconnected']),
  phoneNumberId: z.string().nullable(),
  wabaId: z.string().nullable(),
  displayPhoneNumber: z.string().nullable(),
  verifiedName: z.string().nullable(),
  qualityRating: z.string().nullable(),
  messagingLimit: z.string().nullable(),
  accountStatus: z.string().nullable(),
  sendRate: z.number(),
  credentials: z.object({ accessToken: z.string().nullable(), appSecret: z.string().nullable(), verifyToken: z.string().nullable() }),
  webhookUrl: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
})
export type ChannelView = z.infer<typeof channelView>
