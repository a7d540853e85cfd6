/** The QR linking routes (mounted under …/channels by channels.routes.ts): the QR to scan (SVG, and as a stream of rotations), the pairing-code alternative, relinking. */
import { Elysia } from 'elysia'
import type { ServiceDeps } from '../../deps.ts'
import type { AuthPlugin } from '../../http/auth.plugin.ts'
import { z } from 'zod'
import { channelParams, channelViewBase } from '../channels.schema.ts'
import { textAs } from '../../http/responses.ts'
import type { LiveSessions } from './live-sessions.ts'
import * as qrService from './qr-channels.service.ts'
import { pairingCodeBody } from './qr.schema.ts'

export function qrLinkingRoutes(deps: ServiceDeps, auth: AuthPlugin, live: LiveSessions) {
  const sessions = () => live.running()
  return new Elysia({ tags: ['channels'] })
    .use(auth)
    .get(
      '/:channelId/qr',
      async ({ tenant, params }) =>
        new Response(await qrService.currentQr(deps, sessions(), tenant, params.channelId), {
          headers: { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' },
        }),
      {
        permission: 'channels.manage',
        params: channelParams,
        response: textAs('image/svg+xml', 'The QR code, an SVG image'),
        detail: { summary: 'The QR code to scan now (SVG); it rotates — the stream follows it' },
      },
    )
    .get(
      '/:channelId/qr/stream',
      async ({ tenant, params }) =>
        new Response(await qrService.qrStream(deps, sessions(), tenant, params.channelId), {
          headers: {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-store',
            'x-accel-buffering': 'no',
          },
        }),
      {
        permission: 'channels.manage',
        params: channelParams,
        response: textAs('text/event-stream', 'Events `qr` (data: the SVG) and `state` (data: JSON), until linked'),
        detail: { summary: 'Server-Sent Events: each new QR (qr, as SVG) and state changes (state), until linked' },
      },
    )
    .post(
      '/:channelId/pairing-code',
      ({ tenant, params, body }) =>
        qrService.requestPairingCode(deps, sessions(), tenant, params.channelId, body.phoneNumber),
      {
        permission: 'channels.manage',
        params: channelParams,
        body: pairingCodeBody,
        response: z.object({
          code: z
            .string()
            .describe('The 8-character code to type in WhatsApp > Linked devices > Link with phone number'),
          phoneNumber: z.string(),
          expiresInSeconds: z.number().int(),
        }),
        detail: {
          summary:
            'Link by phone number instead of QR: returns the 8-character code to type in WhatsApp > Linked devices',
        },
      },
    )
    .post('/:channelId/link', ({ tenant, params }) => qrService.relink(deps, sessions(), tenant, params.channelId), {
      permission: 'channels.manage',
      params: channelParams,
      response: channelViewBase,
      detail: {
        summary: 'Start linking again (after a logout, an unscanned QR or a replaced connection), or reconnect now',
      },
    })
}
