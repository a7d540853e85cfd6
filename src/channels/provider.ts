/**
 * The one interface every kind of channel implements, so the outbox sender and the read-receipt path are
 * written once: the Cloud API (channels/cloud/) today, the QR-linked device (channels/qr/) next.
 *
 * Contract:
 * - `send(target, request)` delivers one message and resolves with the provider's message id (the wamid),
 *   or throws a ProviderError. The request is the provider-specific body built at queue time, so a retry
 *   sends exactly what was validated.
 * - ProviderError says what the sender must do: `retryable` (back off and try again), `pairRate` (slow
 *   down to this recipient only), `authFailure` (the credentials no longer work: counts towards needs_reauth),
 *   `notSent` (nothing left this process — e.g. the device is offline: wait, without spending an attempt or a
 *   pacing slot), and a stable `code` plus a readable `reason` for the message row.
 * - `markRead(target, wamid)` sends a read receipt for an inbound message.
 *
 * Validating what a kind of channel can send happens at queue time (send.service.ts builds the request with
 * the provider's own builder); by the time a request reaches `send`, it is one the provider accepts.
 */
export type SendTarget = {
  workspaceId: string
  channelId: string
  /** The person the message goes to (digits), for providers that address by phone rather than by message. */
  recipient: string | null
  /** Cloud API only: QR-linked devices authenticate with their live session instead. */
  credentials: { token: string; phoneNumberId: string } | null
}

export type ProviderErrorOptions = {
  code: number
  reason: string
  retryable?: boolean
  authFailure?: boolean
  pairRate?: boolean
  details?: string | null
  notSent?: boolean
}

export class ProviderError extends Error {
  override name = 'ProviderError'
  readonly code: number
  readonly reason: string
  readonly retryable: boolean
  readonly authFailure: boolean
  readonly pairRate: boolean
  readonly details: string | null
  readonly notSent: boolean
  constructor(o: ProviderErrorOptions) {
    super(o.reason)
    this.code = o.code
    this.reason = o.reason
    this.retryable = o.retryable ?? false
    this.authFailure = o.authFailure ?? false
    this.pairRate = o.pairRate ?? false
    this.details = o.details ?? null
    this.notSent = o.notSent ?? false
  }
}

export interface ChannelProvider {
  send(
    target: SendTarget,
    request: Record<string, unknown>,
  ): Promise<{ providerMessageId: string; recipient: string | null }>
  markRead(target: SendTarget, providerMessageId: string): Promise<void>
}

export type ProviderName = 'cloud' | 'qr'
export type Providers = Record<ProviderName, ChannelProvider>

/** A provider whose live part runs only inside `serve` (QR sessions): elsewhere every call fails, retryably. */
export const providerNotRunning = (what: string): ChannelProvider => {
  const fail = async (): Promise<never> => {
    throw new ProviderError({ code: -2, reason: `${what} is not running in this process`, retryable: true })
  }
  return { send: fail, markRead: fail }
}
