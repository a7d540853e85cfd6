/**
 * `wabox serve`: lock the data directory, bind the port, migrate, load the database's key, serve, schedule jobs; on SIGINT/SIGTERM
 * stop accepting, let in-flight requests finish, stop jobs, checkpoint the WAL and release everything.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { join, resolve } from 'node:path'
import { createApp } from '../app.ts'
import { createRuntime } from '../runtime.ts'
import { WEBHOOK_BODY_LIMIT } from '../channels/registry.ts'
import { MEDIA_UPLOAD_LIMIT } from '../messaging/upload.routes.ts'
import type { Config } from '../config.ts'
import { VERSION } from '../config.ts'
import { keyringOf } from '../crypto/envelope.ts'
import { keyForDatabase, readMasterKey } from '../crypto/key-binding.ts'
import { problemBody, problemResponse } from '../http/errors.ts'
import { HSTS_HEADER } from '../http/security.ts'
import type { Server } from 'bun'
import { DB_FILE, openDatabase, quickCheck, runMaintenance, type DbHandle } from '../db/client.ts'
import { storageFailureOf } from '../db/write-health.ts'
import { acquireLock } from '../db/lock.ts'
import { removeRestoreLeftovers } from '../db/backup.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { createScheduler } from '../jobs/registry.ts'
import { sqliteMaintenanceJob } from '../jobs/sqlite-maintenance.ts'
import { eventRetentionJob } from '../jobs/event-retention.ts'
import { type Logger, serverLogger } from '../log.ts'
import { issueSetupToken } from '../onboarding/onboarding.service.ts'
import { buildServiceDeps } from '../deps.ts'
import { buildProviders } from '../channels/registry.ts'

/** A start failure with one clear line for the operator (main prints the message, exits 1). */
export class StartError extends Error {
  override name = 'StartError'
}

/** The certificate and key wabox serves https with (--tls-cert / --tls-key), read and checked. */
export type TlsFiles = { cert: string; key: string; fingerprint: string; validTo: string }

/**
 * Reads and checks the PEM files: readable, a certificate (the first of a chain) and a private key that parse,
 * and that belong together. Each failure is one line naming the file and its flag (a StartError).
 */
