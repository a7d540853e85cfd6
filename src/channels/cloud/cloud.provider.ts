/** The Cloud API behind the ChannelProvider interface: Graph API calls, errors mapped per reference §3.10. */
import type { ChannelProvider, SendTarget } from '../provider.ts'
import { ProviderError } from '../provider.ts'
import { GraphError, type GraphClient } from './graph.ts'

/** Readable reasons for the codes a person is most likely to see on a failed message. */
const REASONS: Record<number, string> = {
  0: 'The access token is no longer valid',
  190: 'The access token is invalid or expired',
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
  const reason = REASONS[err.code] ?? (err.code === -1 ? err.message : `Meta refused the message (code ${err.code})`)
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

export function cloudProvider(graph: GraphClient): ChannelProvider {
  return {
    async send(target: SendTarget, request: Record<string, unknown>) {
      try {
        const { token, phoneNumberId } = credentialsOf(target)
        const result = await graph.sendMessage(token, phoneNumberId, request)
        return { providerMessageId: result.messages[0]!.id, recipient: result.contacts?.[0]?.wa_id ?? null }
      } catch (err) {
        if (err instanceof ProviderError) throw err
        throw mapError(err)
      }
    },
    async markRead(target: SendTarget, wamid: string) {
      try {
        const { token, phoneNumberId } = credentialsOf(target)
        await graph.markRead(token, phoneNumberId, wamid)
      } catch (err) {
        if (err instanceof ProviderError) throw err
        throw mapError(err)
      }
    },
  }
}
