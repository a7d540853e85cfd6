/**
 * bench/qr-sessions: what a QR-linked number costs in memory. Each figure comes from a fresh Bun process that runs
 * wabox in-process on a real SQLite file, with the scripted socket (src/testing/qr-socket.ts) in Baileys' place —
 * the one boundary no machine here can cross — so the session, its sealed auth store, the intake, the processor and
 * the paced sender are wabox's own code, for real.
 *
 *   bun bench/qr-sessions.ts [--seconds 20] [--rate 100]
 *
 * Per process: RSS of a bare Bun process (the baseline, same run), after importing Baileys, after the app is up with
 * no session, with N linked sessions idle, and at its peak while every session receives messages (`--rate` per
 * second spread over the sessions, each from its own customer) and answers each customer once per second through the
 * send API. N = 10 and N = 50; the cost of one session is the difference between the two over 40.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '100' },
    child: { type: 'string' },
    real: { type: 'string' },
  },
})
const SECONDS = Number(values.seconds)
const RATE = Number(values.rate)
const MB = (bytes: number) => Math.round(bytes / 1024 / 1024)

type Figures = {
  sessions: number
  bare: number
  baileys: number
  app: number
  idle: number
  peak: number
  after: number
  received: number
  sent: number
}

/** Settles the heap before a reading, so idle figures are what is kept, not what is waiting for collection. */
async function settledRss(): Promise<number> {
  Bun.gc(true)
  await Bun.sleep(500)
  Bun.gc(true)
  return process.memoryUsage().rss
}

async function child(sessions: number): Promise<Figures> {
  const bare = await settledRss()
  await import('baileys')
  const baileys = await settledRss()

  const { createTestApp } = await import('../src/testing/test-app.ts')
  const { openDatabase } = await import('../src/db/client.ts')
  const { migrateToLatest } = await import('../src/db/migrate.ts')
  const { scriptedSockets } = await import('../src/testing/qr-socket.ts')
  const { call, makeUser, makeWorkspace } = await import('../src/testing/fixtures.ts')

  const dir = mkdtempSync(join(tmpdir(), 'wabox-bench-qr-'))
  const db = openDatabase(join(dir, 'wabox.db'))
  await migrateToLatest(db.db)
  const sockets = scriptedSockets()
  // warn: no request log lines kept in the test app's memory, which would be counted against the sessions.
  const t = await createTestApp({ db, qrSocketFactory: sockets.factory, config: { logLevel: 'warn', dataDir: dir } })
  const owner = await makeUser(t, 'owner@example.com')
  // Ten numbers per workspace (a plan caps channels per workspace), as an agency running several businesses would.
  const workspaces: string[] = []
  for (let i = 0; i < Math.ceil(sessions / 10); i++) workspaces.push(await makeWorkspace(t, `Bench ${i}`, owner))
  const app = await settledRss()

  // Link every session as a scan does: QR shown, creds saved, 515 restart, open on the new socket.
  const linked: { id: string; ws: string; socket: ReturnType<typeof sockets.last> }[] = []
  for (let i = 0; i < sessions; i++) {
    const ws = workspaces[Math.floor(i / 10)]!
    const res = await t.request(
      `/api/v1/workspaces/${ws}/channels`,
      call(owner.who, 'POST', {
        kind: 'qr',
        name: `Phone ${i}`,
        qr: { pacing: { typing: false, minDelayMs: 500, maxDelayMs: 500 } },
      }),
    )
    if (res.status !== 201) throw new Error(`creating channel ${i}: ${res.status} ${await res.text()}`)
    const id = (await res.json()).channel.id as string
    sockets.last().showQr(`2@bench-${i},noise,identity,adv`)
    sockets.last().emit('creds.update', {})
    sockets.last().close(515, 'Stream Errored (restart required)')
    await t.runtime.qr.get(id)!.idle()
    sockets.last().open({ id: `49151000${String(i).padStart(5, '0')}:7@s.whatsapp.net`, name: `Shop ${i}`, lid: '' })
    await t.runtime.qr.get(id)!.idle()
    linked.push({ id, ws, socket: sockets.last() })
  }
  const idle = await settledRss()

  let peak = 0
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 100)
  let received = 0
  const customerOf = (session: number) => `4917${String(session).padStart(8, '0')}`
  const inbound = setInterval(
    () => {
      const session = received % sessions
      const { socket } = linked[session]!
      received++
      socket.emit('messages.upsert', {
        type: 'notify',
        messages: [
          {
            key: { remoteJid: `${customerOf(session)}@s.whatsapp.net`, fromMe: false, id: `3EB0BENCH${received}` },
            message: { conversation: `Hallo, Nachricht ${received} — gibt es heute noch Brötchen?` },
            messageTimestamp: Math.floor(Date.now() / 1000),
            pushName: `Customer ${session}`,
          },
        ],
      })
    },
    Math.max(1, Math.round(1000 / RATE)),
  )
  const replies = setInterval(() => {
    for (const [session, { id, ws }] of linked.entries()) {
      void t.request(
        `/api/v1/workspaces/${ws}/messages`,
        call(owner.who, 'POST', {
          channelId: id,
          to: customerOf(session),
          type: 'text',
          text: { body: 'Ja, bis 18 Uhr.' },
        }),
      )
    }
  }, 1000)
  await Bun.sleep(SECONDS * 1000)
  clearInterval(inbound)
  clearInterval(replies)
  for (const { id } of linked) await t.runtime.qr.get(id)!.idle()
  await t.runtime.writer.flush()
  await t.runtime.processor.drain()
  clearInterval(sampler)
  const after = await settledRss()
  const sent = linked.reduce((n, { socket }) => n + socket.sent.length, 0)
  await t.close()
  rmSync(dir, { recursive: true, force: true })
  return { sessions, bare, baileys, app, idle, peak, after, received, sent }
}