export function loadTls(certFile: string, keyFile: string): TlsFiles {
  const read = (file: string, flag: string, what: string): string => {
    try {
      return readFileSync(file, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
      const why =
        code === 'ENOENT'
          ? 'no such file'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied for the user running wabox'
            : code === 'EISDIR'
              ? 'it is a directory'
              : code
      throw new StartError(`cannot read the TLS ${what} ${file} (${flag}): ${why}`)
    }
  }
  const cert = read(certFile, '--tls-cert', 'certificate')
  const key = read(keyFile, '--tls-key', 'private key')
  let x509: X509Certificate
  try {
    if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate block')
    x509 = new X509Certificate(cert)
  } catch {
    throw new StartError(
      `the TLS certificate ${certFile} (--tls-cert) is not a valid PEM certificate (expected -----BEGIN CERTIFICATE-----)`,
    )
  }
  let privateKey
  try {
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw new Error('no PEM private key block')
    privateKey = createPrivateKey(key)
  } catch {
    throw new StartError(
      `the TLS private key ${keyFile} (--tls-key) is not a valid unencrypted PEM private key (expected -----BEGIN PRIVATE KEY-----)`,
    )
  }
  if (!x509.checkPrivateKey(privateKey))
    throw new StartError(
      `the TLS private key ${keyFile} (--tls-key) does not belong to the certificate ${certFile} (--tls-cert)`,
    )
  return { cert, key, fingerprint: x509.fingerprint256, validTo: x509.validTo }
}

/** Everything Bun.serve is given besides fetch, the same at the first bind and at every TLS reload. */
function serveOptions(config: Config, port: number, tls: TlsFiles | undefined) {
  return {
    port,
    hostname: config.host,
    reusePort: false,
    // development: false — whatever escapes the app's own error mapper must never render Bun's debug page.
    development: false,
    // A connection quiet for 30 s is closed; live streams send heartbeats more often (--sse-heartbeat ≤ 25).
    idleTimeout: 30,
    // Bun's own cap is a backstop above the app's limits (API and webhooks), which answer in problem+json.
    maxRequestBodySize: Math.max(config.bodyLimit, WEBHOOK_BODY_LIMIT, MEDIA_UPLOAD_LIMIT) + 1024 * 1024,
    ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
  }
}

/**
 * Binds the port before anything is created (key, database), exclusively: Elysia's listen asks for SO_REUSEPORT,
 * with which a second server on a held port starts and the kernel splits connections between the two. Until
 * the app is ready, the socket answers 503.
 */
function bindPort(config: Config, tls: TlsFiles | undefined): Server<undefined> {
  try {
    return Bun.serve({
      ...serveOptions(config, config.port, tls),
      fetch: () =>
        problemResponse(problemBody(503, 'starting', 'wabox is starting; retry in a moment.', undefined), {
          'retry-after': '1',
          ...(tls ? HSTS_HEADER : {}),
        }),
    })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const where = `${config.host}:${config.port}`
    if (code === 'EADDRINUSE')
      throw new StartError(
        `port ${config.port} on ${config.host} is already in use (another wabox or another program listens there): stop it or choose another --port`,
      )
    if (code === 'EACCES')
      throw new StartError(
        `not allowed to listen on ${where} (ports below 1024 need privileges): choose another --port`,
      )
    if (code === 'EADDRNOTAVAIL')
      throw new StartError(`cannot listen on ${where}: this machine has no address ${config.host} (--host)`)
    throw new StartError(`cannot listen on ${where}: ${(err as Error).message}`)
  }
}

/**
 * Makes sure the data directory exists and takes writes, with one clear line for each way it cannot: a file in
 * the way, no permission, a read-only mount, a full disk.
 */
function prepareDataDir(dir: string): void {
  const explain = (err: unknown, doing: string): StartError => {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    const uid = typeof process.getuid === 'function' ? ` (uid ${process.getuid()})` : ''
    if (code === 'ENOTDIR' || code === 'EEXIST')
      return new StartError(
        `the data directory ${dir} is not a directory (a file is in the way): point --data-dir at a directory`,
      )
    if (code === 'EACCES' || code === 'EPERM')
      return new StartError(
        `cannot ${doing} the data directory ${dir}: permission denied for the user running wabox${uid}; give it write access or choose another --data-dir`,
      )
    if (code === 'EROFS')
      return new StartError(
        `cannot ${doing} the data directory ${dir}: it is on a read-only file system; mount it read-write or choose another --data-dir`,
      )
    if (code === 'ENOSPC' || code === 'EDQUOT')
      return new StartError(
        `cannot ${doing} the data directory ${dir}: no space left on its device; free some space and start again`,
      )
    return new StartError(`cannot ${doing} the data directory ${dir}: ${code || (err as Error).message}`)
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw explain(err, 'create')
  }
  if (!statSync(dir).isDirectory())
    throw explain(Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }), 'use')
  // A write that must succeed for anything else to: the lock, the key and the database all live here.
  const probe = join(dir, `.write-test-${process.pid}`)
  try {
    writeFileSync(probe, 'ok', { mode: 0o600 })
  } catch (err) {
    throw explain(err, 'write to')
  } finally {
    try {
      rmSync(probe, { force: true })
    } catch {
      // nothing was written (read-only): nothing to remove
    }
  }
}

