import { z } from 'zod'
import type { Config } from '../config.ts'
import type { ServiceDeps } from '../deps.ts'
import { fetchPublic } from '../lib/url-guard.ts'
import type { IntakeWriter } from '../intake/writer.ts'
import type { WorkspaceContext } from '../workspaces/workspace-context.ts'
import { channelName, channelViewBase, webhookSetup } from './channels.schema.ts'
import { PROVIDER_NAMES } from './provider-names.ts'
import { providerOf } from './provider.ts'
import { cloudProvider } from './cloud/cloud.provider.ts'
import { cloudSettingsFields, connectCloudBody } from './cloud/cloud.schema.ts'
import { createGraphClient } from './cloud/graph.ts'
import { name as cloudName } from './cloud/name.ts'
import { name as qrName } from './qr/name.ts'
import { qrProvider } from './qr/qr.provider.ts'
import { createQrFields, qrSettingsFields } from './qr/qr.schema.ts'
import { QrSessions } from './qr/sessions.ts'
import { baileysSocketFactory, type SocketFactory } from './qr/socket.ts'

export { WEBHOOK_BODY_LIMIT } from './cloud/ingress.service.ts'
/** What the runtime, the workspaces and the metrics need of the QR sessions, without importing the QR folder. */
export { QrSessions, type SocketFactory }

export function buildProviders(config: Config) {
  const graph = createGraphClient({
    baseUrl: config.graphBaseUrl,
    version: config.graphVersion,
    timeoutMs: config.graphTimeout,
  })
  const providers = {
    [cloudName]: cloudProvider(graph),
    [qrName]: qrProvider({
      // Media links for QR sends: the same rules (and operator allowances) as webhook URLs.
      fetchMedia: (url) =>
        fetchPublic(url, {
          allowHttp: config.webhookAllowHttp,
          allowedNetworks: config.webhookAllowedNetworks,
          timeoutMs: 30_000,
          maxBytes: 64 * 1024 * 1024,
        }),
    }),
  } as const
  built.set(providers, providers)
  return providers
}
export type Providers = ReturnType<typeof buildProviders>

/**
 * The providers as built here, with what only their own kind has (the Cloud provider's Graph client, the QR
 * provider's session port). ServiceDeps knows them by the contract alone, so deps.ts need not import this file.
 */
const built = new WeakMap<object, Providers>()
export function builtProviders(deps: Pick<ServiceDeps, 'providers'>): Providers {
  const providers = built.get(deps.providers)
  if (!providers) throw new Error('the providers were not built by channels/registry.ts buildProviders')
  return providers
}

/** Creates this process's QR-linked device sessions (started by the runtime) and binds them to the QR provider. */
export function createQrSessions(
  services: ServiceDeps,
  opts: { socketFactory?: SocketFactory; writer: IntakeWriter; onConnected: () => void },
): QrSessions {
  const sessions = new QrSessions(services, {
    socketFactory: opts.socketFactory ?? baileysSocketFactory,
    writer: opts.writer,
    onConnected: opts.onConnected,
  })
  builtProviders(services)[qrName].live.bind(sessions)
  return sessions
}

// ---- the channels API's bodies and routes that differ by kind ----

export const channelView = channelViewBase.extend({ provider: z.enum(PROVIDER_NAMES) })

/** The answer to connecting a channel: the channel, and for a Cloud number its webhook setup (once). */
export const connectedView = z.object({ channel: channelView, webhook: webhookSetup.optional() })

const createQrBody = z.object({ kind: z.literal(qrName), ...createQrFields }).strict()

/** Connect a Cloud API number (no kind, or kind "cloud"), or start linking a QR device (kind "qr"). */
export const createChannelBody = z.preprocess(
  (b) => (b && typeof b === 'object' && !Array.isArray(b) && !('kind' in b) ? { ...b, kind: cloudName } : b),
  z.discriminatedUnion('kind', [createQrBody, connectCloudBody.extend({ kind: z.literal(cloudName) })]),
)

export const updateChannelBody = z
  .object({ name: channelName().optional(), ...cloudSettingsFields, ...qrSettingsFields })
  .strict()
  .refine((b) => b.name !== undefined || b.sendRate !== undefined || b.qr !== undefined, 'send name, sendRate or qr')

/** Connects a channel of the body's kind, through its provider. */
export const createChannel = (deps: ServiceDeps, ctx: WorkspaceContext, body: z.infer<typeof createChannelBody>) =>
  providerOf(deps, body.kind).connect(deps, ctx, body)
