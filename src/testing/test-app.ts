/**
 * createTestApp(): the real app on a fresh, fully migrated in-memory database with a random key and a
 * logger whose lines are captured, so tests can assert what was (and was not) logged.
 *
 * The migrations run once per test process, on a template; each app's database starts as a copy of that
 * template's serialized image (or of a test's own image, see fixtures.ts worldFactory), not by migrating again.
 */
import { Writable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { createApp, type AppDeps } from '../app.ts'
import { parseInvocation, type Config } from '../config.ts'
import { keyringOf, type Keyring } from '../crypto/envelope.ts'
import { keyEntryOf } from '../crypto/keyfile.ts'
import { openDatabase, openDatabaseImage, type DbHandle } from '../db/client.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { createLogger } from '../log.ts'
import { systemClock, type Clock } from '../clock.ts'
import { createRuntime } from '../runtime.ts'
import { tempDir } from './temp.ts'
import type { SocketFactory } from '../channels/qr/socket.ts'
import { scriptedSockets } from './qr-socket.ts'

export type TestApp = Awaited<ReturnType<typeof createTestApp>>

/** app.handle has no socket: tests name the peer address in this header (absent = a fixed test address). */
export const TEST_PEER_HEADER = 'x-test-peer'

let migrated: Promise<Buffer> | undefined
/** The serialized image of a freshly migrated database, made once per process. */
export function migratedImage(): Promise<Buffer> {
  migrated ??= (async () => {
    const template = openDatabase(':memory:')
    await migrateToLatest(template.db)
    const image = template.sqlite.serialize()
    await template.close()
    return image
  })()
  return migrated
}

export async function createTestApp(
  opts: {
    config?: Partial<Config>
    db?: DbHandle
    /** A serialized database to start from instead of the migrated template (it must be migrated too). */
    image?: Buffer
    /** The key its sealed values were sealed with, for an image made by another app. */
    keyring?: Keyring
    argv?: string[]
    clock?: Clock
    graph?: { url: string }
    qrSocketFactory?: SocketFactory
  } = {},
) {
  const logLines: string[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  // Rate limits are generous unless a test sets them: only the rate-limit tests should ever meet a 429.
  const unlimited = [{ limit: 1_000_000, seconds: 1 }]
  // WhatsApp Web is never reached from a test: even Baileys' real socket, when a test asks for it, meets a closed port.
  const config: Config = {
    ...parseInvocation(opts.argv ?? [], {}).config,
    dataDir: tempDir('wabox-test-data'),
    ...(opts.graph ? { graphBaseUrl: opts.graph.url } : {}),
    qrWebsocketUrl: 'ws://127.0.0.1:9/ws/chat',
    logLevel: 'debug',
    rateLimit: unlimited,
    uiRateLimit: unlimited,
    ...opts.config,
  }
  const db = opts.db ?? openDatabaseImage(opts.image ?? (await migratedImage()))
  const logger = createLogger(config.logLevel, sink)
  const keyring = opts.keyring ?? keyringOf(keyEntryOf(new Uint8Array(randomBytes(32))))
  const clock = opts.clock ?? systemClock
  // QR sessions get a scripted socket unless a test brings its own (or Baileys' real one).
  const runtime = createRuntime({
    db,
    config,
    logger,
    keyring,
    clock,
    qrSocketFactory: opts.qrSocketFactory ?? scriptedSockets({ autoQr: true }).factory,
  })
  const deps: AppDeps = {
    config,
    db,
    keyring,
    logger,
    clock,
    runtime,
    peerAddress: (request) => request.headers.get(TEST_PEER_HEADER) ?? '203.0.113.10',
  }
  const app = createApp(deps)

  /** Sends a request through the whole app pipeline (no socket). */
  const request = (path: string, init: RequestInit = {}) => app.handle(new Request(`http://localhost${path}`, init))

  return {
    app,
    deps,
    db,
    config,
    clock,
    runtime,
    services: runtime.services,
    logLines,
    request,
    close: async () => {
      await runtime.stop()
      await db.close()
    },
  }
}
