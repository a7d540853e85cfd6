/**
 * QR-linked channels through the channels API: create (linking starts), the current QR as SVG and as a stream of
 * rotations, the pairing-code alternative, linking again after a logout, options, and unlinking.
 * The QR grants whoever scans it the workspace's number, so everything here needs channels.manage.
 */
import QRCode from 'qrcode'
import type { ServiceDeps } from '../../deps.ts'
import { iso, type TimerHandle } from '../../clock.ts'
import { newId } from '../../crypto/tokens.ts'
import { AppError, notFound } from '../../lib/errors.ts'
import * as audit from '../../audit/audit.service.ts'
import { requireQuota } from '../../workspaces/plans.ts'
import type { WorkspaceContext } from '../../workspaces/workspace-context.ts'
import { channelView } from '../channels.service.ts'
import { NO_QR_COLUMNS, QR_STOPPED_STATES, type ChannelsTable } from '../channels.table.ts'
import * as repo from '../channels.repo.ts'
import { emit } from '../../events/emit.ts'
import type { QrSessions } from './sessions.ts'
import type { SessionUpdate } from './session.ts'
import { mergedSettingsOr422, type QrSettingsInput } from './settings.ts'
import { name } from './name.ts'

async function qrChannelOf(deps: ServiceDeps, ctx: WorkspaceContext, channelId: string): Promise<ChannelsTable> {
  const c = await repo.find(deps.db, ctx.workspace.id, channelId)
  if (!c) throw notFound('channel')
  if (c.provider !== name)
    throw new AppError(
      409,
      'not_a_qr_channel',
      'This is a Cloud API channel; QR linking applies to QR-linked channels only.',
    )
  if (c.status === 'disconnected')
    throw new AppError(
      409,
      'channel_disconnected',
      'This channel was unlinked; create a new QR channel to link a number again.',
    )
  return c
}

/** A QR channel as created: not usable until a phone scans the QR (pending, linking). */
export function newQrChannelRow(c: {
  id: string
  workspaceId: string
  name: string
  settings: string
  at: string
}): ChannelsTable {
  return {
    ...NO_QR_COLUMNS,
    id: c.id,
    workspace_id: c.workspaceId,
    provider: name,
    name: c.name,
    status: 'pending',
    phone_number_id: null,
    waba_id: null,
    display_phone_number: null,
    verified_name: null,
    quality_rating: null,
    messaging_limit: null,
    account_status: null,
    access_token: null,
    access_token_last4: null,
    app_secret: null,
    app_secret_last4: null,
    verify_token: null,
    verify_token_last4: null,
    auth_failures: 0,
    send_rate: 80,
    connection_state: 'linking',
    connection_since: c.at,
    qr_settings: c.settings,
    created_at: c.at,
    updated_at: c.at,
    disconnected_at: null,
  }
}

export async function createQrChannel(
  deps: ServiceDeps,
  qr: QrSessions,
  ctx: WorkspaceContext,
  input: { name: string; qr?: QrSettingsInput },
) {
  const ws = ctx.workspace.id
  const at = iso(ctx.caller.meta.at)
  const settings = mergedSettingsOr422(null, input.qr ?? {})
  const row = newQrChannelRow({ id: newId('ch'), workspaceId: ws, name: input.name, settings, at })
  await deps.db.transaction().execute(async (trx) => {
    requireQuota(deps.config.plans, ctx.workspace.plan, 'channels', await repo.countLive(trx, ws))
    await repo.insert(trx, row)
    await audit.record(trx, ctx.caller, {
      workspaceId: ws,
      action: 'channel.created',
      target: { type: 'channel', id: row.id },
      metadata: { name: row.name, provider: name },
    })
    await emit(
      trx,
      ws,
      'channel.status',
      { channelId: row.id, status: 'pending', reason: 'created; waiting for the QR scan' },
      at,
    )
  })
  await qr.start(ws, row.id, row.qr_settings)
  return { channel: channelView(deps, (await repo.find(deps.db, ws, row.id))!) }
}

const svgOf = (qr: string) => QRCode.toString(qr, { type: 'svg', margin: 2 })

