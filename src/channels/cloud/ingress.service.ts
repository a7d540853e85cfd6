/**
 * Webhook ingress: verify → split → durable intake → 200. Nothing is parsed before the signature checks out,
 * and the answer is sent only after the intake rows are committed (group commit). Processing happens later,
 * in the intake processor, so Meta never waits on it.
 */
import { iso } from '../../clock.ts'
import type { ServiceDeps } from '../../deps.ts'
import { AppError } from '../../lib/errors.ts'
import { parseJsonChecked } from '../../lib/json-guard.ts'
import { constantTimeEqual } from '../../crypto/tokens.ts'
import { splitWebhook } from './inbound.ts'
import { idempotencyKey } from '../inbound-events.ts'
import { isValidSignature } from './signature.ts'
import type { IntakeWriter } from '../../intake/writer.ts'
import { name } from './name.ts'

export const WEBHOOK_BODY_LIMIT = 3 * 1024 * 1024

async function liveChannel(deps: ServiceDeps, channelId: string) {
  const channel = /^[A-Za-z0-9_]{1,64}$/.test(channelId)
    ? await deps.channelCache.get(deps.db, deps.keyring, channelId)
    : null
  if (channel?.provider !== name)
    throw new AppError(404, 'unknown_channel', 'No Cloud API channel has this webhook URL.')
  if (channel.status === 'disconnected' || !channel.appSecret) {
    throw new AppError(
      410,
      'channel_disconnected',
      'This channel is disconnected; remove the webhook from the Meta app.',
    )
  }
  return channel
}

/** The GET handshake Meta sends when the callback URL is saved: echo the challenge if the token matches. */
export async function verifySubscription(
  deps: ServiceDeps,
  channelId: string,
  q: { mode?: string; token?: string; challenge?: string },
): Promise<string> {
  const channel = await liveChannel(deps, channelId)
  if (
    q.mode !== 'subscribe' ||
    !q.token ||
    !channel.verifyToken ||
    !constantTimeEqual(q.token, channel.verifyToken) ||
    q.challenge === undefined
  ) {
    throw new AppError(403, 'verification_failed', 'The verify token does not match this channel.')
  }
  return q.challenge
}

export type ReceiveResult = { events: number; stored: number; skipped: number }

export async function receiveWebhook(
  deps: ServiceDeps,
  writer: IntakeWriter,
  channelId: string,
  raw: Uint8Array,
  signature: string | null,
): Promise<ReceiveResult> {
  const channel = await liveChannel(deps, channelId)
  if (!isValidSignature(raw, signature, channel.appSecret!)) {
    throw new AppError(
      401,
      'invalid_signature',
      'X-Hub-Signature-256 is missing or does not match this channel’s app secret.',
    )
  }
  // Signed, yet still checked for shape before it is parsed: nothing below should recurse over a hostile value.
  // Only text that is not JSON is refused (400): signed JSON of any shape is answered 200 — a shape this version
  // does not know becomes an unknown notice (a dead letter an operator sees), since a refusal only makes Meta
  // retry it for days.
  const body = parseJsonChecked(Buffer.from(raw).toString('utf8'), { what: 'The webhook body' })
  const now = deps.clock.now()
  const { events, skipped } = splitWebhook(body, channel, now)
  if (skipped.length > 0) {
    deps.logger.warn({ channelId, skipped }, 'webhook items ignored')
  }
  const unknown = events.filter((e) => e.event.kind === 'unknown')
  if (unknown.length > 0) {
    deps.metrics.webhookUnknown.inc(unknown.length)
    deps.logger.warn(
      { channelId, reasons: unknown.map((e) => (e.event.kind === 'unknown' ? e.event.reason : '')) },
      'webhook notices wabox does not know were kept as dead letters',
    )
  }
  const receivedAt = iso(now)
  const stored = await writer.write(
    events.map(({ key, event }) => ({
      workspace_id: channel.workspaceId,
      channel_id: channel.id,
      idempotency_key: idempotencyKey(channel.id, key),
      kind: event.kind,
      payload: JSON.stringify(event),
      received_at: receivedAt,
      next_attempt_at: receivedAt,
    })),
  )
  return { events: events.length, stored, skipped: skipped.length }
}
