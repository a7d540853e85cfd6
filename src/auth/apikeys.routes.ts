/** API keys of a workspace (apikeys.manage). */
import { Elysia } from 'elysia'
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { listQuery } from '../pagination.ts'
import { apiKeyParams, apiKeyView, createApiKeyBody, page, workspaceParams } from '../workspaces/workspaces.schema.ts'
import * as service from './apikeys.service.ts'

export function apiKeyRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  return new Elysia({ prefix: '/api/v1/workspaces/:workspaceId/api-keys', tags: ['api keys'] })
    .use(auth)
    .get('', ({ tenant, query }) => service.listApiKeys(deps, tenant, query.cursor, query.limit), {
      permission: 'apikeys.manage',
      params: workspaceParams,
      query: listQuery,
      response: page(apiKeyView),
      detail: { summary: 'List API keys (never their secrets)' },
    })
    .post(
      '',
      async ({ tenant, body, set }) => {
        set.status = 201
        return service.createApiKey(deps, tenant, body)
      },
      {
        permission: 'apikeys.manage',
        plan: 'apiAccess',
        params: workspaceParams,
        body: createApiKeyBody,
        detail: { summary: 'Create an API key; the token is returned once, in this response only' },
        response: { 201: apiKeyView.extend({ token: z.string().describe('wbx_<prefix>_<secret>: shown once') }) },
      },
    )
    .delete('/:keyId', ({ tenant, params }) => service.revokeApiKey(deps, tenant, params.keyId), {
      permission: 'apikeys.manage',
      params: apiKeyParams,
      response: apiKeyView,
      detail: { summary: 'Revoke an API key (its next request gets 401)' },
    })
}
