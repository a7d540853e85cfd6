/**
 * Connecting a Cloud API number (the token and number are checked against the Graph API first) and replacing
 * its credentials (a new token is checked too; success clears needs_reauth).
 */
import type { ServiceDeps } from '../../deps.ts'
import { iso } from '../../clock.ts'
import { newId, randomAlphanumeric } from '../../crypto/tokens.ts'
import { AppError } from '../../lib/errors.ts'
import { last4 } from '../../lib/secrets.ts'
import * as audit from '../../audit/audit.service.ts'
import { emit } from '../../events/emit.ts'
import { requireQuota } from '../../workspaces/plans.ts'
import type { WorkspaceContext } from '../../workspaces/workspace-context.ts'
import { sealSecret } from '../channel-secrets.ts'
import { channelView, findChannel } from '../channels.service.ts'
import { NO_QR_COLUMNS, type ChannelsTable } from '../channels.table.ts'
import * as repo from '../channels.repo.ts'
import type { ConnectCloudInput } from './cloud.schema.ts'
import { GraphError, type GraphClient, type PhoneNumberInfo } from './graph.ts'
import { name } from './name.ts'

export const webhookUrl = (publicUrl: string, channelId: string) => `${publicUrl}/webhooks/whatsapp/${channelId}`

/** Checks a token against the number; maps Meta's refusal to a 422 that names the problem (never the token). */
async function verifyNumber(graph: GraphClient, accessToken: string, phoneNumberId: string): Promise<PhoneNumberInfo> {
  try {
    return await graph.getPhoneNumber(accessToken, phoneNumberId)
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

/** Connects a Cloud API number. The verify token (given or generated) is returned once, for Meta's dashboard. */
export async function connectCloudChannel(
  deps: ServiceDeps,
  graph: GraphClient,
  ctx: WorkspaceContext,
  input: ConnectCloudInput,
) {
  // The token is checked first: only someone who controls the number learns whether it is connected here.
  const info = await verifyNumber(graph, input.accessToken, input.phoneNumberId)
  const verifyToken = input.verifyToken ?? randomAlphanumeric(32)
  const id = newId('ch')
  const at = iso(ctx.caller.meta.at)
  const row: ChannelsTable = {
    id,
    workspace_id: ctx.workspace.id,
    provider: name,
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
        provider: name,
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

/** Replaces credentials. A new access token is checked first; success clears needs_reauth. */
export async function rotateCredentials(
  deps: ServiceDeps,
  graph: GraphClient,
  ctx: WorkspaceContext,
  channelId: string,
  input: { accessToken?: string; appSecret?: string; verifyToken?: string; regenerateVerifyToken?: boolean },
) {
  const c = await findChannel(deps, ctx.workspace.id, channelId)
  if (c.status === 'disconnected')
    throw new AppError(409, 'channel_disconnected', 'This channel is disconnected; connect the number again instead.')
  if (input.accessToken) await verifyNumber(graph, input.accessToken, c.phone_number_id!)
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
