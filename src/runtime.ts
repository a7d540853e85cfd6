/**
 * The long-lived parts behind the HTTP app: service dependencies, the intake writer (group commit), the
 * intake processor, the media downloader, the outbox sender and the webhook dispatcher. `serve` starts and stops them; tests drive them directly.
 */
import type { Config } from './config.ts'
import type { Clock } from './clock.ts'
import type { DbHandle } from './db/client.ts'
import type { Keyring } from './crypto/envelope.ts'
import type { Logger } from './log.ts'
import { buildServiceDeps, type ServiceDeps } from './deps.ts'
import { IntakeWriter } from './intake/writer.ts'
import { IntakeProcessor } from './intake/processor.ts'
import { MediaDownloader } from './messaging/media.service.ts'
import { OutboxSender } from './messaging/sender.ts'
import { WebhookDispatcher } from './events/dispatcher.ts'
import { buildProviders, createQrSessions, type QrSessions, type SocketFactory } from './channels/registry.ts'
import * as channelsRepo from './channels/channels.repo.ts'

export type Runtime = {
  services: ServiceDeps
  writer: IntakeWriter
  processor: IntakeProcessor
  media: MediaDownloader
  sender: OutboxSender
  dispatcher: WebhookDispatcher
  qr: QrSessions
  start: () => Promise<void>
  /** Finishes what was accepted: sends in flight, QR sessions, pending commits, the intake, downloads, webhooks. */
  stop: () => Promise<void>
}

export function createRuntime(opts: {
  db: DbHandle
  config: Config
  logger: Logger
  keyring: Keyring | undefined
  clock?: Clock
  qrSocketFactory?: SocketFactory
}): Runtime {
  const services = buildServiceDeps({
    db: opts.db,
    config: opts.config,
    logger: opts.logger,
    keyring: opts.keyring,
    clock: opts.clock,
    // Built first and handed in whole: nothing in ServiceDeps is replaced after construction.
    providers: buildProviders(opts.config),
  })
  let writer: IntakeWriter | undefined
  // Acknowledging Meta comes first: while webhooks are being committed, processing waits (briefly).
  const processor = new IntakeProcessor(services, () => writer?.busy ?? false)
  const media = new MediaDownloader(services)
  processor.onProcessed(({ event }) => {
    if (event.kind === 'message' && event.media) media.wake()
  })
  writer = new IntakeWriter(services.syncTransaction, () => processor.wake(), {
    health: services.writeHealth,
    metrics: services.metrics,
    logger: services.logger,
  })
  const sender = new OutboxSender(services)
  const dispatcher = new WebhookDispatcher(services)
  // QR-linked devices: their messages come into the same intake; a device coming online wakes the sender.
  const qr = createQrSessions(services, {
    socketFactory: opts.qrSocketFactory,
    writer: writer!,
    onConnected: () => sender.wakeForNewWork(),
  })
  // A deleted workspace's QR-linked devices are logged out (and their sealed sessions erased) before its rows go.
  services.workspaceTeardown.push({
    async beforeDelete(workspaceId) {
      for (const channel of await channelsRepo.list(services.db, workspaceId)) await qr.unlink(workspaceId, channel.id)
    },
  })
  return {
    services,
    writer: writer!,
    processor,
    media,
    sender,
    dispatcher,
    qr,
    async start() {
      await sender.recoverInterrupted()
      processor.start()
      media.start()
      // Sessions first: the sender then finds QR devices `connecting`, not `connected` from before the restart.
      await qr.startAll()
      sender.start()
      dispatcher.start()
    },
    async stop() {
      // Sends in flight finish on live sockets; then the sockets close, and what they delivered is committed and
      // processed; downloads, then webhooks for everything that happened.
      await sender.stop()
      await qr.stopAll()
      await writer.flush()
      await processor.stop()
      await processor.drain()
      await media.stop()
      // Last: the work above may have emitted events worth delivering.
      await dispatcher.stop()
    },
  }
}
