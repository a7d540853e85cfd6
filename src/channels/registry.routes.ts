/**
 * The HTTP side of the registry: the routes only one kind of channel has, mounted by the channels API and the app.
 * Beside registry.ts (which stays free of HTTP), the other place that may name the provider folders.
 */
import { Elysia } from 'elysia'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import type { IntakeWriter } from '../intake/writer.ts'
import { cloudChannelRoutes } from './cloud/cloud.routes.ts'
import { name as cloudName } from './cloud/name.ts'
import { webhookRoutes } from './cloud/webhooks.routes.ts'
import { name as qrName } from './qr/name.ts'
import { qrLinkingRoutes } from './qr/qr.routes.ts'
import { builtProviders } from './registry.ts'

/** The routes only one kind of channel has (Cloud: credentials; QR: linking), under …/channels. */
export function providerChannelRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  return new Elysia()
    .use(cloudChannelRoutes(deps, auth, builtProviders(deps)[cloudName].graph))
    .use(qrLinkingRoutes(deps, auth, builtProviders(deps)[qrName].live))
}

/** Where providers receive events over HTTP (the Cloud API's webhooks). */
export const inboundRoutes = (deps: ServiceDeps, auth: AuthPlugin, writer: IntakeWriter) =>
  webhookRoutes(deps, auth, writer)
