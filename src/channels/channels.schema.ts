import { z } from 'zod'
import { workspaceParams } from '../workspaces/workspaces.schema.ts'
import { qrSettingsInput } from './qr/settings.ts'

export const channelParams = workspaceParams.extend({ channelId: z.string().min(1).max(64) })

const secret = (what: string) => z.string().trim().min(8, `must be the ${what} (at least 8 characters)`).max(1024)
const graphId = z
  .string()
  .trim()
  .regex(/^\d{5,30}$/, 'must be the numeric id Meta shows')

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
    sendRate: z.number().int().min(1).max(1000).optional().describe('Cloud API channels'),
    qr: qrSettingsInput.optional().describe('QR-linked channels: pacing and options'),
  })
  .strict()
  .refine((b) => b.name !== undefined || b.sendRate !== undefined || b.qr !== undefined, 'send name, sendRate or qr')

export const createQrBody = z
  .object({
    kind: z.literal('qr'),
    name: z.string().trim().min(1).max(100),
    qr: qrSettingsInput.optional(),
  })
  .strict()

/** Connect a Cloud API number (no kind, or kind "cloud"), or start linking a QR device (kind "qr"). */
export const createChannelBody = z.preprocess(
  (b) => (b && typeof b === 'object' && !Array.isArray(b) && !('kind' in b) ? { ...b, kind: 'cloud' } : b),
  z.discriminatedUnion('kind', [createQrBody, connectCloudBody.extend({ kind: z.literal('cloud') })]),
)

export const pairingCodeBody = z
  .object({
    phoneNumber: z
      .string()
      .regex(/^\d{8,15}$/, 'must be the number in international format, digits only (e.g. 4915112345678)'),
  })
  .strict()

export const rotateCredentialsBody = z
  .object({
    accessToken: secret('access token').optional(),
    appSecret: secret('app secret').optional(),
    verifyToken: z.string().trim().min(16).max(200).optional(),
    regenerateVerifyToken: z.boolean().optional(),
  })
  .refine(
    (b) => b.accessToken || b.appSecret || b.verifyToken || b.regenerateVerifyToken,
    'send at least one credential to change',
  )

export const channelView = z.object({
  id: z.string(),
  provider: z.enum(['cloud', 'qr']),
  name: z.string(),
  status: z
    .enum(['pending', 'active', 'needs_reauth', 'disconnected'])
    .describe(
      'pending: a QR channel not linked yet; active: can send; needs_reauth: new credentials or a new link needed; disconnected: removed',
    ),
  phoneNumberId: z.string().nullable(),
  wabaId: z.string().nullable(),
  displayPhoneNumber: z.string().nullable(),
  verifiedName: z.string().nullable(),
  qualityRating: z.string().nullable(),
  messagingLimit: z.string().nullable(),
  accountStatus: z.string().nullable(),
  sendRate: z.number(),
  credentials: z.object({
    accessToken: z.string().nullable(),
    appSecret: z.string().nullable(),
    verifyToken: z.string().nullable(),
  }),
  /** Cloud API channels: where Meta posts webhooks. */
  webhookUrl: z.string().nullable(),
  /** QR-linked devices: the live connection, and the channel's pacing and options. */
  connection: z
    .object({
      state: z.string().nullable(),
      since: z.string().nullable(),
      lastError: z.string().nullable(),
      reconnectCount: z.number(),
      linkedAt: z.string().nullable(),
    })
    .nullable(),
  qr: z.object({ pacing: z.record(z.string(), z.unknown()), includeGroups: z.boolean() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})
export type ChannelView = z.infer<typeof channelView>
