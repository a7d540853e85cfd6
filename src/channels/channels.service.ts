/**
 * Cloud API channels: connect (the token and number are checked against the Graph API first), rename,
 * rotate credentials, disconnect (credentials are wiped), and health: repeated authentication failures
 * flip the channel to needs_reauth so the team sees it instead of messages silently failing.
 */
import type { ServiceDeps } from '../deps.ts'
import { systemCaller } from '../auth/principal.ts'
import { iso } from '../clock.ts'
import { newId, randomAlphanumeric } from '../crypto/tokens.ts'
import { AppError, notFound, invalidField } from '../lib/errors.ts'
import * as audit from '../audit/audit.service.ts'
import { requireQuota } from '../workspaces/plans.ts'
import type { WorkspaceContext } from '../workspaces/workspace-context.ts'
import { GraphError, type PhoneNumberInfo } from './cloud/graph.ts'
import { ProviderError, type ChannelProvider, type SendTarget } from './provider.ts'
import { openSecret, sealSecret } from './channel-secrets.ts'
import { last4, masked } from '../lib/secrets.ts'
import type { ChannelView } from './channels.schema.ts'
import { NO_QR_COLUMNS, type ChannelsTable } from './channels.table.ts'
import * as repo from './channels.repo.ts'
import { emit } from '../events/emit.ts'
import { mergedSettingsOr422, qrSettingsOf, type QrSettingsInput } from './qr/settings.ts'
import type { QrSessions } from './qr/sessions.ts'

/** Consecutive authentication failures before a channel is marked needs_reauth. */
export const REAUTH_AFTER_FAILURES = 3

export const webhookUrl = (publicUrl: string, channelId: string) => `${publicUrl}/webhooks/whatsapp/${channelId}`

export function channelView(deps: ServiceDeps, c: ChannelsTable): ChannelView {
  return {
    id: c.id,
    provider: c.provider,
    name: c.name,
    status: c.status,
    phoneNumberId: c.phone_number_id,
    wabaId: c.waba_id,
    displayPhoneNumber: c.display_phone_number,
    verifiedName: c.verified_name,
    qualityRating: c.quality_rating,
    messagingLimit: c.messaging_limit,
    accountStatus: c.account_status,
    sendRate: c.send_rate,
    credentials: {
      accessToken: masked(c.access_token_last4),
      appSecret: masked(c.app_secret_last4),
      verifyToken: masked(c.verify_token_last4),
    },
    webhookUrl: c.provider === 'cloud' ? webhookUrl(deps.config.publicUrl, c.id) : null,
    connection:
      c.provider === 'qr'
        ? {
            state: c.connection_state,
            since: c.connection_since,
            lastError: c.last_error,
            reconnectCount: c.reconnect_count,
            linkedAt: c.linked_at,
          }
        : null,
    qr: c.provider === 'qr' ? qrSettingsOf(c.qr_settings) : null,
    createdAt: c.created_at,
    updatedAt: c.updated_at,
  }
}

/** Checks a token against the number; maps Meta's refusal to a 422 that names the problem (never the token). */
async function verifyNumber(deps: ServiceDeps, accessToken: string, phoneNumberId: string): Promise<PhoneNumberInfo> {
  try {
    return await deps.graph.getPhoneNumber(accessToken, phoneNumberId)
  } catch (err) {
    if (!(err instanceof GraphError)) throw err
    if (err.code === -1 && err.httpStatus === 0) {
      throw new AppError(
        502,
        'graph_unreachable',
        'Could not reach the Meta Graph API to check the credentials; try again.',
      )
    }
    if (err.retryable) {
      throw new AppError(
        502,
        'graph_unavailable',
        `The Meta Graph API is temporarily unavailable (code ${err.code}); try again.`,
      )
    }
    if (err.authFailure) {
      throw new AppError(
        422,
        'invalid_access_token',
        `Meta rejected the access token (code ${err.code}): it is invalid, expired or lacks access to this number.`,
        [{ field: 'accessToken', message: 'rejected by Meta' }],
      )
    }
    throw new AppError(
      422,
      'phone_number_unavailable',
      `Meta could not find phone number ${phoneNumberId} with this token (code ${err.code}).`,
      [{ field: 'phoneNumberId', message: 'not found with this token' }],
    )
  }
}

