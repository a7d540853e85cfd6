/**
 * Per-request facts that every layer needs (request id, start time), kept beside the Request object so
 * services never see HTTP: the id rides in the X-Request-ID header and in every log line and problem body.
 */
import { Elysia } from 'elysia'
import { randomUUID } from 'node:crypto'
import type { Logger } from '../log.ts'

type RequestFacts = { id: string; startedAt: number; status?: number }
const facts = new WeakMap<Request, RequestFacts>()

/** The status the error mapper answered with (Elysia's own status is unset for errors raised before routing). */
export function recordStatus(request: Request, status: number): void {
  const f = facts.get(request)
  if (f) f.status = status
}

/** What the request log and the metrics learn of each answered request. */
export type AnsweredRequest = { method: string; route: string; status: number; seconds: number }

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

// A caller-supplied id is echoed only when it is short and plain, so it cannot inject into logs.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/

export function requestIdOf(request: Request): string | undefined {
  return facts.get(request)?.id
}

/**
 * Assigns the request id, times the request and writes one log line per request. `routeOf` names the route
 * pattern of requests refused before routing; `observe` sees every answered request (metrics).
 */
export function requestContextPlugin(
  logger: Logger,
  opts: { routeOf?: (method: string, path: string) => string | undefined; observe?: (r: AnsweredRequest) => void } = {},
) {
  return new Elysia({ name: 'request-context' })
    .onRequest(({ request, set }) => {
      const incoming = request.headers.get('x-request-id')
      const id = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID()
      facts.set(request, { id, startedAt: performance.now() })
      set.headers['x-request-id'] = id
    })
    .onAfterResponse({ as: 'global' }, ({ request, route, set, responseValue }) => {
      const f = facts.get(request)
      const status = f?.status ?? (responseValue instanceof Response ? responseValue.status : Number(set.status ?? 200))
      // A pattern, never the raw path (ids, and one metric series per URL): unrouted requests get the pattern
      // they were headed for, or "(unmatched)".
      const pattern = route || opts.routeOf?.(request.method, new URL(request.url).pathname) || '(unmatched)'
      const ms = f ? performance.now() - f.startedAt : 0
      logger.info(
        {
          requestId: f?.id,
          method: request.method,
          route: pattern,
          status,
          durationMs: f ? Math.round(ms * 100) / 100 : undefined,
        },
        'request',
      )
      opts.observe?.({
        method: METHODS.has(request.method) ? request.method : 'OTHER',
        route: pattern,
        status,
        seconds: ms / 1000,
      })
    })
}
