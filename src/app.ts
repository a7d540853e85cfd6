/**
 * The composition root: builds the Elysia app from its dependencies. It never listens — `cli/serve.ts`
 * does, and tests drive it through `app.handle(new Request(…))`.
 */
import { Elysia, type AnyElysia } from 'elysia'
import type { Config } from './config.ts'
import type { DbHandle } from './db/client.ts'
import type { Keyring } from './crypto/envelope.ts'
import type { Logger } from './log.ts'
import type { Clock } from './clock.ts'
import { createRuntime, type Runtime } from './runtime.ts'
import { errorsPlugin } from './http/errors.ts'
import { requestContextPlugin } from './http/request-context.ts'
import { routeMatcher } from './http/route-pattern.ts'
import { securityPlugin } from './http/security.ts'
import { staticRoutes } from './http/static.ts'
import { docsRoutes } from './http/docs.ts'
import { authPlugin, type PeerAddress } from './http/auth.plugin.ts'
import { healthRoutes } from './health/health.routes.ts'
import { onboardingRoutes } from './onboarding/onboarding.routes.ts'
import { authRoutes } from './auth/auth.routes.ts'
import { apiKeyRoutes } from './auth/apikeys.routes.ts'
import { adminRoutes, workspaceRoutes } from './workspaces/workspaces.routes.ts'
import { inviteAcceptRoutes, memberRoutes } from './workspaces/members.routes.ts'
import { auditRoutes } from './audit/audit.routes.ts'
import { channelRoutes } from './channels/channels.routes.ts'
import { messagingRoutes } from './messaging/messaging.routes.ts'
import { deadLetterRoutes } from './intake/dead-letters.routes.ts'
import { sendRoutes } from './messaging/send.routes.ts'
import { mediaRoutes, MEDIA_UPLOAD_LIMIT } from './messaging/upload.routes.ts'
import { WEBHOOK_BODY_LIMIT } from './channels/registry.ts'
import { inboundRoutes } from './channels/registry.routes.ts'
import { eventRoutes } from './events/events.routes.ts'
import { metricsRoutes } from './metrics/metrics.routes.ts'

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
  /** The background parts; created here when not given (serve and tests pass theirs to start/drain them). */
  runtime?: Runtime
}

export function createApp(deps: AppDeps) {
  const runtime = deps.runtime ?? createRuntime(deps)
  const services = runtime.services
  const auth = authPlugin(services, deps.peerAddress)
  // The docs route reads the finished app; `self` is that reference, so `app` keeps its full type (the UI's
  // typed client is generated from it: `App` below).
  let self: AnyElysia | undefined
  const app = new Elysia()
    .use(
      requestContextPlugin(deps.logger, {
        routeOf: routeMatcher(() => self?.routes ?? []),
        observe: (r) => {
          const labels = { method: r.method, route: r.route, status: String(r.status) }
          services.metrics.httpRequests.inc(labels)
          services.metrics.httpDuration.observe(labels, r.seconds)
        },
      }),
    )
    .use(errorsPlugin(deps.logger))
    .use(
      securityPlugin({
        bodyLimit: deps.config.bodyLimit,
        hsts: deps.config.tlsCert !== undefined,
        overrides: [
          { match: /^\/webhooks\//, limit: WEBHOOK_BODY_LIMIT, parse: 'raw' },
          { match: /^\/api\/v1\/workspaces\/[^/]+\/media$/, limit: MEDIA_UPLOAD_LIMIT, parse: 'multipart' },
        ],
      }),
    )
    .use(auth)
    .use(docsRoutes(auth, () => self!, deps.publicDir))
    .use(healthRoutes(deps, auth, services.writeHealth))
    .use(onboardingRoutes(services, auth))
    .use(authRoutes(services, auth))
    .use(workspaceRoutes(services, auth))
    .use(memberRoutes(services, auth))
    .use(inviteAcceptRoutes(services, auth))
    .use(apiKeyRoutes(services, auth))
    .use(auditRoutes(services, auth))
    .use(adminRoutes(services, auth))
    .use(channelRoutes(services, auth))
    .use(messagingRoutes(services, auth))
    .use(deadLetterRoutes(services, auth, runtime.processor))
    .use(inboundRoutes(services, auth, runtime.writer))
    .use(sendRoutes(services, auth, runtime.sender))
    .use(mediaRoutes(services, auth))
    .use(eventRoutes(services, auth))
    .use(metricsRoutes(services, auth, runtime.qr))
    // Last: the UI catch-all only sees paths no API route claimed.
    .use(staticRoutes(auth, deps.publicDir))
  self = app
  return app
}

export type App = ReturnType<typeof createApp>
