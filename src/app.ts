/**
 * The composition root: builds the Elysia app from its dependencies. It never listens — `cli/serve.ts`
 * does, and tests drive it through `app.handle(new Request(…))`.
 */
import { Elysia } from 'elysia'
import type { Config } from './config.ts'
import type { DbHandle } from './db/client.ts'
import type { Keyring } from './crypto/envelope.ts'
import type { Logger } from './log.ts'
import { errorsPlugin } from './http/errors.ts'
import { requestContextPlugin } from './http/request-context.ts'
import { securityPlugin } from './http/security.ts'
import { staticPlugin } from './http/static.ts'
import { docsPlugin } from './http/docs.ts'
import { healthRoutes } from './health/health.routes.ts'

export type AppDeps = {
  config: Config
  db: DbHandle
  keyring: Keyring | undefined
  logger: Logger
  /** Overrides where the UI files are read from (tests); defaults to the embedded/public copy. */
  publicDir?: string
}

export function createApp(deps: AppDeps) {
  return (
    new Elysia()
      .use(requestContextPlugin(deps.logger))
      .use(errorsPlugin(deps.logger))
      .use(securityPlugin({ bodyLimit: deps.config.bodyLimit }))
      .use(docsPlugin(deps.publicDir))
      .use(healthRoutes(deps))
      // Last: the UI catch-all only sees paths no API route claimed.
      .use(staticPlugin(deps.publicDir))
  )
}

export type App = ReturnType<typeof createApp>
