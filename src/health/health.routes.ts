import { Elysia } from 'elysia'
import { z } from 'zod'
import type { AppDeps } from '../app.ts'
import { VERSION } from '../config.ts'
import { checkReadiness } from './health.service.ts'

const checkSchema = z.object({ ok: z.boolean(), detail: z.string().optional() })
const readinessSchema = z.object({
  ready: z.boolean(),
  checks: z.object({ database: checkSchema, migrations: checkSchema, key: checkSchema }),
})

export function healthRoutes(deps: AppDeps) {
  return new Elysia({ name: 'health' })
    .get('/healthz', () => ({ status: 'ok' as const, version: VERSION }), {
      detail: { summary: 'Liveness: the process answers', tags: ['operations'] },
      response: z.object({ status: z.literal('ok'), version: z.string() }),
    })
    .get(
      '/readyz',
      async ({ set }) => {
        const readiness = await checkReadiness(deps.db, deps.keyring)
        set.status = readiness.ready ? 200 : 503
        set.headers['cache-control'] = 'no-store'
        return readiness
      },
      {
        detail: { summary: 'Readiness: database writable, migrations current, master key loaded', tags: ['operations'] },
        response: { 200: readinessSchema, 503: readinessSchema },
      },
    )
}
