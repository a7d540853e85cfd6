/** Sign-in/out, the current user and password changes (the first-start setup is in onboarding/). */
import { Elysia } from 'elysia'
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { noContent } from '../http/responses.ts'
import { changePasswordBody, loginBody, meView, userView } from './auth.schema.ts'
import * as authService from './auth.service.ts'
import { clearedSessionCookie, cookiesSecure, sessionCookie } from './sessions.ts'

export function authRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  const secure = cookiesSecure(deps.config)
  return new Elysia({ prefix: '/api/v1', tags: ['auth'] })
    .use(auth)
    .post(
      '/auth/login',
      async ({ body, caller, set }) => {
        const { user, token } = await authService.login(deps, caller, body.email, body.password)
        set.headers['set-cookie'] = sessionCookie(token, secure)
        return { user }
      },
      {
        public: true,
        body: loginBody,
        detail: { summary: 'Sign in with email and password (sets the session cookie)' },
        response: z.object({ user: userView }),
      },
    )
    .post(
      '/auth/logout',
      async ({ session, set }) => {
        await authService.logout(deps, session.sessionId)
        set.headers['set-cookie'] = clearedSessionCookie(secure)
        set.status = 204
      },
      { authenticated: true, response: { 204: noContent }, detail: { summary: 'Sign out (ends this session)' } },
    )
    .get('/me', ({ session }) => authService.me(deps, session.userId), {
      authenticated: true,
      detail: { summary: 'The signed-in user and their workspaces with roles' },
      response: meView,
    })
    .post(
      '/me/password',
      async ({ body, caller, session, set }) => {
        await authService.changePassword(
          deps,
          caller,
          session.userId,
          session.sessionId,
          body.currentPassword,
          body.newPassword,
        )
        set.status = 204
      },
      {
        authenticated: true,
        body: changePasswordBody,
        response: { 204: noContent },
        detail: { summary: 'Change your password; signs out your other sessions' },
      },
    )
}
