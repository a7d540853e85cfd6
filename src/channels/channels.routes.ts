/** Channels of a workspace: list (conversations.read), connect/rename/rotate/disconnect (channels.manage). */
import { Elysia } from 'elysia'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { workspaceParams } from '../workspaces/workspaces.schema.ts'
import { channelParams, channelView, connectCloudBody, rotateCredentialsBody, updateChannelBody } from './channels.schema.ts'
import * as service from './channels.service.ts'

export function channelRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  return new Elysia({ prefix: '/api/v1/workspaces/:workspaceId/channels', tags: ['channels'] })
    .use(auth)
    .get('', ({ tenant }) => service.listChannels(deps, tenant), {
      permission: 'conversations.read',
      params: workspaceParams,
      detail: { summary: 'Connected numbers with status, quality and webhook URL (credentials masked)' },
    })
    .post(
      '',
      async ({ tenant, body, set }) => {
        set.status = 201
        return service.connectCloudChannel(deps, tenant, body)
      },
      {
        permission: 'channels.manage',
        params: workspaceParams,
        body: connectCloudBody,
        detail: { summary: 'Connect a Cloud API number (checked with Meta first); returns the webhook URL and verify token once' },
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
      detail: { summary: 'Rename a channel or set its send rate (messages per second; Meta default 80, up to 1000)' },
    })
    .post('/:channelId/credentials', ({ tenant, params, body }) => service.rotateCredentials(deps, tenant, params.channelId, body), {
      permission: 'channels.manage',
      params: channelParams,
      body: rotateCredentialsBody,
      detail: { summary: 'Replace the access token, app secret or verify token (a new token is checked with Meta; clears needs_reauth)' },
    })
    .delete(
      '/:channelId',
      async ({ tenant, params, set }) => {
        await service.disconnectChannel(deps, tenant, params.channelId)
        set.status = 204
      },
      { permission: 'channels.manage', params: channelParams, detail: { summary: 'Disconnect: stop using the number and wipe its credentials (history stays)' } },
    )
}
