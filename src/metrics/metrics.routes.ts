/** GET /metrics: Prometheus' text format, for the scraper allowed by the `metrics` access rule (http/auth.plugin.ts). */
import { Elysia } from 'elysia'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import type { QrSessions } from '../channels/registry.ts'
import { scrape } from './metrics.service.ts'
import { textAs } from '../http/responses.ts'

export function metricsRoutes(deps: ServiceDeps, auth: AuthPlugin, qr: QrSessions | undefined) {
  return new Elysia({ name: 'metrics' }).use(auth).get(
    '/metrics',
    async ({ set }) => {
      const { contentType, body } = await scrape(deps, qr)
      set.headers['content-type'] = contentType
      set.headers['cache-control'] = 'no-store'
      return body
    },
    {
      metrics: true,
      response: textAs('text/plain', "Prometheus' text exposition format (version 0.0.4)"),
      detail: {
        summary: 'Prometheus metrics (loopback only unless --metrics-allowed-networks or --metrics-token)',
        tags: ['operations'],
      },
    },
  )
}