async function findChannel(deps: ServiceDeps, workspaceId: string, channelId: string): Promise<ChannelsTable> {
  const c = await repo.find(deps.db, workspaceId, channelId)
  if (!c) throw notFound('channel')
  return c
}

export async function listChannels(deps: ServiceDeps, ctx: WorkspaceContext) {
  return { items: (await repo.list(deps.db, ctx.workspace.id)).map((c) => channelView(deps, c)) }
}

export async function getChannel(deps: ServiceDeps, ctx: WorkspaceContext, channelId: string) {
  return channelView(deps, await findChannel(deps, ctx.workspace.id, channelId))
}

export type ConnectCloudInput = {
  name: string
  accessToken: string
  phoneNumberId: string
  wabaId: string
  appSecret: string
  verifyToken?: string
}

/** Connects a Cloud API number. The verify token (given or generated) is returned once, for Meta's dashboard. */
export async function connectCloudChannel(deps: ServiceDeps, ctx: WorkspaceContext, input: ConnectCloudInput) {
  // The token is checked first: only someone who controls the number learns whether it is connected here.
  const info = await verifyNumber(deps, input.accessToken, input.phoneNumberId)
  const verifyToken = input.verifyToken ?? randomAlphanumeric(32)
  const id = newId('ch')
  const at = iso(ctx.caller.meta.at)
  const row: ChannelsTable = {
    id,
    workspace_id: ctx.workspace.id,
    provider: 'cloud',
    name: input.name,
    status: 'active',
    phone_number_id: input.phoneNumberId,
    waba_id: input.wabaId,
    display_phone_number: info.display_phone_number,
    verified_name: info.verified_name ?? null,
    quality_rating: info.quality_rating ?? null,
    messaging_limit: null,
    account_status: null,
    access_token: sealSecret(deps.keyring, ctx.workspace.id, id, 'access_token', input.accessToken),
    access_token_last4: last4(input.accessToken),
    app_secret: sealSecret(deps.keyring, ctx.workspace.id, id, 'app_secret', input.appSecret),
    app_secret_last4: last4(input.appSecret),
    verify_token: sealSecret(deps.keyring, ctx.workspace.id, id, 'verify_token', verifyToken),
    verify_token_last4: last4(verifyToken),
    auth_failures: 0,
    send_rate: 80,
    ...NO_QR_COLUMNS,
    created_at: at,
    updated_at: at,
    disconnected_at: null,
  }
  await deps.db.transaction().execute(async (trx) => {
    requireQuota(deps.config.plans, ctx.workspace.plan, 'channels', await repo.countLive(trx, ctx.workspace.id))
    if (await repo.findLiveByPhoneNumberId(trx, input.phoneNumberId)) {
      throw new AppError(
        409,
        'phone_number_in_use',
        'This phone number is already connected on this instance; disconnect it there first.',
      )
    }
    await repo.insert(trx, row)
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'channel.connected',
      target: { type: 'channel', id },
      metadata: {
        name: input.name,
        provider: 'cloud',
        phoneNumberId: input.phoneNumberId,
        wabaId: input.wabaId,
        displayPhoneNumber: info.display_phone_number,
      },
    })
    await emit(
      trx,
      ctx.workspace.id,
      'channel.status',
      { channelId: id, status: 'active', reason: 'connected' },
      row.created_at,
    )
  })
  return { channel: channelView(deps, row), webhook: { url: webhookUrl(deps.config.publicUrl, id), verifyToken } }
}