/** The QR to scan now, as SVG; 409 when the channel is not waiting for a scan. */
export async function currentQr(
  deps: ServiceDeps,
  qr: QrSessions,
  ctx: WorkspaceContext,
  channelId: string,
): Promise<string> {
  const c = await qrChannelOf(deps, ctx, channelId)
  const code = qr.get(c.id)?.qr
  if (!code) {
    throw new AppError(
      409,
      'no_qr',
      c.connection_state === 'connected'
        ? 'The number is already linked.'
        : `No QR code right now (the channel is ${c.connection_state ?? 'idle'}); start linking again if needed.`,
    )
  }
  return svgOf(code.value)
}

/** A Server-Sent Events stream of QR rotations and state changes, ending once the number is linked. */
export async function qrStream(
  deps: ServiceDeps,
  qr: QrSessions,
  ctx: WorkspaceContext,
  channelId: string,
): Promise<ReadableStream<Uint8Array>> {
  const c = await qrChannelOf(deps, ctx, channelId)
  const session = qr.get(c.id)
  const encoder = new TextEncoder()
  let off = () => {}
  let heartbeat: TimerHandle | null = null
  const close = () => {
    off()
    deps.clock.clearTimeout(heartbeat)
    heartbeat = null
  }
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (event: string, data: unknown) =>
        controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`))
      const finish = () => {
        close()
        controller.close()
      }
      send('state', { state: session?.state ?? c.connection_state, lastError: c.last_error })
      if (session?.state === 'connected') return finish()
      if (session?.qr) send('qr', { svg: await svgOf(session.qr.value) })
      // Every sseHeartbeat seconds until the stream closes (on the clock, so tests move time instead of waiting).
      const beat = () => {
        heartbeat = deps.clock.setTimeout(() => {
          controller.enqueue(encoder.encode(': heartbeat\n\n'))
          beat()
        }, deps.config.sseHeartbeat * 1000)
      }
      beat()
      off = qr.follow(c.id, (u: SessionUpdate) => {
        void (async () => {
          try {
            if (u.type === 'qr') send('qr', { svg: await svgOf(u.qr) })
            else {
              send('state', { state: u.state, lastError: u.lastError })
              if (u.state === 'connected' || QR_STOPPED_STATES.has(u.state)) finish()
            }
          } catch {
            close()
          }
        })()
      })
    },
    cancel: close,
  })
}

export async function requestPairingCode(
  deps: ServiceDeps,
  qr: QrSessions,
  ctx: WorkspaceContext,
  channelId: string,
  phoneNumber: string,
) {
  const c = await qrChannelOf(deps, ctx, channelId)
  const session = qr.get(c.id)
  if (session?.state !== 'linking')
    throw new AppError(409, 'not_linking', 'The channel is not waiting to be linked; start linking first.')
  let code: string
  try {
    code = await session.requestPairingCode(phoneNumber)
  } catch (err) {
    throw new AppError(502, 'pairing_code_failed', `WhatsApp did not give a pairing code: ${(err as Error).message}`)
  }
  await audit.record(deps.db, ctx.caller, {
    workspaceId: ctx.workspace.id,
    action: 'channel.pairing_code_requested',
    target: { type: 'channel', id: c.id },
  })
  return { code, phoneNumber, expiresInSeconds: 60 }
}

/** Links again (after a logout, an unscanned QR or a replaced connection), or reconnects now. */
export async function relink(deps: ServiceDeps, qr: QrSessions, ctx: WorkspaceContext, channelId: string) {
  const c = await qrChannelOf(deps, ctx, channelId)
  const at = iso(ctx.caller.meta.at)
  await deps.db.transaction().execute(async (trx) => {
    await repo.update(trx, ctx.workspace.id, c.id, {
      connection_state: c.linked_at ? 'connecting' : 'linking',
      connection_since: at,
      last_error: null,
      updated_at: at,
    })
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'channel.relink_started',
      target: { type: 'channel', id: c.id },
      metadata: { from: c.connection_state },
    })
  })
  await qr.start(ctx.workspace.id, c.id, c.qr_settings)
  return channelView(deps, (await repo.find(deps.db, ctx.workspace.id, c.id))!)
}