/** The database, or one clear line: damaged (quick_check), unreadable, unwritable, out of space. */
async function openServedDatabase(config: Config, logger: Logger): Promise<DbHandle> {
  const path = join(config.dataDir, DB_FILE)
  const restore = `wabox --restore FILE${config.dataDir === resolve('./wabox_data') ? '' : ` --data-dir ${config.dataDir}`}`
  const damaged = (what: string) =>
    new StartError(
      `the database ${path} is damaged (${what}); wabox does not serve it. Stop here and restore the latest backup: ${restore} (or move the file aside to start empty). Nothing was changed.`,
    )
  let db: DbHandle | undefined
  try {
    db = openDatabase(path)
    const problems = quickCheck(db.sqlite)
    if (problems.length > 0)
      throw damaged(`quick_check: ${problems[0]!.slice(0, 200)}${problems.length > 1 ? ' …' : ''}`)
    const applied = await migrateToLatest(db.db)
    if (applied.length > 0) logger.info({ applied }, 'migrations applied')
    return db
  } catch (err) {
    await db?.close().catch(() => {})
    if (err instanceof StartError) throw err
    const storage = storageFailureOf(err)
    if (storage?.detail === 'database file is damaged') throw damaged((err as Error).message)
    if (storage) throw new StartError(`cannot open the database ${path}: ${storage.detail} (${storage.code})`)
    throw err
  }
}