/** Renames a channel, sets a Cloud number's send rate, or a QR number's pacing and options. */
export async function updateChannel(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  channelId: string,
  input: { name?: string; sendRate?: number; qr?: QrSettingsInput },
  qr?: QrSessions,
) {
  const c = await findChannel(deps, ctx.workspace.id, channelId)
  if (input.sendRate !== undefined && c.provider !== 'cloud') {
    throw invalidField('sendRate', 'QR-linked channels are paced by qr.pacing')
  }
  if (input.qr !== undefined && c.provider !== 'qr') {
    throw invalidField('qr', 'only QR-linked channels have these settings')
  }
  const at = iso(ctx.caller.meta.at)
  const settings = input.qr !== undefined ? mergedSettingsOr422(c.qr_settings, input.qr) : undefined
  const patch = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.sendRate !== undefined ? { send_rate: input.sendRate } : {}),
    ...(settings !== undefined ? { qr_settings: settings } : {}),
    updated_at: at,
  }
  const changes: Record<string, unknown> = {}
  if (input.name !== undefined) changes.name = { from: c.name, to: input.name }
  if (input.sendRate !== undefined) changes.sendRate = { from: c.send_rate, to: input.sendRate }
  if (settings !== undefined) changes.qr = { from: qrSettingsOf(c.qr_settings), to: JSON.parse(settings) }
  await deps.db.transaction().execute(async (trx) => {
    await repo.update(trx, ctx.workspace.id, channelId, patch)
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'channel.updated',
      target: { type: 'channel', id: channelId },
      metadata: changes,
    })
  })
  if (settings !== undefined) qr?.configure(channelId, settings)
  return channelView(deps, { ...c, ...patch })
}

/** Replaces credentials. A new access token is checked first; success clears needs_reauth. */
export async function rotateCredentials(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  channelId: string,
  input: { accessToken?: string; appSecret?: string; verifyToken?: string; regenerateVerifyToken?: boolean },
) {
  const c = await findChannel(deps, ctx.workspace.id, channelId)
  if (c.status === 'disconnected')
    throw new AppError(409, 'channel_disconnected', 'This channel is disconnected; connect the number again instead.')
  if (input.accessToken) await verifyNumber(deps, input.accessToken, c.phone_number_id!)
  const verifyToken = input.verifyToken ?? (input.regenerateVerifyToken ? randomAlphanumeric(32) : undefined)
  const ws = ctx.workspace.id
  const patch: Partial<ChannelsTable> = { updated_at: iso(ctx.caller.meta.at) }
  const changed: string[] = []
  if (input.accessToken) {
    Object.assign(patch, {
      access_token: sealSecret(deps.keyring, ws, c.id, 'access_token', input.accessToken),
      access_token_last4: last4(input.accessToken),
      status: 'active',
      auth_failures: 0,
    })
    changed.push('accessToken')
  }
  if (input.appSecret) {
    Object.assign(patch, {
      app_secret: sealSecret(deps.keyring, ws, c.id, 'app_secret', input.appSecret),
      app_secret_last4: last4(input.appSecret),
    })
    changed.push('appSecret')
  }
  if (verifyToken) {
    Object.assign(patch, {
      verify_token: sealSecret(deps.keyring, ws, c.id, 'verify_token', verifyToken),
      verify_token_last4: last4(verifyToken),
    })
    changed.push('verifyToken')
  }
  await deps.db.transaction().execute(async (trx) => {
    await repo.update(trx, ws, c.id, patch)
    await audit.record(trx, ctx.caller, {
      workspaceId: ws,
      action: 'channel.credentials_changed',
      target: { type: 'channel', id: c.id },
      metadata: { changed },
    })
    if (c.status !== 'active' && patch.status === 'active')
      await emit(
        trx,
        ws,
        'channel.status',
        { channelId: c.id, status: 'active', reason: 'new credentials' },
        patch.updated_at!,
      )
  })
  deps.channelCache.invalidate(c.id)
  return {
    channel: channelView(deps, { ...c, ...patch }),
    ...(verifyToken ? { webhook: { url: webhookUrl(deps.config.publicUrl, c.id), verifyToken } } : {}),
  }
}

/**
 * Stops using the number and wipes its credentials; history (conversations, messages) stays. A QR-linked device
 * is logged out on WhatsApp's side (unlinked from the phone) and its sealed session erased.
 */
export async function disconnectChannel(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  channelId: string,
  qr?: QrSessions,
): Promise<void> {
  const c = await findChannel(deps, ctx.workspace.id, channelId)
  if (c.status === 'disconnected') return
  if (c.provider === 'qr') await qr?.unlink(ctx.workspace.id, channelId)
  const at = iso(ctx.caller.meta.at)
  await deps.db.transaction().execute(async (trx) => {
    await repo.update(trx, ctx.workspace.id, channelId, {
      status: 'disconnected',
      disconnected_at: at,
      updated_at: at,
      access_token: null,
      app_secret: null,
      verify_token: null,
      ...(c.provider === 'qr' ? { connection_state: null, connection_since: at } : {}),
    })
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'channel.disconnected',
      target: { type: 'channel', id: channelId },
      metadata: { name: c.name, phoneNumberId: c.phone_number_id },
    })
    await emit(
      trx,
      ctx.workspace.id,
      'channel.status',
      { channelId, status: 'disconnected', reason: 'disconnected' },
      at,
    )
  })
  deps.channelCache.invalidate(channelId)
}

