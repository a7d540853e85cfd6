/** Webhook endpoints and their delivery log (webhooks.manage), and the live event stream (conversations.read). */
import { Elysia } from 'elysia'
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { noContent, textAs } from '../http/responses.ts'
import { listQuery } from '../pagination.ts'
import { page, workspaceParams } from '../workspaces/workspaces.schema.ts'
import {
  createdEndpointView,
  createEndpointBody,
  deliveryListQuery,
  deliveryParams,
  deliveryView,
  endpointParams,
  endpointView,
  replayBody,
  replayFailedResult,
  rotatedSecretView,
  rotateSecretBody,
  updateEndpointBody,
} from './endpoints.schema.ts'
import * as service from './endpoints.service.ts'
import { openStream } from './stream.service.ts'
import { resolveSession, sessionTokenFrom } from '../auth/sessions.ts'

export function eventRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  return new Elysia({ prefix: '/api/v1/workspaces/:workspaceId', tags: ['webhooks'] })
    .use(auth)
    .get('/webhooks', ({ tenant, query }) => service.listEndpoints(deps, tenant, query.cursor, query.limit), {
      permission: 'webhooks.manage',
      params: workspaceParams,
      query: listQuery,
      response: page(endpointView),
      detail: { summary: 'List webhook endpoints (never their secrets)' },
    })
    .post(
      '/webhooks',
      async ({ tenant, body, set }) => {
        set.status = 201
        return service.createEndpoint(deps, tenant, body)
      },
      {
        permission: 'webhooks.manage',
        params: workspaceParams,
        body: createEndpointBody,
        response: { 201: createdEndpointView },
        detail: { summary: 'Add an endpoint; its signing secret (whsec_…) is returned once, in this response only' },
      },
    )
    .get('/webhooks/:endpointId', ({ tenant, params }) => service.getEndpoint(deps, tenant, params.endpointId), {
      permission: 'webhooks.manage',
      params: endpointParams,
      response: endpointView,
      detail: { summary: 'One endpoint' },
    })
    .patch(
      '/webhooks/:endpointId',
      ({ tenant, params, body }) => service.updateEndpoint(deps, tenant, params.endpointId, body),
      {
        permission: 'webhooks.manage',
        params: endpointParams,
        body: updateEndpointBody,
        response: endpointView,
        detail: {
          summary: 'Change the URL, event types, description, or enable/disable (enabling restarts the failure clock)',
        },
      },
    )
    .delete(
      '/webhooks/:endpointId',
      async ({ tenant, params, set }) => {
        await service.deleteEndpoint(deps, tenant, params.endpointId)
        set.status = 204
      },
      {
        permission: 'webhooks.manage',
        params: endpointParams,
        response: { 204: noContent },
        detail: { summary: 'Delete an endpoint and its delivery log' },
      },
    )
    .post(
      '/webhooks/:endpointId/rotate-secret',
      ({ tenant, params, body }) => service.rotateSecret(deps, tenant, params.endpointId, body.overlapHours),
      {
        permission: 'webhooks.manage',
        params: endpointParams,
        body: rotateSecretBody,
        response: rotatedSecretView,
        detail: {
          summary: 'New signing secret, returned once; the old one keeps signing (a second signature) for overlapHours',
        },
      },
    )
    .post(
      '/webhooks/:endpointId/test',
      async ({ tenant, params, set }) => {
        set.status = 202
        return service.sendTestEvent(deps, tenant, params.endpointId)
      },
      {
        permission: 'webhooks.manage',
        params: endpointParams,
        response: { 202: deliveryView },
        detail: { summary: 'Queue a signed webhook.test event to this endpoint (even when disabled)' },
      },
    )
    .get('/webhook-deliveries', ({ tenant, query }) => service.listDeliveries(deps, tenant, query), {
      permission: 'webhooks.manage',
      params: workspaceParams,
      query: deliveryListQuery,
      response: page(deliveryView),
      detail: {
        summary:
          'The delivery log, newest first, with every attempt (time, status code, latency, first 1 KB of the answer)',
      },
    })
    .get(
      '/webhook-deliveries/:deliveryId',
      ({ tenant, params }) => service.getDelivery(deps, tenant, params.deliveryId),
      {
        permission: 'webhooks.manage',
        params: deliveryParams,
        response: deliveryView,
        detail: { summary: 'One delivery with its attempts' },
      },
    )
    .post(
      '/webhook-deliveries/:deliveryId/replay',
      ({ tenant, params }) => service.replayDelivery(deps, tenant, params.deliveryId),
      {
        permission: 'webhooks.manage',
        params: deliveryParams,
        response: deliveryView,
        detail: { summary: 'Send a delivery again now, with a fresh retry budget (same event id)' },
      },
    )
    .post('/webhook-deliveries/replay', ({ tenant, body }) => service.replayFailed(deps, tenant, body), {
      permission: 'webhooks.manage',
      params: workspaceParams,
      body: replayBody,
      response: replayFailedResult,
      detail: { summary: 'Send again every failed delivery of an endpoint created in [from, to)' },
    })
    .get(
      '/events/stream',
      async ({ tenant, request, query }) => {
        const header = request.headers.get('last-event-id') ?? query.lastEventId
        const token = tenant.caller.actor.type === 'user' ? sessionTokenFrom(request.headers.get('cookie')) : undefined
        const stillSignedIn = token
          ? async () => (await resolveSession(deps.db, deps.clock, token)) !== null
          : undefined
        const stream = await openStream(
          deps,
          tenant,
          header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined,
          stillSignedIn,
        )
        return new Response(stream, {
          headers: {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-store',
            'x-accel-buffering': 'no',
          },
        })
      },
      {
        permission: 'conversations.read',
        params: workspaceParams,
        query: z.object({ lastEventId: z.string().regex(/^\d+$/, 'must be an event sequence number').optional() }),
        response: textAs(
          'text/event-stream',
          'First `stream.ready`, then each event as `id: <seq>`, `event: <type>`, `data: <JSON>`; comments as heartbeats',
        ),
        detail: {
          summary: 'Live events (Server-Sent Events); resume with the Last-Event-ID header; heartbeats keep it open',
          tags: ['events'],
        },
      },
    )
}
