/** What services need from the outside world: the database, the clock, the configuration, the key, Meta. */
import type { Config } from './config.ts'
import { systemClock, type Clock } from './clock.ts'
import { syncTransactions, type Db, type DbHandle, type SyncTransaction } from './db/client.ts'
import type { Keyring } from './crypto/envelope.ts'
import type { Logger } from './log.ts'
import { createGraphClient, type GraphClient } from './channels/cloud/graph.ts'
import { ChannelCache } from './channels/ingress-cache.ts'
import { cloudProvider } from './channels/cloud/cloud.provider.ts'
import { providerNotRunning, type Providers } from './channels/provider.ts'
import { WriteGroup } from './db/write-group.ts'
import { WriteHealth } from './db/write-health.ts'
import { Metrics } from './metrics/metrics.ts'
import type { WorkspaceTeardown } from './workspaces/workspace-teardown.ts'
import { type EventsSignal, eventsSignalFor } from './events/emit.ts'
import { statfsSync } from 'node:fs'
import { dirname } from 'node:path'

export type ServiceDeps = {
  db: Db
  clock: Clock
  config: Config
  logger: Logger
  keyring: Keyring | undefined
  /** The Meta Graph API (config.graphBaseUrl: Meta in production, the loopback double in tests). */
  graph: GraphClient
  channelCache: ChannelCache
  /** Synchronous transactions on the same connection, for the intake processor's hot path. */
  syncTransaction: SyncTransaction
  /** How each kind of channel sends; the QR one is replaced by the runtime's live sessions. */
  providers: Providers
  /** Group commit for hot request writes (queuing messages): many requests, one fsync. */
  writes: WriteGroup
  /** Recent storage failures of the write paths (readiness reads it). */
  writeHealth: WriteHealth
  /** Counters and gauges for /metrics. */
  metrics: Metrics
  /** What must stop before a workspace is deleted; the runtime registers its live parts here. */
  workspaceTeardown: WorkspaceTeardown[]
  /** This database's "events were written" signal (events/emit.ts): wakes the webhook fan-out and live streams. */
  events: EventsSignal
}

export function buildServiceDeps(opts: {
  db: DbHandle
  config: Config
  logger: Logger
  keyring: Keyring | undefined
  clock?: Clock
}): ServiceDeps {
  const graph = createGraphClient({
    baseUrl: opts.config.graphBaseUrl,
    version: opts.config.graphVersion,
    timeoutMs: opts.config.graphTimeout,
  })
  const clock = opts.clock ?? systemClock
  // The data disk's free space, as an unprivileged writer sees it (statfs; the database's directory).
  const dbDir = opts.db.path === ':memory:' ? null : dirname(opts.db.path)
  const writeHealth = new WriteHealth(
    () => clock.now(),
    dbDir
      ? () => {
          const fs = statfsSync(dbDir)
          return fs.bavail * fs.bsize
        }
      : undefined,
  )
  const events = eventsSignalFor(opts.db.db, syncTransactions(opts.db))
  return {
    db: opts.db.db,
    syncTransaction: events.syncTransaction,
    config: opts.config,
    logger: opts.logger,
    keyring: opts.keyring,
    clock,
    graph,
    channelCache: new ChannelCache(),
    providers: { cloud: cloudProvider(graph), qr: providerNotRunning('The QR-linked device session') },
    writes: new WriteGroup(opts.db.db, writeHealth),
    writeHealth,
    metrics: new Metrics(),
    workspaceTeardown: [],
    events: events.signal,
  }
}
