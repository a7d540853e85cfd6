/** The one-time operator setup: whether it is open, and completing it (which also signs the operator in). */
import { Elysia } from 'elysia'
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { setupBody } from '../auth/auth.schema.ts'
import { cookiesSecure, createSession, sessionCookie } from '../auth/sessions.ts'
import * as onboarding from './onboarding.service.ts'
import { setupView } from './onboarding.schema.ts'

export function onboardingRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  const secure = cookiesSecure(deps.config)
  return new Elysia({ prefix: '/api/v1', tags: ['auth'] })
    .use(auth)
    .get('/setup', async () => ({ required: await onboarding.setupRequired(deps) }), {
      public: true,
      detail: { summary: 'Whether the one-time operator setup is still open' },
      response: z.object({ required: z.boolean() }),
    })
    .post(
      '/setup',
      async ({ body, caller, set }) => {
        const result = await onboarding.completeSetup(deps, caller, body)
        const { token } = await createSession(deps.db, deps.clock, result.user.id, caller.meta)
        set.headers['set-cookie'] = sessionCookie(token, secure)
        set.status = 201
        return result
      },
      {
        public: true,
        body: setupBody,
        response: { 201: setupView },
        detail: { summary: 'Create the instance operator and the first workspace (setup link token; single use)' },
      },
    )
}
