/**
 * Per-request facts that every layer needs (request id, start time), kept beside the Request object so
 * services never see HTTP: the id rides in the X-Request-ID header and in every log line and problem body.
 */
import { Elysia } from 'elysia'
import { randomUUID } from 'node:crypto'
import type { Logger } from '../log.ts'

type RequestFacts = { id: string; startedAt: number }
const facts = new WeakMap<Request, RequestFacts>()

// A caller-supplied id is echoed only when it is short and plain, so it cannot inject into logs.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/

export function requestIdOf(request: Request): string | undefined {
  return facts.get(request)?.id
}

/** Assigns the request id, times the request and writes one log line per request. */
export function requestContextPlugin(logger: Logger) {
  return new Elysia({ name: 'request-context' })
    .onRequest(({ request, set }) => {
      const incoming = request.headers.get('x-request-id')
      const id = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID()
      facts.set(request, { id, startedAt: performance.now() })
      set.headers['x-request-id'] = id
    })
    .onAfterResponse({ as: 'global' }, ({ request, route, set, responseValue }) => {
      const f = facts.get(request)
      const status = responseValue instanceof Response ? responseValue.status : Number(set.status ?? 200)
      logger.info(
        {
          requestId: f?.id,
          method: request.method,
          route: route || new URL(request.url).pathname,
          status,
          durationMs: f ? Math.round((performance.now() - f.startedAt) * 100) / 100 : undefined,
        },
        'request',
      )
    })
}
