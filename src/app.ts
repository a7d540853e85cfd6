/**
 * The composition root: builds the Elysia app from its dependencies. It never listens — `cli/serve.ts`
 * does, and tests drive it through `app.handle(new Request(…))`.
 */
import { Elysia, type AnyElysia } from 'elysia'
import type { Config } from './config.ts'
import type { DbHandle } from './db/client.ts'
import type { Keyring } from './crypto/envelope.ts'
import type { Logger } from './log.ts'
import { systemClock, type Clock } from './clock.ts'
import type { ServiceDeps } from './deps.ts'
import { errorsPlugin } from './http/errors.ts'
import { requestContextPlugin } from './http/request-context.ts'
import { securityPlugin } from './http/security.ts'
import { staticRoutes } from './http/static.ts'
import { docsRoutes } from './http/docs.ts'
import { authPlugin, type PeerAddress } from './http/auth.plugin.ts'
import { healthRoutes } from './health/health.routes.ts'
import { authRoutes } from './auth/auth.routes.ts'
import { apiKeyRoutes } from './auth/apikeys.routes.ts'
import { adminRoutes, workspaceRoutes } from './workspaces/workspaces.routes.ts'
import { inviteAcceptRoutes, memberRoutes } from './workspaces/members.routes.ts'
import { auditRoutes } from './audit/audit.routes.ts'

export type AppDeps = {
  config: Config
  db: DbHandle
  keyring: Keyring | undefined
  logger: Logger
  clock?: Clock
  /** Overrides how the socket peer is found (app.handle has no socket). */
  peerAddress?: PeerAddress
  /** Overrides where the UI files are read from (tests); defaults to the embedded/public copy. */
  publicDir?: string
}

export function createApp(deps: AppDeps) {
  const services: ServiceDeps = { db: deps.db.db, clock: deps.clock ?? systemClock, config: deps.config, logger: deps.logger, keyring: deps.keyring }
  const auth = authPlugin(services, deps.peerAddress)
  let app: AnyElysia
  app = new Elysia()
    .use(requestContextPlugin(deps.logger))
    .use(errorsPlugin(deps.logger))
    .use(securityPlugin({ bodyLimit: deps.config.bodyLimit }))
    .use(auth)
    .use(docsRoutes(auth, () => app, deps.publicDir))
    .use(healthRoutes(deps, auth))
    .use(authRoutes(services, auth))
    .use(workspaceRoutes(services, auth))
    .use(memberRoutes(services, auth))
    .use(inviteAcceptRoutes(services, auth))
    .use(apiKeyRoutes(services, auth))
    .use(auditRoutes(services, auth))
    .use(adminRoutes(services, auth))
    // Last: the UI catch-all only sees paths no API route claimed.
    .use(staticRoutes(auth, deps.publicDir))
  return app
}

export type App = ReturnType<typeof createApp>
