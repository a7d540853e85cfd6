/**
 * `wabox serve`: lock the data directory, load the key, migrate, listen, schedule jobs; on SIGINT/SIGTERM
 * stop accepting, let in-flight requests finish, stop jobs, checkpoint the WAL and release everything.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createApp } from '../app.ts'
import { createRuntime } from '../runtime.ts'
import { WEBHOOK_BODY_LIMIT } from '../webhooks/ingress.service.ts'
import { MEDIA_UPLOAD_LIMIT } from '../messaging/upload.routes.ts'
import type { Config } from '../config.ts'
import { VERSION } from '../config.ts'
import { keyringOf } from '../crypto/envelope.ts'
import { loadMasterKey } from '../crypto/keyfile.ts'
import { DB_FILE, openDatabase, runMaintenance } from '../db/client.ts'
import { acquireLock } from '../db/lock.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { createScheduler } from '../jobs/registry.ts'
import { sqliteMaintenanceJob } from '../jobs/sqlite-maintenance.ts'
import { eventRetentionJob } from '../jobs/event-retention.ts'
import { createLogger } from '../log.ts'
import { issueSetupToken } from '../auth/auth.service.ts'
import { buildServiceDeps } from '../deps.ts'


export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel)
  // Everything wabox creates (database, WAL, media, backups) is for its own user only.
  process.umask(0o077)
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  const releaseLock = acquireLock(config.dataDir, 'starting another server')
  let db: ReturnType<typeof openDatabase> | undefined
  try {
    const key = loadMasterKey({ keyFile: config.keyFile, envKey: config.masterKey, create: true })
    if (key.created) logger.warn({ keyFile: config.keyFile, fingerprint: key.fingerprint }, 'created a new master key: back it up separately from the data')
    db = openDatabase(join(config.dataDir, DB_FILE))
    const applied = await migrateToLatest(db.db)
    if (applied.length > 0) logger.info({ applied }, 'migrations applied')

    const keyring = keyringOf(key)
    // First start: no account yet, so print a one-time link to create the operator. It goes to stderr as
    // plain text, not into the structured log: it is a credential for the next hour, shown to whoever
    // started the server, and replaced at every start until used.
    const setupToken = await issueSetupToken(buildServiceDeps({ db, config, logger, keyring }))
    if (setupToken) {
      process.stderr.write(`\nwabox: no account yet. Create the operator account (single use, valid 1 hour):\n  ${config.publicUrl}/setup?token=${setupToken}\n\n`)
    }

    const runtime = createRuntime({ db, config, logger, keyring })
    const app = createApp({ config, db, keyring, logger, runtime })
    // Bun's own cap is a backstop above the app's limits (API and webhooks), which answer in problem+json.
    // development: false — whatever escapes the app's own error mapper must never render Bun's debug page.
    // idleTimeout: a connection quiet for 30 s is closed; live streams send heartbeats more often (--sse-heartbeat ≤ 25).
    app.listen({ port: config.port, hostname: config.host, development: false, idleTimeout: 30, maxRequestBodySize: Math.max(config.bodyLimit, WEBHOOK_BODY_LIMIT, MEDIA_UPLOAD_LIMIT) + 1024 * 1024 })
    const server = app.server!

    const scheduler = createScheduler([sqliteMaintenanceJob(db, config.maintenanceSchedule, logger), eventRetentionJob(runtime.services, '17 3 * * *')], logger)
    scheduler.start()
    await runtime.start()
    // Work stored before a crash or restart is still pending: pick it up now.
    runtime.processor.wake()
    runtime.media.wake()
    runtime.sender.wake()
    logger.info({ url: `http://${config.host}:${server.port}`, publicUrl: config.publicUrl, dataDir: config.dataDir, version: VERSION, keySource: key.source }, 'wabox listening')

    const openDb = db
    let stopping = false
    const shutdown = async (signal: string) => {
      if (stopping) return
      stopping = true
      logger.info({ signal }, 'shutting down: draining in-flight requests')
      // Whatever fails while stopping, the process must still exit (a half-stopped server serves no one).
      let code = 0
      try {
        // stop(false) refuses new connections; idle keep-alive sockets would keep it waiting, so drain by
        // watching in-flight requests instead, then close whatever connections remain.
        void server.stop(false)
        const deadline = performance.now() + config.shutdownTimeout * 1000
        while (server.pendingRequests > 0 && performance.now() < deadline) await Bun.sleep(20)
        if (server.pendingRequests > 0) logger.warn({ pending: server.pendingRequests }, 'shutdown timeout: abandoning in-flight requests')
        await server.stop(true)
        await Promise.race([
          runtime.stop(),
          Bun.sleep(config.shutdownTimeout * 1000).then(() => logger.warn('shutdown timeout: background work abandoned (it resumes at the next start)')),
        ])
        await scheduler.stop()
        runMaintenance(openDb.sqlite)
        await openDb.close()
      } catch (err) {
        code = 1
        logger.error({ err }, 'error while shutting down')
      } finally {
        releaseLock()
        logger.info('stopped')
        process.exit(code)
      }
    }
    process.on('SIGINT', () => void shutdown('SIGINT'))
    process.on('SIGTERM', () => void shutdown('SIGTERM'))
  } catch (err) {
    await db?.close().catch(() => {})
    releaseLock()
    throw err
  }
}
