/**
 * What services need from the outside world: the database, the clock, the configuration, the key, and the
 * channel providers (built first, by the registry: nothing here is replaced after construction).
 */
import type { Config } from './config.ts'
import { systemClock, type Clock } from './clock.ts'
import { syncTransactions, type Db, type DbHandle, type SyncTransaction } from './db/client.ts'
import type { Keyring } from './crypto/envelope.ts'
import type { Logger } from './log.ts'
import { ChannelCache } from './channels/ingress-cache.ts'
import type { ChannelProvider } from './channels/provider.ts'
import type { ProviderName } from './channels/provider-names.ts'
import { WriteGroup } from './db/write-group.ts'
import { WriteHealth } from './db/write-health.ts'
import { Metrics } from './metrics/metrics.ts'
import type { WorkspaceTeardown } from './workspaces/workspace-teardown.ts'
import { type EventsSignal, eventsSignalFor } from './events/emit.ts'
import { statfsSync } from 'node:fs'
import { dirname } from 'node:path'

/** Every kind of channel by name, as the contract knows them. */
export type Providers = Readonly<Record<ProviderName, ChannelProvider<any, any, any, ServiceDeps>>>

export type ServiceDeps = {
  db: Db
  clock: Clock
  config: Config
  logger: Logger
  keyring: Keyring | undefined
  channelCache: ChannelCache
  /** Synchronous transactions on the same connection, for the intake processor's hot path. */
  syncTransaction: SyncTransaction
  /** Every kind of channel, by name (channels/registry.ts); the QR one sends through sessions the runtime binds. */
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
  /** Built first, by the composition (channels/registry.ts buildProviders): this file names no provider. */
  providers: Providers
}): ServiceDeps {
  const { providers } = opts
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
    channelCache: new ChannelCache(),
    providers,
    writes: new WriteGroup(opts.db.db, writeHealth),
    writeHealth,
    metrics: new Metrics(),
    workspaceTeardown: [],
    events: events.signal,
  }
}