export async function serve(config: Config): Promise<void> {
  // Dependencies' console writes go through it too (libsignal prints session keys to the console).
  const logger = serverLogger(config.logLevel)
  // The TLS files first: a missing or broken certificate fails before anything is locked, bound or created.
  let tls =
    config.tlsCert !== undefined && config.tlsKey !== undefined ? loadTls(config.tlsCert, config.tlsKey) : undefined
  const scheme = tls ? 'https' : 'http'
  // Everything wabox creates (database, WAL, media, backups) is for its own user only.
  process.umask(0o077)
  prepareDataDir(config.dataDir)
  const releaseLock = acquireLock(config.dataDir, 'starting another server')
  let db: ReturnType<typeof openDatabase> | undefined
  let server: Server<undefined> | undefined
  try {
    // With the data directory's lock held no restore runs here: a staging directory is what a killed one left.
    for (const path of removeRestoreLeftovers(config.dataDir))
      logger.warn({ path }, 'removed the staging directory of an interrupted restore')
    server = bindPort(config, tls)
    const listening = server
    // --port 0: links and cookies name the port the kernel chose, not the default's 8080.
    if (config.publicUrlDerived) config = { ...config, publicUrl: `${scheme}://localhost:${server.port}` }
    // A key given (WABOX_MASTER_KEY, an existing key file) is checked before the database is touched.
    const givenKey = readMasterKey({ keyFile: config.keyFile, envKey: config.masterKey })
    db = await openServedDatabase(config, logger)
    // The database's own key, or none: a wrong key is refused here, and no key is created beside sealed values.
    const key = await keyForDatabase(db.db, givenKey, { keyFile: config.keyFile, at: Date.now() })
    if (key.created)
      logger.warn(
        { keyFile: config.keyFile, fingerprint: key.fingerprint },
        'created a new master key: back it up separately from the data',
      )

    const keyring = keyringOf(key)
    // First start: no account yet, so print a one-time link to create the operator. It goes to stderr as
    // plain text, not into the structured log: it is a credential for the next hour, shown to whoever
    // started the server, and replaced at every start until used.
    const setupToken = await issueSetupToken(
      buildServiceDeps({ db, config, logger, keyring, providers: buildProviders(config) }),
    )
    if (setupToken) {
      process.stderr.write(
        `\nwabox: no account yet. Create the operator account (single use, valid 1 hour):\n  ${config.publicUrl}/setup?token=${setupToken}\n\n`,
      )
    }

    const runtime = createRuntime({ db, config, logger, keyring })
    // Each request remembers the server that accepted it: after a TLS reload (below) connections accepted
    // before it are still served by the previous listener, and only that one knows their peer address.
    const acceptedBy = new WeakMap<Request, Server<undefined>>()
    const app = createApp({
      config,
      db,
      keyring,
      logger,
      runtime,
      peerAddress: (request) => (acceptedBy.get(request) ?? listening).requestIP(request)?.address,
    })
    const handle = (request: Request, by: Server<undefined>) => {
      acceptedBy.set(request, by)
      return app.handle(request)
    }
    // The bound socket starts serving the app (no gap: the port was never released).
    server.reload({ fetch: handle })

    const scheduler = createScheduler(
      [sqliteMaintenanceJob(db, config.maintenanceSchedule, logger), eventRetentionJob(runtime.services, '17 3 * * *')],
      logger,
    )
    scheduler.start()
    await runtime.start()
    // Work stored before a crash or restart is still pending: pick it up now.
    runtime.processor.wake()
    runtime.media.wake()
    runtime.sender.wake()

    const openDb = db
    // The listener accepting new connections, and those retired by TLS reloads that still serve theirs.
    let current = listening
    const retired = new Set<Server<undefined>>()
    const servers = () => [current, ...retired]
    const pendingRequests = () => servers().reduce((n, s) => n + s.pendingRequests, 0)
    let stopping = false
    const shutdown = async (signal: string, failed = false) => {
      if (stopping) return
      stopping = true
      logger.info({ signal }, 'shutting down: draining in-flight requests')
      // Whatever fails while stopping, the process must still exit (a half-stopped server serves no one).
      let code = failed ? 1 : 0
      try {
        // stop(false) refuses new connections; idle keep-alive sockets would keep it waiting, so drain by
        // watching in-flight requests instead, then close whatever connections remain.
        for (const s of servers()) void s.stop(false)
        const deadline = performance.now() + config.shutdownTimeout * 1000
        while (pendingRequests() > 0 && performance.now() < deadline) await Bun.sleep(20)
        if (pendingRequests() > 0)
          logger.warn({ pending: pendingRequests() }, 'shutdown timeout: abandoning in-flight requests')
        await Promise.all(servers().map((s) => s.stop(true)))
        await Promise.race([
          runtime.stop(),
          Bun.sleep(config.shutdownTimeout * 1000).then(() =>
            logger.warn('shutdown timeout: background work abandoned (it resumes at the next start)'),
          ),
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
    if (tls && config.tlsCert !== undefined && config.tlsKey !== undefined) {
      const [certFile, keyFile] = [config.tlsCert, config.tlsKey]
      // SIGHUP: read the PEM files again and serve new connections with them. Bun 1.4.5's server.reload()
      // accepts `tls` but ignores it (it swaps handlers only), and a Bun.serve server has no setSecureContext;
      // so a new listener with the new certificate takes the port over: the old one stops accepting (its
      // socket closes, which lets the exclusive bind succeed) and keeps serving the connections it has —
      // live streams included — until they end. The swap is synchronous, a fraction of a millisecond.
      process.on('SIGHUP', () => {
        if (stopping || !tls) return
        let next: TlsFiles
        try {
          next = loadTls(certFile, keyFile)
        } catch (err) {
          logger.error(
            { err: (err as Error).message },
            'SIGHUP: TLS files not reloaded; still serving the previous certificate',
          )
          return
        }
        const previous = current
        const port = previous.port ?? config.port
        void previous.stop(false)
        retired.add(previous)
        try {
          current = Bun.serve({ ...serveOptions(config, port, next), fetch: handle })
        } catch (err) {
          // The port was taken in between (another program): keep the old certificate if it can still bind.
          try {
            current = Bun.serve({ ...serveOptions(config, port, tls), fetch: handle })
            logger.error(
              { err: (err as Error).message },
              'SIGHUP: could not listen with the new certificate; still serving the previous one',
            )
          } catch {
            logger.fatal(
              { err: (err as Error).message, port },
              'SIGHUP: lost the port while reloading TLS; shutting down',
            )
            void shutdown('SIGHUP', true)
          }
          return
        }
        tls = next
        logger.info({ fingerprint: next.fingerprint, validTo: next.validTo }, 'TLS certificate reloaded')
      })
    }
    // Last: whoever waits for this line (a supervisor, a test) may signal at once, and the handlers are in place.
    logger.info(
      {
        url: `${scheme}://${config.host}:${listening.port}`,
        publicUrl: config.publicUrl,
        dataDir: config.dataDir,
        version: VERSION,
        keySource: key.source,
        ...(tls ? { tlsFingerprint: tls.fingerprint, tlsValidTo: tls.validTo } : {}),
      },
      'wabox listening',
    )
  } catch (err) {
    await server?.stop(true)
    await db?.close().catch(() => {})
    releaseLock()
    throw err
  }
}