/**
 * Where a send (or read receipt) through this channel goes: the provider and its target; or why the channel
 * cannot send now (disconnected, or waiting for new credentials / a new link).
 */
export async function sendTargetOf(
  deps: ServiceDeps,
  workspaceId: string,
  channelId: string,
  recipient: string | null,
): Promise<{ provider: ChannelProvider; target: SendTarget; authFailures: number } | { unavailable: string }> {
  const c = await repo.find(deps.db, workspaceId, channelId)
  if (!c || c.status === 'disconnected') return { unavailable: 'The channel is disconnected' }
  if (c.status === 'pending') return { unavailable: 'The number is not linked yet (scan the QR code)' }
  if (c.status !== 'active')
    return {
      unavailable:
        c.provider === 'qr'
          ? 'The number must be linked again (scan a new QR code)'
          : 'The channel needs new credentials',
    }
  const base = { workspaceId, channelId, recipient }
  if (c.provider === 'qr')
    return { provider: deps.providers.qr, target: { ...base, credentials: null }, authFailures: 0 }
  if (!c.access_token || !c.phone_number_id) return { unavailable: 'The channel needs new credentials' }
  const token = openSecret(deps.keyring, workspaceId, channelId, 'access_token', c.access_token)
  return {
    provider: deps.providers.cloud,
    target: { ...base, credentials: { token, phoneNumberId: c.phone_number_id } },
    authFailures: c.auth_failures,
  }
}

/** The opened access token for background work (media downloads, sends); null when disconnected. */
export async function accessTokenOf(
  deps: ServiceDeps,
  workspaceId: string,
  channelId: string,
): Promise<{ token: string; phoneNumberId: string | null } | null> {
  const c = await repo.find(deps.db, workspaceId, channelId)
  if (!c?.access_token || c.status === 'disconnected') return null
  return {
    token: openSecret(deps.keyring, workspaceId, channelId, 'access_token', c.access_token),
    phoneNumberId: c.phone_number_id,
  }
}

/**
 * Health: called after every Graph API call made with the channel's token. Authentication failures count
 * up; at REAUTH_AFTER_FAILURES the channel becomes needs_reauth (audited once). A success resets the count.
 */
export async function recordGraphOutcome(
  deps: ServiceDeps,
  workspaceId: string,
  channelId: string,
  error: unknown,
  opts: { immediate?: boolean } = {},
): Promise<void> {
  const authFailure = (error instanceof GraphError || error instanceof ProviderError) && error.authFailure
  await deps.db.transaction().execute(async (trx) => {
    const c = await repo.find(trx, workspaceId, channelId)
    if (!c || c.status === 'disconnected') return
    if (!authFailure) {
      if (error === null && c.auth_failures > 0) await repo.update(trx, workspaceId, channelId, { auth_failures: 0 })
      return
    }
    const failures = c.auth_failures + 1
    // A refused send is proof enough; background downloads wait for a pattern.
    const flip = (opts.immediate || failures >= REAUTH_AFTER_FAILURES) && c.status === 'active'
    const now = deps.clock.now()
    await repo.update(trx, workspaceId, channelId, {
      auth_failures: failures,
      ...(flip ? { status: 'needs_reauth', updated_at: iso(now) } : {}),
    })
    if (flip) {
      await audit.record(trx, systemCaller('channel health', now), {
        workspaceId,
        action: 'channel.needs_reauth',
        target: { type: 'channel', id: channelId },
        metadata: { failures, code: (error as GraphError | ProviderError).code },
      })
      await emit(
        trx,
        workspaceId,
        'channel.status',
        {
          channelId,
          status: 'needs_reauth',
          reason: `Meta refused the access token (code ${(error as GraphError | ProviderError).code})`,
        },
        iso(now),
      )
      deps.logger.warn(
        { channelId, workspaceId, code: (error as GraphError | ProviderError).code },
        'channel needs re-authentication',
      )
    }
  })
}
