/** The Cloud API's own channel route, mounted under …/channels by channels.routes.ts: replacing credentials. */
import { Elysia } from 'elysia'
import type { ServiceDeps } from '../../deps.ts'
import type { AuthPlugin } from '../../http/auth.plugin.ts'
import { z } from 'zod'
import { channelParams, channelViewBase, webhookSetup } from '../channels.schema.ts'
import { rotateCredentialsBody } from './cloud.schema.ts'
import { rotateCredentials } from './connect.service.ts'
import type { GraphClient } from './graph.ts'

export function cloudChannelRoutes(deps: ServiceDeps, auth: AuthPlugin, graph: GraphClient) {
  return new Elysia({ tags: ['channels'] })
    .use(auth)
    .post(
      '/:channelId/credentials',
      ({ tenant, params, body }) => rotateCredentials(deps, graph, tenant, params.channelId, body),
      {
        permission: 'channels.manage',
        params: channelParams,
        body: rotateCredentialsBody,
        response: z.object({ channel: channelViewBase, webhook: webhookSetup.optional() }),
        detail: {
          summary:
            'Replace the access token, app secret or verify token (a new token is checked with Meta; clears needs_reauth)',
        },
      },
    )
}
