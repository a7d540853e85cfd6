/**
 * The channels API's own shapes. The bodies that differ by kind of channel (connect, settings) are each
 * provider's; registry.ts composes them into the routes' bodies.
 */
import { z } from 'zod'
import { workspaceParams } from '../workspaces/workspaces.schema.ts'
import type { ProviderName } from './provider-names.ts'

export const channelParams = workspaceParams.extend({ channelId: z.string().min(1).max(64) })

/** A new instance each time: a schema used in several bodies is inlined in each, as before. */
export const channelName = () => z.string().trim().min(1).max(100)

/** The part of a channel's view that depends on its kind (each provider's `view`). */
export const providerViewFields = {
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
      reachoutLockedUntil: z
        .string()
        .nullable()
        .optional()
        .describe(
          'Until when WhatsApp restricts the number from starting new chats (ISO 8601): messages that would start one wait, replies go on',
        ),
    })
    .nullable(),
  qr: z.object({ pacing: z.record(z.string(), z.unknown()), includeGroups: z.boolean() }).nullable(),
}
export type ProviderView = z.infer<z.ZodObject<typeof providerViewFields>>

export const channelViewBase = z.object({
  id: z.string(),
  /** The provider's name: registry.ts narrows it to the names it knows. */
  provider: z.string(),
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
  ...providerViewFields,
  createdAt: z.string(),
  updatedAt: z.string(),
})
/** Where Meta posts this channel's webhooks, and the verify token to enter there — returned once, when set. */
export const webhookSetup = z
  .object({ url: z.string(), verifyToken: z.string().describe('Shown only in this response; stored sealed') })
  .describe('For the Meta app dashboard: the callback URL and its verify token')

export type ChannelView = Omit<z.infer<typeof channelViewBase>, 'provider'> & { provider: ProviderName }