/**
 * Baileys' own share, which the scripted socket does not carry: N sessions on Baileys' real socket (wabox's
 * production factory) connecting to a loopback WebSocket server that accepts and never answers the handshake, so
 * every socket is alive (noise handler, caches, keep-alive, its WebSocket) and waiting — measured well inside
 * Baileys' 20 s connect timeout. Signal sessions with contacts are not in it: they come with real traffic only.
 */
async function realSockets(sessions: number): Promise<{ sessions: number; app: number; connecting: number }> {
  const { createTestApp } = await import('../src/testing/test-app.ts')
  const { openDatabase } = await import('../src/db/client.ts')
  const { migrateToLatest } = await import('../src/db/migrate.ts')
  const { baileysSocketFactory } = await import('../src/channels/qr/socket.ts')
  const { call, makeUser, makeWorkspace } = await import('../src/testing/fixtures.ts')
  let open = 0
  const silent = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (req, server) => (server.upgrade(req) ? undefined : new Response('websocket only', { status: 400 })),
    websocket: {
      open: () => void open++,
      message: () => {},
    },
  })
  const dir = mkdtempSync(join(tmpdir(), 'wabox-bench-qr-real-'))
  const db = openDatabase(join(dir, 'wabox.db'))
  await migrateToLatest(db.db)
  const t = await createTestApp({
    db,
    qrSocketFactory: baileysSocketFactory,
    config: { logLevel: 'warn', dataDir: dir, qrWebsocketUrl: `ws://127.0.0.1:${silent.port}/ws/chat` },
  })
  const owner = await makeUser(t, 'owner@example.com')
  const workspaces: string[] = []
  for (let i = 0; i < Math.ceil(sessions / 10); i++) workspaces.push(await makeWorkspace(t, `Bench ${i}`, owner))
  const app = await settledRss()
  for (let i = 0; i < sessions; i++) {
    const res = await t.request(
      `/api/v1/workspaces/${workspaces[Math.floor(i / 10)]}/channels`,
      call(owner.who, 'POST', { kind: 'qr', name: `Phone ${i}` }),
    )
    if (res.status !== 201) throw new Error(`creating channel ${i}: ${res.status} ${await res.text()}`)
  }
  const deadline = Date.now() + 10_000
  while (open < sessions && Date.now() < deadline) await Bun.sleep(50)
  if (open < sessions) throw new Error(`only ${open} of ${sessions} sockets reached the loopback server`)
  const connecting = await settledRss()
  await t.close()
  silent.stop(true)
  rmSync(dir, { recursive: true, force: true })
  return { sessions, app, connecting }
}

if (values.real) {
  process.stdout.write(`${JSON.stringify(await realSockets(Number(values.real)))}\n`)
  process.exit(0)
}

if (values.child) {
  const figures = await child(Number(values.child))
  process.stdout.write(`${JSON.stringify(figures)}\n`)
  process.exit(0)
}

/** Runs one measurement in a fresh process and returns its figures (the last line it prints). */
async function measured<T>(args: string[]): Promise<T> {
  const proc = Bun.spawn(['bun', import.meta.path, ...args], { stdout: 'pipe', stderr: 'inherit' })
  const out = await new Response(proc.stdout).text()
  if ((await proc.exited) !== 0) throw new Error(`the run ${args.join(' ')} failed`)
  return JSON.parse(out.trim().split('\n').at(-1)!) as T
}

const load = ['--seconds', String(SECONDS), '--rate', String(RATE)]
const ten = await measured<Figures>(['--child', '10', ...load])
const fifty = await measured<Figures>(['--child', '50', ...load])
type Real = Awaited<ReturnType<typeof realSockets>>
const realTen = await measured<Real>(['--real', '10'])
const realFifty = await measured<Real>(['--real', '50'])
const rows = [
  ['bare Bun process (baseline)', ten.bare, fifty.bare],
  ['+ Baileys imported', ten.baileys, fifty.baileys],
  ['+ wabox up, no session', ten.app, fifty.app],
  ['N sessions linked, idle', ten.idle, fifty.idle],
  [`peak under load (${RATE} msg/s in, 1 reply/s per session)`, ten.peak, fifty.peak],
  ['after the load, settled', ten.after, fifty.after],
] as const
console.log(`| RSS (MB)                                                   | 10 sessions | 50 sessions |`)
console.log(`| ---------------------------------------------------------- | ----------- | ----------- |`)
for (const [label, a, b] of rows)
  console.log(`| ${label.padEnd(58)} | ${String(MB(a)).padStart(11)} | ${String(MB(b)).padStart(11)} |`)
console.log(
  `| ${'real Baileys sockets connecting, wabox up before'.padEnd(58)} | ${String(MB(realTen.app)).padStart(11)} | ${String(MB(realFifty.app)).padStart(11)} |`,
)
console.log(
  `| ${'real Baileys sockets connecting'.padEnd(58)} | ${String(MB(realTen.connecting)).padStart(11)} | ${String(MB(realFifty.connecting)).padStart(11)} |`,
)
console.log(`messages received: ${ten.received} / ${fifty.received}; replies sent: ${ten.sent} / ${fifty.sent}`)
console.log(`Baileys import: ${MB(ten.baileys - ten.bare)} MB`)
console.log(`per session, idle: ${((fifty.idle - ten.idle) / 40 / 1024 / 1024).toFixed(2)} MB`)
console.log(`per session, peak under load: ${((fifty.peak - ten.peak) / 40 / 1024 / 1024).toFixed(2)} MB`)
console.log(
  `per real Baileys socket, connecting: ${((realFifty.connecting - realTen.connecting) / 40 / 1024 / 1024).toFixed(2)} MB`,
)
