/**
 * Channels of a workspace: list (conversations.read); connect a Cloud number or link a QR device, rename, pace,
 * disconnect/unlink (channels.manage). The routes only one kind has (credentials, QR linking) are its provider's.
 */
import { Elysia } from 'elysia'
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { workspaceParams } from '../workspaces/workspaces.schema.ts'
import { channelParams } from './channels.schema.ts'
import * as service from './channels.service.ts'
import { channelView, connectedView, createChannel, createChannelBody, updateChannelBody } from './registry.ts'
import { noContent } from '../http/responses.ts'
import { providerChannelRoutes } from './registry.routes.ts'

export function channelRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  return (
    new Elysia({ prefix: '/api/v1/workspaces/:workspaceId/channels', tags: ['channels'] })
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
          return createChannel(deps, tenant, body)
        },
        {
          permission: 'channels.manage',
          params: workspaceParams,
          body: createChannelBody,
          response: { 201: connectedView },
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
      .patch('/:channelId', ({ tenant, params, body }) => service.updateChannel(deps, tenant, params.channelId, body), {
        permission: 'channels.manage',
        params: channelParams,
        body: updateChannelBody,
        response: channelView,
        detail: {
          summary:
            "Rename a channel; set a Cloud number's send rate (messages/s; Meta default 80, up to 1000) or a QR number's pacing and options",
        },
      })
      .delete(
        '/:channelId',
        async ({ tenant, params, set }) => {
          await service.disconnectChannel(deps, tenant, params.channelId)
          set.status = 204
        },
        {
          permission: 'channels.manage',
          params: channelParams,
          response: { 204: noContent },
          detail: {
            summary:
              'Disconnect: stop using the number and wipe its credentials (history stays); a QR device is logged out (unlinked)',
          },
        },
      )
      // After the common routes, as before the split: the OpenAPI document lists them in the same order.
      .use(providerChannelRoutes(deps, auth))
  )
}
