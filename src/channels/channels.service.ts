/**
 * Channels of every kind: list, get, rename and settings, disconnect (credentials are wiped; history stays).
 * What differs by kind — the view's extra parts, which settings exist, what disconnecting ends — is the
 * channel's provider's (provider.ts); connecting is each provider's own (registry.ts dispatches it).
 */
import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { notFound } from '../lib/errors.ts'
import * as audit from '../audit/audit.service.ts'
import { emit } from '../events/emit.ts'
import type { WorkspaceContext } from '../workspaces/workspace-context.ts'
import type { ChannelView } from './channels.schema.ts'
import type { ChannelsTable } from './channels.table.ts'
import * as repo from './channels.repo.ts'
import { providerOf } from './provider.ts'

export function channelView(deps: ServiceDeps, c: ChannelsTable): ChannelView {
  const { credentials, webhookUrl, connection, qr } = providerOf(deps, c.provider).view(deps, c)
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
    credentials,
    webhookUrl,
    connection,
    qr,
    createdAt: c.created_at,
    updatedAt: c.updated_at,
  }
}

export async function findChannel(deps: ServiceDeps, workspaceId: string, channelId: string): Promise<ChannelsTable> {
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

/** Renames a channel and changes its kind's settings (a Cloud number's send rate, a QR number's pacing). */
export async function updateChannel(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  channelId: string,
  input: { name?: string },
) {
  const c = await findChannel(deps, ctx.workspace.id, channelId)
  const settings = providerOf(deps, c.provider).updateSettings(c, input)
  const patch = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...settings.patch,
    updated_at: iso(ctx.caller.meta.at),
  }
  const changes = {
    ...(input.name !== undefined ? { name: { from: c.name, to: input.name } } : {}),
    ...settings.changes,
  }
  await deps.db.transaction().execute(async (trx) => {
    await repo.update(trx, ctx.workspace.id, channelId, patch)
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'channel.updated',
      target: { type: 'channel', id: channelId },
      metadata: changes,
    })
  })
  settings.applied?.()
  return channelView(deps, { ...c, ...patch })
}

/**
 * Stops using the number and wipes its credentials; history (conversations, messages) stays. The provider ends
 * what is live first (a QR-linked device is logged out on WhatsApp's side and its sealed session erased).
 */
export async function disconnectChannel(deps: ServiceDeps, ctx: WorkspaceContext, channelId: string): Promise<void> {
  const c = await findChannel(deps, ctx.workspace.id, channelId)
  if (c.status === 'disconnected') return
  const at = iso(ctx.caller.meta.at)
  const reset = await providerOf(deps, c.provider).disconnect(deps, c, at)
  await deps.db.transaction().execute(async (trx) => {
    await repo.update(trx, ctx.workspace.id, channelId, {
      status: 'disconnected',
      disconnected_at: at,
      updated_at: at,
      access_token: null,
      app_secret: null,
      verify_token: null,
      ...reset,
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
