/** The Cloud API's bodies: connecting a number, its send rate, replacing credentials. */
import { z } from 'zod'
import { channelName } from '../channels.schema.ts'

const secret = (what: string) => z.string().trim().min(8, `must be the ${what} (at least 8 characters)`).max(1024)
const graphId = z
  .string()
  .trim()
  .regex(/^\d{5,30}$/, 'must be the numeric id Meta shows')

export const connectCloudBody = z.object({
  name: channelName(),
  accessToken: secret('access token'),
  phoneNumberId: graphId,
  wabaId: graphId,
  appSecret: secret('app secret'),
  /** Optional: generated when omitted. Shown once, in this response. */
  verifyToken: z.string().trim().min(16, 'must be at least 16 characters').max(200).optional(),
})
export type ConnectCloudInput = z.infer<typeof connectCloudBody>

/** The Cloud API part of a channel update. */
export const cloudSettingsFields = {
  /** Messages per second the sender allows this number: Meta's default is 80, upgraded numbers reach 1000. */
  sendRate: z.number().int().min(1).max(1000).optional().describe('Cloud API channels'),
}

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
