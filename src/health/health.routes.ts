import { Elysia } from 'elysia'
import { z } from 'zod'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { VERSION } from '../config.ts'
import { checkReadiness, type ReadinessSources } from './health.service.ts'
import type { WriteHealth } from '../db/write-health.ts'

const checkSchema = z.object({ ok: z.boolean(), detail: z.string().optional() })
const readinessSchema = z.object({
  ready: z.boolean(),
  checks: z.object({ database: checkSchema, migrations: checkSchema, key: checkSchema, writes: checkSchema }),
})

export function healthRoutes(deps: ReadinessSources, auth: AuthPlugin, writeHealth: WriteHealth) {
  return new Elysia({ name: 'health' })
    .use(auth)
    .get('/healthz', () => ({ status: 'ok' as const, version: VERSION }), {
      public: true,
      detail: { summary: 'Liveness: the process answers', tags: ['operations'] },
      response: z.object({ status: z.literal('ok'), version: z.string() }),
    })
    .get(
      '/readyz',
      async ({ set }) => {
        const readiness = await checkReadiness(deps.db, deps.keyring, writeHealth, deps.clock?.now())
        set.status = readiness.ready ? 200 : 503
        set.headers['cache-control'] = 'no-store'
        return readiness
      },
      {
        public: true,
        detail: {
          summary: 'Readiness: database writable, migrations current, master key loaded, no recent write failures',
          tags: ['operations'],
        },
        response: { 200: readinessSchema, 503: readinessSchema },
      },
    )
}
