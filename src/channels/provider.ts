/**
 * The one contract every kind of channel implements. Everything that differs between a Cloud API number
 * (channels/cloud/) and a QR-linked device (channels/qr/) lives behind it, so the send API, the outbox sender,
 * media, the channels API and the read-receipt path are written once; registry.ts is the one place that knows
 * which providers exist.
 *
 * - Queue time: `admit` checks the provider's own sending rules (the Cloud API's customer-service window),
 *   `buildRequest` turns the neutral send input (send-input.ts) into the provider's request — or refuses with
 *   a 422 — and `deferral` says why a message will not leave at once.
 * - Send time: the sender parses the stored request with the provider that built it (`parseRequest`), asks
 *   whether the channel can send now (`readyToSend`), paces it with the provider's pacer, resolves the target
 *   (`sendTarget`: credentials, or why it cannot send), and `send`s. ProviderError says what the sender must do:
 *   `retryable` (back off and try again), `pairRate` (slow down to this recipient only), `authFailure` (the
 *   credentials no longer work: counts towards needs_reauth), `notSent` (nothing left this process — e.g. the
 *   device is offline: wait, without spending an attempt or a pacing slot), and a stable `code` plus a
 *   readable `reason` for the message row.
 * - Media: `uploadMedia` for later sends, `downloadMedia` for inbound media.
 * - The channels API: `connect`, `view` (what a channel shows beyond the common columns), `updateSettings`,
 *   `disconnect`. Routes only one kind has (Cloud credentials, QR linking) are that provider's own (registry.ts).
 * Inbound messages come in through each provider's own path (Cloud: webhooks; QR: the live session) and are
 * mapped to the neutral events of inbound-events.ts.
 */
import type { WorkspaceContext } from '../workspaces/workspace-context.ts'
import type { ChannelView, ProviderView } from './channels.schema.ts'
import type { ChannelsTable } from './channels.table.ts'
import type { SendMessageInput } from './send-input.ts'

export type SendTarget = {
  workspaceId: string
  channelId: string
  /** The person the message goes to (digits), for providers that address by phone rather than by message. */
  recipient: string | null
  /** For providers that authenticate with a token; those with a live session have none. */
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
  /** With notSent: when to look again (epoch ms), if the provider knows better than the sender's short wait. */
  retryAt?: number | null
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
  readonly retryAt: number | null
  constructor(o: ProviderErrorOptions) {
    super(o.reason)
    this.code = o.code
    this.reason = o.reason
    this.retryable = o.retryable ?? false
    this.authFailure = o.authFailure ?? false
    this.pairRate = o.pairRate ?? false
    this.details = o.details ?? null
    this.notSent = o.notSent ?? false
    this.retryAt = o.retryAt ?? null
  }
}

export type PaceAnswer = { ok: true } | { ok: false; waitMs: number }

/** A channel's pace, kept by the outbox sender across its passes. */
export interface SendPacer {
  /** Whether a send may start at `now`, without side effects; waitMs is Infinity while only an answer can free it. */
  peek(now: number): PaceAnswer
  /** Same as peek, and takes the slot when ok. */
  take(now: number): PaceAnswer
  /** The started send finished (answered, or ended without an answer) at `now`. */
  done(now: number): void
  /** A taken slot whose send never started. */
  cancel(): void
}

/** What the sender knows of a channel with due messages (outbox.repo dueChannels). */
export type DueChannel = Pick<
  ChannelsTable,
  'workspace_id' | 'id' | 'provider' | 'send_rate' | 'qr_settings' | 'linked_at' | 'connection_state'
>

/** A message of the conversation that a send quotes or reacts to. */
export type ReferencedMessage = { wamid: string; fromMe: boolean; text: string | null }

/** What the send path resolved before the provider builds its request. */
export type ResolvedSend = {
  to: string
  /** wabox's id of the message being queued. */
  messageId: string
  replyTo: ReferencedMessage | null
  reactionTo: ReferencedMessage | null
  /** When the person last wrote in this conversation; null when the business would start the chat. */
  lastInboundAt: string | null
}

/** Why and until when a queued message waits (pacing caps, a device offline). */
export type Deferral = { until: string | null; reason: string }

export type SendTargetOrReason =
  | { target: SendTarget; authFailures: number }
  | {
      /** Why the channel cannot send now; the message fails with it. */
      unavailable: string
    }

