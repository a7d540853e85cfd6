/**
 * The Cloud API behind the ChannelProvider contract: requests built per Meta's reference (§3), the 24-hour
 * customer-service window, pacing at the number's send rate, Graph API sends and media, errors mapped per
 * reference §3.10.
 */
import { AppError, invalidField } from '../../lib/errors.ts'
import { masked } from '../../lib/secrets.ts'
import { callbackDataFor } from '../inbound-events.ts'
import { openSecret } from '../channel-secrets.ts'
import type { ChannelsTable } from '../channels.table.ts'
import { ProviderError, type ChannelProvider, type SendTarget } from '../provider.ts'
import type { ConnectCloudInput } from './cloud.schema.ts'
import { connectCloudChannel, webhookUrl } from './connect.service.ts'
import { GraphError, isPermissionCode, type GraphClient } from './graph.ts'
import { downloadFromGraph, uploadToGraph } from './media.ts'
import { name } from './name.ts'
import { toCloudRequest, type CloudRequest } from './outbound.ts'
import { Pacer } from './pacer.ts'
import type { ServiceDeps } from '../../deps.ts'

/** Meta's customer-service window, less a margin for clocks that disagree (reference §6.1). */
export const SERVICE_WINDOW_MS = 24 * 3600_000 - 5 * 60_000

/** Readable reasons for the codes a person is most likely to see on a failed message. */
const REASONS: Record<number, string> = {
  0: 'The access token is no longer valid',
  190: 'The access token is invalid or expired',
  3: 'The app lost a capability it needs for this number: grant it again in Meta, then rotate the credentials',
  10: 'The app lost its permission for this number: grant it again in Meta, then rotate the credentials',
  100: 'Meta rejected a parameter of the message',
  130429: 'The number sent more messages per second than Meta allows',
  131026: 'The recipient cannot receive this message (not on WhatsApp, old app, or terms not accepted)',
  131047: 'More than 24 hours have passed since the customer last wrote: send a template',
  131048: 'Sending is limited because too many recipients blocked or reported this number',
  131049: 'Meta held the message back to protect user engagement (marketing limits)',
  131051: 'This message type is not supported',
  131056: 'Too many messages to this recipient in a short time',
  132000: 'The template parameters do not match the template',
  132001: 'The template does not exist in this language, or is not approved',
  132015: 'The template is paused',
  132016: 'The template is disabled',
  133010: 'The phone number is not registered with the Cloud API',
  368: 'The number is temporarily blocked for policy violations',
}

function mapError(err: unknown): ProviderError {
  if (!(err instanceof GraphError))
    return new ProviderError({ code: -1, reason: (err as Error)?.message ?? 'send failed', retryable: true })
  const reason =
    REASONS[err.code] ??
    (isPermissionCode(err.code)
      ? `The app lost a permission it needs (code ${err.code}): grant it again in Meta, then rotate the credentials`
      : err.code === -1
        ? err.message
        : `Meta refused the message (code ${err.code})`)
  return new ProviderError({
    code: err.code,
    reason,
    retryable: err.retryable,
    authFailure: err.authFailure,
    pairRate: err.code === 131056,
    details: err.details,
  })
}

function credentialsOf(target: SendTarget) {
  if (!target.credentials)
    throw new ProviderError({ code: -1, reason: 'The channel has no access token', authFailure: true })
  return target.credentials
}

/** The Cloud API part of a channel update. */
export type CloudSettingsInput = { sendRate?: number; qr?: unknown }

export type CloudProvider = ChannelProvider<CloudRequest, CloudSettingsInput, ConnectCloudInput, ServiceDeps> & {
  readonly graph: GraphClient
}

export function cloudProvider(graph: GraphClient): CloudProvider {
  const needsCredentials = 'The channel needs new credentials'
  return {
    name,
    graph,

    inactiveReason: () => 'The channel needs new credentials before it can send.',
    admit(input, conversation, now) {
      // Free-form messages only inside the customer-service window; outside it, a template.
      const lastInbound = conversation.lastInboundAt ? Date.parse(conversation.lastInboundAt) : null
      if (input.type !== 'template' && (lastInbound === null || now - lastInbound > SERVICE_WINDOW_MS)) {
        throw new AppError(
          422,
          'outside_service_window',
          'The customer has not written in the last 24 hours: only a template message can be sent now.',
        )
      }
    },
    async buildRequest(_deps, input, r) {
      // biz_opaque_callback_data is always ours: it lets a status webhook find a send a crash interrupted. The
      // caller's own callbackData stays with the message.
      return toCloudRequest(input, {
        to: r.to,
        contextWamid: r.replyTo?.wamid ?? null,
        reactionWamid: r.reactionTo?.wamid ?? null,
        callbackData: callbackDataFor(r.messageId),
      })
    },
    fixedMessageId: () => null,
    deferral: async () => null,

    credentialsRefused: (code) =>
      isPermissionCode(code)
        ? `Meta took away a permission the app needs (code ${code}): grant it again in Meta, then rotate the credentials`
        : `Meta refused the access token (code ${code})`,
    parseRequest: (stored) => JSON.parse(stored) as CloudRequest,
    readyToSend: () => true,
    async pacer(_deps, c, existing) {
      const pacer = existing instanceof Pacer ? existing : new Pacer(c.send_rate)
      pacer.setRate(c.send_rate)
      return pacer
    },
    sendTarget(deps, c: ChannelsTable, recipient) {
      if (c.status !== 'active' || !c.access_token || !c.phone_number_id) return { unavailable: needsCredentials }
      const token = openSecret(deps.keyring, c.workspace_id, c.id, 'access_token', c.access_token)
      return {
        target: {
          workspaceId: c.workspace_id,
          channelId: c.id,
          recipient,
          credentials: { token, phoneNumberId: c.phone_number_id },
        },
        authFailures: c.auth_failures,
      }
    },
    async send(target, request) {
      try {
        const { token, phoneNumberId } = credentialsOf(target)
        const result = await graph.sendMessage(token, phoneNumberId, request)
        return { providerMessageId: result.messages[0]!.id, recipient: result.contacts?.[0]?.wa_id ?? null }
      } catch (err) {
        if (err instanceof ProviderError) throw err
        throw mapError(err)
      }
    },
    async markRead(target, wamid) {
      try {
        const { token, phoneNumberId } = credentialsOf(target)
        await graph.markRead(token, phoneNumberId, wamid)
      } catch (err) {
        if (err instanceof ProviderError) throw err
        throw mapError(err)
      }
    },

    uploadMedia: (deps, ctx, channel, file, mime) => uploadToGraph(deps, graph, ctx, channel, file, mime),
    downloadMedia: (deps, channel, mediaId) => downloadFromGraph(deps, graph, channel, mediaId),

    connect: (deps, ctx, input) => connectCloudChannel(deps, graph, ctx, input),
    view: (deps, c) => ({
      credentials: {
        accessToken: masked(c.access_token_last4),
        appSecret: masked(c.app_secret_last4),
        verifyToken: masked(c.verify_token_last4),
      },
      webhookUrl: webhookUrl(deps.config.publicUrl, c.id),
      connection: null,
      qr: null,
    }),
    updateSettings(c, input) {
      if (input.qr !== undefined) throw invalidField('qr', 'only QR-linked channels have these settings')
      if (input.sendRate === undefined) return { patch: {}, changes: {} }
      return {
        patch: { send_rate: input.sendRate },
        changes: { sendRate: { from: c.send_rate, to: input.sendRate } },
      }
    },
    // Nothing runs between sends: wiping the credentials (the caller's update) is all it takes.
    disconnect: async () => ({}),
  }
}
