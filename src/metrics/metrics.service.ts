/**
 * A scrape: set the gauges from the database (indexed queries, each in its table's repo), the QR sessions and the files of
 * the data directory, then render the registry in Prometheus' text format. No HTTP here.
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import type { ServiceDeps } from '../deps.ts'
import { DB_FILE } from '../db/client.ts'
import type { QrSessions } from '../channels/registry.ts'
import * as channelsRepo from '../channels/channels.repo.ts'
import * as deliveriesRepo from '../events/deliveries.repo.ts'
import * as intakeRepo from '../intake/intake.repo.ts'
import * as messagesRepo from '../messaging/messages.repo.ts'
import * as outboxRepo from '../messaging/outbox.repo.ts'
import * as instanceMeta from '../db/instance-meta.repo.ts'

const sizeOf = (path: string): number | null => {
  try {
    return statSync(path).size
  } catch {
    return null
  }
}

export async function scrape(
  deps: ServiceDeps,
  qr: QrSessions | undefined,
): Promise<{ contentType: string; body: string }> {
  const m = deps.metrics
  m.enableProcessMetrics()
  const now = deps.clock.now()

  const backlog = await intakeRepo.intakeBacklog(deps.db)
  m.intakePending.set(backlog.pending)
  m.intakeLag.set(backlog.oldestReceivedAt ? Math.max(0, (now - Date.parse(backlog.oldestReceivedAt)) / 1000) : 0)
  m.intakeDead.set(await intakeRepo.deadLetters(deps.db))
  m.mediaPending.set(await messagesRepo.mediaPending(deps.db))
  m.deliveriesPending.set(await deliveriesRepo.deliveriesPending(deps.db))

  // Label sets that vanish (a channel whose queue emptied) must not linger at their last value.
  m.outboxDepth.reset()
  for (const r of await outboxRepo.outboxDepth(deps.db))
    m.outboxDepth.set({ channel_id: r.channel_id, state: r.state }, r.n)
  m.channels.reset()
  for (const r of await channelsRepo.channelStates(deps.db))
    m.channels.set({ provider: r.provider, status: r.status, connection: r.connection }, r.n)
  m.qrSessions.reset()
  for (const [state, n] of qr?.countByState() ?? []) m.qrSessions.set({ state }, n)
  m.writeFailures.reset()
  for (const f of deps.writeHealth.recent()) m.writeFailures.set({ source: f.source, code: f.code }, 1)

  const lastBackupAt = await instanceMeta.readLastBackupAt(deps.db)
  m.backupAge.set(lastBackupAt ? Math.max(0, (now - Date.parse(lastBackupAt)) / 1000) : Number.POSITIVE_INFINITY)

  m.databaseBytes.reset()
  const dbFile = join(deps.config.dataDir, DB_FILE)
  const dbSize = sizeOf(dbFile)
  if (dbSize !== null) {
    m.databaseBytes.set({ file: 'file' }, dbSize)
    m.databaseBytes.set({ file: 'wal' }, sizeOf(`${dbFile}-wal`) ?? 0)
  }
  return { contentType: m.contentType, body: await m.registry.metrics() }
}