export type MediaKind = 'image' | 'audio' | 'video' | 'document' | 'sticker'
export type FetchedMedia = { bytes: Uint8Array; sha256: string | null; mime: string | null }

/** What connecting a channel answers: its view, and what the caller needs once (a Cloud number's webhook). */
export type Connected = { channel: ChannelView; webhook?: { url: string; verifyToken: string } }

/** A settings change: the columns to write, what the audit log records, and what to tell live parts afterwards. */
export type SettingsChange = {
  patch: Partial<ChannelsTable>
  changes: Record<string, unknown>
  applied?: () => void
}

/**
 * `Deps` is what the provider's methods are given (ServiceDeps): a parameter rather than an import, so the contract
 * does not depend on deps.ts, which lists the providers — no cycle between the two.
 */
export interface ChannelProvider<Request = unknown, Settings = unknown, Connect = unknown, Deps = unknown> {
  /** The name stored in channels.provider. */
  readonly name: string

  // --- queue time ---
  /** The send API's 409 text for a channel of this kind that is neither active nor disconnected. */
  inactiveReason(channel: ChannelsTable): string
  /** The provider's own rules on what may be sent now; throws the AppError the send API answers. */
  admit(input: SendMessageInput, conversation: { lastInboundAt: string | null }, now: number): void
  /** The request `send` takes, built (and checked: 422s) from the neutral input. */
  buildRequest(deps: Deps, input: SendMessageInput, resolved: ResolvedSend): Promise<Request>
  /** The provider's message id when it is fixed at queue time (the echo of our own send is then recognised). */
  fixedMessageId(request: Request): string | null
  /** Why a message queued now will not go out at once; null when it will. */
  deferral(deps: Deps, channel: ChannelsTable, now: number): Promise<Deferral | null>

  // --- send time ---
  /** The stored request (JSON of what buildRequest returned), read back by the provider that built it. */
  parseRequest(stored: string): Request
  /** Whether the channel can send right now (a device offline waits: its session wakes the sender). */
  readyToSend(channel: DueChannel): boolean
  /** The channel's pacer, given the one kept from earlier passes (reused and updated when it is this kind's). */
  pacer(deps: Deps, channel: DueChannel, existing: SendPacer | undefined): Promise<SendPacer>
  /** Where a send through this active channel goes, or why it cannot send. */
  sendTarget(deps: Deps, channel: ChannelsTable, recipient: string | null): SendTargetOrReason
  /**
   * Sends; `recipient` is the number as the service knows the person (Meta normalises what it was given, e.g.
   * drops a Brazilian mobile's ninth digit), or null when it did not say.
   */
  send(target: SendTarget, request: Request): Promise<{ providerMessageId: string; recipient: string | null }>
  markRead(target: SendTarget, providerMessageId: string): Promise<void>

  /** The needs_reauth reason when the provider refused the channel's credentials with `code` (channel-health.ts). */
  credentialsRefused(code: number): string

  // --- media ---
  /** A file for later sends by media id (the file's type and size are already checked: media-types.ts). */
  uploadMedia(
    deps: Deps,
    ctx: WorkspaceContext,
    channel: ChannelsTable,
    file: File,
    mime: string,
  ): Promise<{ mediaId: string }>
  /** An inbound message's media, by the id its inbound mapping stored. */
  downloadMedia(deps: Deps, channel: ChannelsTable, mediaId: string): Promise<FetchedMedia>

  // --- the channels API ---
  /** Connects a channel of this kind from its connect body (checked with the provider first where it can be). */
  connect(deps: Deps, ctx: WorkspaceContext, input: Connect): Promise<Connected>
  view(deps: Deps, channel: ChannelsTable): ProviderView
  /** Checks and applies the settings part of an update (422 for settings this kind does not have). */
  updateSettings(channel: ChannelsTable, input: Settings): SettingsChange
  /** Ends the channel's live part (if any) before it is marked disconnected; returns the extra columns to reset. */
  disconnect(deps: Deps, channel: ChannelsTable, at: string): Promise<Partial<ChannelsTable>>
}

/** The provider of a channel, by the name stored on it (registry.ts builds them all into ServiceDeps). */
export function providerOf<P extends ChannelProvider<any, any, any, any>>(
  deps: { providers: Readonly<Record<string, P>> },
  name: string,
): P {
  const provider = Object.hasOwn(deps.providers, name) ? deps.providers[name] : undefined
  if (!provider) throw new Error(`no provider named ${JSON.stringify(name)}`)
  return provider
}
