/**
 * Channels of a workspace: list (conversations.read); connect a Cloud number or link a QR device, rename, pace,
 * rotate credentials, disconnect/unlink (channels.manage). The QR linking routes are here too.
 */
import { Elysia } from 'elysia'
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { workspaceParams } from '../workspaces/workspaces.schema.ts'
import {
  channelParams,
  channelView,
  createChannelBody,
  pairingCodeBody,
  rotateCredentialsBody,
  updateChannelBody,
} from './channels.schema.ts'
import type { QrSessions } from './qr/sessions.ts'
import * as qrService from './qr/qr-channels.service.ts'
import * as service from './channels.service.ts'

export function channelRoutes(deps: ServiceDeps, auth: AuthPlugin, qr: QrSessions) {
  return new Elysia({ prefix: '/api/v1/workspaces/:workspaceId/channels', tags: ['channels'] })
    .use(auth)
    .get('', ({ tenant }) => service.listChannels(deps, tenant), {
      permission: 'conversations.read',
      params: workspaceParams,
      detail: { summary: 'Connected numbers with status, quality and webhook URL (credentials masked)' },
      response: z.object({ items: z.array(channelView) }),
    })
    .post(
      '',
      async ({ tenant, body, set }) => {
        set.status = 201
        return body.kind === 'qr'
          ? qrService.createQrChannel(deps, qr, tenant, body)
          : service.connectCloudChannel(deps, tenant, body)
      },
      {
        permission: 'channels.manage',
        params: workspaceParams,
        body: createChannelBody,
        detail: {
          summary:
            'Connect a Cloud API number (checked with Meta first; returns the webhook URL and verify token once), or with kind "qr" start linking a device by QR code',
        },
      },
    )
    .get('/:channelId', ({ tenant, params }) => service.getChannel(deps, tenant, params.channelId), {
      permission: 'conversations.read',
      params: channelParams,
      response: channelView,
      detail: { summary: 'One channel' },
    })
    .patch(
      '/:channelId',
      ({ tenant, params, body }) => service.updateChannel(deps, tenant, params.channelId, body, qr),
      {
        permission: 'channels.manage',
        params: channelParams,
        body: updateChannelBody,
        response: channelView,
        detail: {
          summary:
            "Rename a channel; set a Cloud number's send rate (messages/s; Meta default 80, up to 1000) or a QR number's pacing and options",
        },
      },
    )
    .post(
      '/:channelId/credentials',
      ({ tenant, params, body }) => service.rotateCredentials(deps, tenant, params.channelId, body),
      {
        permission: 'channels.manage',
        params: channelParams,
        body: rotateCredentialsBody,
        detail: {
          summary:
            'Replace the access token, app secret or verify token (a new token is checked with Meta; clears needs_reauth)',
        },
      },
    )
    .delete(
      '/:channelId',
      async ({ tenant, params, set }) => {
        await service.disconnectChannel(deps, tenant, params.channelId, qr)
        set.status = 204
      },
      {
        permission: 'channels.manage',
        params: channelParams,
        detail: {
          summary:
            'Disconnect: stop using the number and wipe its credentials (history stays); a QR device is logged out (unlinked)',
        },
      },
    )
    .get(
      '/:channelId/qr',
      async ({ tenant, params }) =>
        new Response(await qrService.currentQr(deps, qr, tenant, params.channelId), {
          headers: { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' },
        }),
      {
        permission: 'channels.manage',
        params: channelParams,
        detail: { summary: 'The QR code to scan now (SVG); it rotates — the stream follows it' },
      },
    )
    .get(
      '/:channelId/qr/stream',
      async ({ tenant, params }) =>
        new Response(await qrService.qrStream(deps, qr, tenant, params.channelId), {
          headers: {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-store',
            'x-accel-buffering': 'no',
          },
        }),
      {
        permission: 'channels.manage',
        params: channelParams,
        detail: { summary: 'Server-Sent Events: each new QR (qr, as SVG) and state changes (state), until linked' },
      },
    )
    .post(
      '/:channelId/pairing-code',
      ({ tenant, params, body }) => qrService.requestPairingCode(deps, qr, tenant, params.channelId, body.phoneNumber),
      {
        permission: 'channels.manage',
        params: channelParams,
        body: pairingCodeBody,
        detail: {
          summary:
            'Link by phone number instead of QR: returns the 8-character code to type in WhatsApp > Linked devices',
        },
      },
    )
    .post('/:channelId/link', ({ tenant, params }) => qrService.relink(deps, qr, tenant, params.channelId), {
      permission: 'channels.manage',
      params: channelParams,
      detail: {
        summary: 'Start linking again (after a logout, an unscanned QR or a replaced connection), or reconnect now',
      },
    })
}
