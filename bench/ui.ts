/**
 * bench/ui: the admin UI in a real browser on a large inbox (DESIGN §11: "first page painted ≤ 1 s after
 * navigation; inbound webhook → bubble on screen p99 ≤ 500 ms"), against a small database measured in the same run.
 *
 *   bun run build && bun bench/ui.ts [--conversations 100000] [--messages 1000000] [--paints 20] [--bubbles 200]
 *                                    [--interval 150] [--reseed]
 *
 * The databases are seeded once and cached under .test-tmp/bench-ui-seed/<counts and schema>/: the compiled
 * binary creates the data directory (operator created headless, Cloud channels connected through the Graph API
 * double), is stopped, and contacts, conversations and messages are bulk-inserted straight into wabox.db. Each run
 * copies the cached directories of a small baseline (200 conversations, 2,000 messages) and of the large database,
 * starts the binary on each (both stay up) and drives headless Chromium (playwright-core) at them:
 *
 *  1. navigation → first conversation row painted, `--paints` times per database, small and large interleaved, each
 *     in a fresh browser context (empty cache) and each as a fresh page in one context (cached assets);
 *  2. inbound webhook → its bubble on screen, `--bubbles` signed webhooks for the open conversation's contact, one
 *     every `--interval` ms;
 *  3. the list API's own latency (GET …/conversations?status=open&limit=50, sequential).
 *
 * Besides wall times it reports CPU (renderer main thread and process from CDP, wabox from /proc), which does not
 * depend on what else the machine is doing, and where the time goes (Navigation/Resource Timing, messages.created_at).
 *
 * Prints a Markdown summary; exits non-zero when something could not be measured (a selector never appeared, a
 * webhook was refused, a bubble never showed). Targets missed are reported, not failures.
 */
import { Database } from 'bun:sqlite'
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core'
import { startGraphDouble, type GraphDouble } from '../src/testing/graph-double.ts'
import { inboundText, signed, WABA_ID } from '../src/testing/webhooks.ts'

const { values } = parseArgs({
  options: {
    conversations: { type: 'string', default: '100000' },
    messages: { type: 'string', default: '1000000' },
    paints: { type: 'string', default: '20' },
    bubbles: { type: 'string', default: '200' },
    interval: { type: 'string', default: '150' },
    reseed: { type: 'boolean', default: false },
  },
})
const CONVERSATIONS = Number(values.conversations)
const MESSAGES = Number(values.messages)
const PAINTS = Number(values.paints)
const BUBBLES = Number(values.bubbles)
const INTERVAL_MS = Number(values.interval)
/** The baseline: a small inbox (still a full first page of open conversations), measured the same way in the same run. */
const SMALL = { conversations: 200, messages: 2000 }
if (
  ![CONVERSATIONS, MESSAGES, PAINTS, BUBBLES, INTERVAL_MS].every((n) => Number.isInteger(n) && n > 0) ||
  MESSAGES < CONVERSATIONS
) {
  console.error(
    '--conversations, --messages, --paints, --bubbles and --interval are positive integers, and every conversation has a message (--messages ≥ --conversations)',
  )
  process.exit(2)
}

const ROOT = resolve(import.meta.dir, '..')
const SOURCE_BINARY = join(ROOT, 'dist/wabox')
const CACHE = join(ROOT, '.test-tmp/bench-ui-seed')
const ARTIFACTS = join(ROOT, '.test-tmp/bench-ui')
const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
]
const VIEWPORT = { width: 1280, height: 800 }
const OPERATOR = { email: 'op@bench.example', password: 'bench password 123' }
/** Bump when the seeder changes what it writes (old caches are then ignored). */
const SEED_VERSION = 1
const CHANNELS = [
  { name: 'Support', phone: '106540352260001', share: 0.6 },
  { name: 'Sales', phone: '106540352260002', share: 0.3 },
  { name: 'Billing', phone: '106540352260003', share: 0.1 },
]
const tokenOf = (phone: string) => `EAAGbenchui${phone}`
const secretOf = (phone: string) => `bench-ui-secret-${phone}`

const log = (...args: unknown[]) => console.error(`[bench/ui ${new Date().toISOString().slice(11, 19)}]`, ...args)
const sleep = (ms: number) => Bun.sleep(ms)
const pct = (arr: number[], q: number) => {
  const s = [...arr].sort((a, b) => a - b)
  if (s.length === 0) return NaN
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((q / 100) * s.length) - 1))]!
}
const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)}` : '—')
const p50p99 = (arr: number[]) => `${ms(pct(arr, 50))} / ${ms(pct(arr, 99))} ms`

// ---- processes we start, stopped however the run ends --------------------------------------------------

type Server = { url: string; proc: ReturnType<typeof Bun.spawn>; stop: () => Promise<void> }
const servers = new Set<Server>()
let browser: Browser | undefined
let graph: GraphDouble | undefined
let work: string | undefined

async function cleanup(): Promise<void> {
  await browser?.close().catch(() => {})
  browser = undefined
  for (const s of [...servers]) await s.stop().catch(() => {})
  graph?.stop()
  graph = undefined
  if (work) rmSync(work, { recursive: true, force: true })
  work = undefined
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)))
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)))
// Every wait below is bounded; this is the bound on the whole run (seeding 1M messages included).
const watchdog = setTimeout(() => {
  log('the run took longer than 60 minutes: giving up')
  void cleanup().then(() => process.exit(1))
}, 60 * 60_000)

async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  s.stop(true)
  return port
}

async function startWabox(
  binary: string,
  dataDir: string,
  logFile: string,
): Promise<Server & { startToReadyMs: number }> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const args = [
    binary,
    '--data-dir',
    dataDir,
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--public-url',
    url,
    '--graph-base-url',
    graph!.url,
    '--rate-limit',
    '100000/1s',
    '--ui-rate-limit',
    '100000/1s',
    '--shutdown-timeout',
    '2',
  ]
  const started = performance.now()
  const proc = Bun.spawn(args, { stdin: 'ignore', stdout: Bun.file(logFile), stderr: Bun.file(`${logFile}.stderr`) })
  const server: Server = {
    url,
    proc,
    stop: async () => {
      servers.delete(server)
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGTERM')
      if ((await Promise.race([proc.exited, sleep(20_000).then(() => 'hung' as const)])) === 'hung') {
        log(`wabox (pid ${proc.pid}) did not stop within 20 s of SIGTERM: killing it`)
        proc.kill('SIGKILL')
        await proc.exited
      }
    },
  }
  servers.add(server)
  for (const deadline = performance.now() + 60_000; ; ) {
    if (proc.exitCode !== null)
      throw new Error(
        `wabox exited (code ${proc.exitCode}) before it was ready; see ${logFile}.stderr:\n${readFileSync(`${logFile}.stderr`, 'utf8').slice(-2000)}`,
      )
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`wabox was not ready within 60 s (${url}/readyz)`)
    await sleep(10)
  }
  return { ...server, startToReadyMs: Math.round(performance.now() - started) }
}

type Cookie = { name: string; value: string }
async function login(url: string): Promise<{ cookie: Cookie; userId: string; headers: Record<string, string> }> {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(OPERATOR),
  })
  if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`)
  const body = (await res.json()) as { user: { id: string } }
  const first = res.headers.getSetCookie().find((c) => c.startsWith('wabox_session=')) ?? res.headers.getSetCookie()[0]
  if (!first) throw new Error('login answered 200 without a session cookie')
  const [name, ...rest] = first.split(';')[0]!.split('=')
  const cookie = { name: name!, value: rest.join('=') }
  return {
    cookie,
    userId: body.user.id,
    headers: { cookie: `${cookie.name}=${cookie.value}`, origin: url, 'content-type': 'application/json' },
  }
}

// ---- seeding ------------------------------------------------------------------------------------------

type SeedMeta = {
  version: number
  conversations: number
  messages: number
  workspaceId: string
  userId: string
  channels: { id: string; name: string; phone: string }[]
  /** The conversation the bubble measurement opens: a busy one on the first channel, not at the top of the list. */
  bubble: { conversationId: string; channelIndex: number; waId: string; name: string; messages: number }
  seededAt: string
  seedSeconds: number
  dbBytes: number
}

/** The schema the binary migrates to: a new migration means a new cache entry. */
const schemaHash = () =>
  createHash('sha256')
    .update(
      readdirSync(join(ROOT, 'migrations'))
        .filter((f) => /^\d{4}-.*\.ts$/.test(f))
        .sort()
        .join('\n'),
    )
    .digest('hex')
    .slice(0, 10)

/** A small, fast, seeded PRNG (mulberry32): the same counts give the same database. */
function prng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const FIRST =
  'Anna Ben Clara David Elena Felix Greta Hugo Ines Jonas Katrin Lukas Maria Noah Olga Paul Quentin Rita Sven Tanja Ugo Vera Wim Xenia Yusuf Zoe Ahmet Björn Chloé Dörte Émile Fátima Giulia Håkon Iñaki José Lucía Małgorzata Nuño Øystein Priya Raúl Søren Timo Ümit Zeynep Aiko Wei Ravi Olu Kwame'.split(
    ' ',
  )
const LAST =
  'Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann García Martínez López González Rodríguez Fernández Rossi Russo Ferrari Bianchi Dubois Moreau Laurent Lefèvre Nowak Kowalski Yılmaz Kaya Demir Novák Smith Jones Brown Taylor Wilson Okafor Mensah Silva Santos Costa Pereira Andersson Johansson Nielsen Hansen Jensen Kim Lee Tanaka Nguyen Patel'.split(
    ' ',
  )
const WORDS = (
  'hello hi thanks thank you please order delivery package arrived yesterday today tomorrow morning evening invoice refund payment card ' +
  'address change cancel subscription appointment booking confirm confirmed question problem issue broken size colour color return ' +
  'exchange shipping tracking number still waiting when where how much price discount code coupon available stock week weekend ' +
  'store opening hours open closed manager call me back later sorry great perfect ok okay sure yes no maybe could would should ' +
  'the a an and or but with without for from to in on at my your our their this that it is was will be have has had can not ' +
  'Bestellung Lieferung Rechnung danke bitte morgen heute Größe Rückgabe Termin pedido entrega mañana gracias factura tamaño ' +
  'devolución cita commande livraison merci demain facture taille retour rendez-vous'
).split(' ')
const EXTRAS = [
  '🙂',
  '👍',
  '🙏',
  '😅',
  '❤️',
  '📦',
  '✅',
  '?',
  '!',
  '…',
  '#A-48213',
  'https://shop.example/track/ZX81-0042',
  '+49 151 2345678',
  '€49,90',
  '12:30',
  'ASAP',
]

function textPool(rand: () => number, n: number): string[] {
  const pool: string[] = []
  for (let i = 0; i < n; i++) {
    // Chat lengths: mostly short, some paragraphs, a few long explanations.
    const r = rand()
    const target =
      r < 0.45
        ? 2 + Math.floor(rand() * 28)
        : r < 0.85
          ? 30 + Math.floor(rand() * 90)
          : r < 0.98
            ? 120 + Math.floor(rand() * 280)
            : 400 + Math.floor(rand() * 800)
    let s = ''
    while (s.length < target) {
      const w = rand() < 0.06 ? EXTRAS[Math.floor(rand() * EXTRAS.length)]! : WORDS[Math.floor(rand() * WORDS.length)]!
      s += (s ? (rand() < 0.08 ? '. ' : rand() < 0.04 ? ',\n' : ' ') : '') + w
    }
    s = s.slice(0, Math.max(target, 2)).trim() || 'ok'
    pool.push(s[0]!.toUpperCase() + s.slice(1) + (rand() < 0.3 ? (rand() < 0.5 ? '?' : '.') : ''))
  }
  return pool
}

async function seed(label: string, nConv: number, nMsg: number): Promise<{ dir: string; meta: SeedMeta }> {
  const key = `v${SEED_VERSION}-c${nConv}-m${nMsg}-schema-${schemaHash()}`
  const dir = join(CACHE, key)
  if (!values.reseed && existsSync(join(dir, 'seed.json')) && existsSync(join(dir, 'data/wabox.db'))) {
    log(`${label}: seeded database from the cache (${dir})`)
    return { dir, meta: JSON.parse(readFileSync(join(dir, 'seed.json'), 'utf8')) as SeedMeta }
  }
  const t0 = performance.now()
  // Leftovers of seeds that were interrupted go first.
  for (const name of existsSync(CACHE) ? readdirSync(CACHE) : [])
    if (name.startsWith(`${key}.partial-`)) rmSync(join(CACHE, name), { recursive: true, force: true })
  const partial = `${dir}.partial-${process.pid}`
  mkdirSync(partial, { recursive: true })
  try {
    return await seedInto(label, nConv, nMsg, dir, partial, t0)
  } catch (err) {
    for (const s of [...servers]) await s.stop().catch(() => {})
    rmSync(partial, { recursive: true, force: true })
    throw err
  }
}

async function seedInto(
  label: string,
  nConv: number,
  nMsg: number,
  dir: string,
  partial: string,
  t0: number,
): Promise<{ dir: string; meta: SeedMeta }> {
  const dataDir = join(partial, 'data')
  log(`${label}: seeding ${nConv} conversations / ${nMsg} messages into ${partial}`)

  // 1. The binary makes the data directory: schema, key, operator, workspace, channels (through the double).
  const create = Bun.spawn(
    [binary, 'operator', 'create', '--email', OPERATOR.email, '--workspace-name', 'Bench Inbox', '--data-dir', dataDir],
    { stdin: new TextEncoder().encode(`${OPERATOR.password}\n`), stdout: 'pipe', stderr: 'pipe' },
  )
  if ((await Promise.race([create.exited, sleep(30_000).then(() => 'hung' as const)])) !== 0) {
    create.kill('SIGKILL')
    throw new Error(`wabox operator create failed: ${await new Response(create.stderr).text()}`)
  }
  const server = await startWabox(binary, dataDir, join(partial, 'seed-server.log'))
  const session = await login(server.url)
  const me = (await (await fetch(`${server.url}/api/v1/me`, { headers: session.headers })).json()) as {
    memberships: { workspaceId: string }[]
  }
  const workspaceId = me.memberships[0]!.workspaceId
  const channels: SeedMeta['channels'] = []
  for (const ch of CHANNELS) {
    const res = await fetch(`${server.url}/api/v1/workspaces/${workspaceId}/channels`, {
      method: 'POST',
      headers: session.headers,
      body: JSON.stringify({
        name: ch.name,
        accessToken: tokenOf(ch.phone),
        phoneNumberId: ch.phone,
        wabaId: WABA_ID,
        appSecret: secretOf(ch.phone),
      }),
    })
    if (res.status !== 201 && res.status !== 200)
      throw new Error(`connecting channel ${ch.name}: ${res.status} ${await res.text()}`)
    channels.push({
      id: ((await res.json()) as { channel: { id: string } }).channel.id,
      name: ch.name,
      phone: ch.phone,
    })
  }
  await server.stop()

  // 2. Bulk insert, straight into the file, with the server stopped.
  const db = new Database(join(dataDir, 'wabox.db'))
  db.query('PRAGMA journal_mode = DELETE').get()
  db.exec(
    'PRAGMA synchronous = OFF; PRAGMA cache_size = -1500000; PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = OFF',
  )
  const insContact = db.prepare(
    `INSERT INTO contacts (id, workspace_id, wa_id, bsuid, profile_name, username, name, labels, notes, opted_out, opted_out_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, NULL, ?, ?, '', 0, NULL, ?, ?)`,
  )
  const insConversation = db.prepare(
    `INSERT INTO conversations (id, workspace_id, channel_id, contact_id, status, assignee_user_id, unread_count, last_message_at, last_inbound_at, last_message_preview, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const insMessage = db.prepare(
    `INSERT INTO messages (id, workspace_id, conversation_id, channel_id, wamid, direction, type, text, content, status, status_at, pricing, media_attempts, sent_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, 'text', ?, ?, ?, ?, ?, 0, ?, ?)`,
  )
  const rand = prng(nConv * 31 + nMsg)
  const id = (prefix: string) => {
    let s = `${prefix}_`
    for (let i = 0; i < 16; i++) s += ALNUM[Math.floor(rand() * 62)]
    return s
  }
  const wamid = () => {
    let s = 'wamid.HBgN'
    for (let i = 0; i < 40; i++) s += ALNUM[Math.floor(rand() * 62)]
    return `${s}=`
  }
  const texts = textPool(rand, Math.min(50_000, Math.max(500, nMsg)))
  const pricing = JSON.stringify({
    billable: false,
    pricing_model: 'PMP',
    category: 'service',
    type: 'free_customer_service',
  })

  // Messages per conversation: one each, the rest heavy-tailed (most conversations short, a few very long).
  const counts = new Uint32Array(nConv).fill(1)
  const weights = new Float64Array(nConv)
  let total = 0
  for (let i = 0; i < nConv; i++) total += weights[i] = Math.min(200, (1 / (1 - rand())) ** (1 / 1.3))
  const extra = nMsg - nConv
  let placed = 0
  for (let i = 0; i < nConv; i++) placed += (counts[i]! += Math.floor((extra * weights[i]!) / total)) - 1
  for (let left = extra - placed; left > 0; left--) counts[Math.floor(rand() * nConv)]!++

  const now = Date.now() - 60_000
  const DAY = 86_400_000
  const expo = (mean: number) => -Math.log(1 - rand()) * mean
  let bubble: SeedMeta['bubble'] | undefined
  let bubbleScore = -1
  const BATCH = 2000
  for (let from = 0; from < nConv; from += BATCH) {
    db.transaction(() => {
      for (let c = from; c < Math.min(nConv, from + BATCH); c++) {
        const n = counts[c]!
        // When the conversation last moved: spread over six months, more of them recent.
        const age = 180 * DAY * rand() ** 2
        const last = now - age
        const times = new Float64Array(n)
        times[n - 1] = last
        for (let k = n - 2; k >= 0; k--) {
          const r = rand()
          times[k] =
            times[k + 1]! - (r < 0.85 ? expo(3 * 60_000) : r < 0.97 ? expo(6 * 3_600_000) : expo(5 * DAY)) - 1000
        }
        const directions: ('in' | 'out')[] = ['in']
        for (let k = 1; k < n; k++)
          directions.push(rand() < 0.45 ? (directions[k - 1] === 'in' ? 'out' : 'in') : directions[k - 1]!)
        const r = rand()
        const chIndex = r < CHANNELS[0]!.share ? 0 : r < CHANNELS[0]!.share + CHANNELS[1]!.share ? 1 : 2
        const channelId = channels[chIndex]!.id
        const wa = `49151${String((c * 7919 + 13) % 100_000_000).padStart(8, '0')}`
        const contactId = id('ct')
        const conversationId = id('cv')
        const firstIso = new Date(times[0]!).toISOString()
        const lastIso = new Date(last).toISOString()
        const profile =
          rand() < 0.95 ? `${FIRST[Math.floor(rand() * FIRST.length)]} ${LAST[Math.floor(rand() * LAST.length)]}` : null
        const given =
          rand() < 0.1
            ? `${profile ?? 'Customer'} (${['VIP', 'B2B', 'Retoure', 'Key account'][Math.floor(rand() * 4)]})`
            : null
        insContact.run(
          contactId,
          workspaceId,
          wa,
          `US.${wa}0000`,
          profile,
          given,
          rand() < 0.15 ? '["customer"]' : '[]',
          firstIso,
          lastIso,
        )
        let lastText = ''
        let lastInbound: string | null = null
        for (let k = 0; k < n; k++) {
          const text = texts[Math.floor(rand() * texts.length)]!
          const sentAt = new Date(times[k]!).toISOString()
          const inbound = directions[k] === 'in'
          if (inbound) lastInbound = sentAt
          lastText = text
          const status = inbound ? 'received' : k < n - 2 || rand() < 0.6 ? 'read' : rand() < 0.7 ? 'delivered' : 'sent'
          insMessage.run(
            id('msg'),
            workspaceId,
            conversationId,
            channelId,
            wamid(),
            directions[k]!,
            text,
            inbound ? '{}' : JSON.stringify({ body: text }),
            status,
            sentAt,
            inbound ? null : pricing,
            sentAt,
            new Date(times[k]! + (inbound ? 150 : 0)).toISOString(),
          )
        }
        // Old conversations are mostly closed; recent ones mostly open. Unread only where the customer spoke last.
        const closedChance = age > 30 * DAY ? 0.75 : age > 7 * DAY ? 0.4 : 0.08
        const status = rand() < closedChance ? 'closed' : 'open'
        let trailing = 0
        for (let k = n - 1; k >= 0 && directions[k] === 'in'; k--) trailing++
        const unread = status === 'open' && trailing > 0 && rand() < 0.4 ? trailing : 0
        const assignee = status === 'open' && rand() < 0.25 ? session.userId : null
        insConversation.run(
          conversationId,
          workspaceId,
          channelId,
          contactId,
          status,
          assignee,
          unread,
          lastIso,
          lastInbound,
          lastText.slice(0, 200),
          firstIso,
          lastIso,
        )
        // The bubble conversation: an open one on the first channel with a long history, a few days old
        // (so the first webhook moves it to the top of the list, as a real reply would).
        const score = status === 'open' && chIndex === 0 && age > DAY && n <= 400 ? n : -1
        if (score > bubbleScore) {
          bubbleScore = score
          bubble = { conversationId, channelIndex: 0, waId: wa, name: given ?? profile ?? `+${wa}`, messages: n }
        }
      }
    })()
    if ((from / BATCH) % 10 === 0) log(`${label}: ${Math.min(nConv, from + BATCH)} / ${nConv} conversations`)
  }
  const broken = db.query('PRAGMA foreign_key_check').all()
  if (broken.length > 0)
    throw new Error(`the seeded rows break ${broken.length} foreign key(s): ${JSON.stringify(broken.slice(0, 3))}`)
  // A database that has been in service has statistics: the maintenance job's PRAGMA optimize runs ANALYZE
  // (with its analysis limit) on tables whose indexes queries use.
  db.exec('PRAGMA analysis_limit = 2000; ANALYZE')
  db.query('PRAGMA journal_mode = WAL').get()
  db.close()
  if (!bubble) throw new Error('no conversation fits the bubble measurement (an open one on the first channel)')

  const meta: SeedMeta = {
    version: SEED_VERSION,
    conversations: nConv,
    messages: nMsg,
    workspaceId,
    userId: session.userId,
    channels,
    bubble,
    seededAt: new Date().toISOString(),
    seedSeconds: Math.round((performance.now() - t0) / 100) / 10,
    dbBytes: statSync(join(dataDir, 'wabox.db')).size,
  }
  writeFileSync(join(partial, 'seed.json'), JSON.stringify(meta, null, 2))
  rmSync(dir, { recursive: true, force: true })
  renameSync(partial, dir)
  log(`${label}: seeded in ${meta.seedSeconds} s (${Math.round(meta.dbBytes / 1048576)} MB)`)
  return { dir, meta }
}

// ---- measurements -------------------------------------------------------------------------------------

/**
 * Installed in every document before the app's script runs. When the first conversation row is in the DOM (a
 * MutationObserver sees it) the time is noted and the row's text is marked for Element Timing (the attribute
 * is read at paint time, so it counts while the row is still unpainted); then a requestAnimationFrame callback
 * posts a task: rAF runs just before the frame's style, layout and paint, so that task runs after the frame
 * holding the row was painted. Element Timing's renderTime (when Chromium reports it) is the frame's paint
 * time itself. Both are milliseconds since the navigation started (performance.timeOrigin).
 */
const PAINT_PROBE = `(() => {
  const b = (window.__bench = { dom: null, raf: null, paint: null, element: null, rows: 0 })
  const mark = () => {
    const row = document.querySelector('ul[aria-label="Conversations"] a.conv')
    if (!row) return false
    b.dom = performance.now()
    for (const el of row.querySelectorAll('span')) el.setAttribute('elementtiming', 'bench-first-row')
    requestAnimationFrame(() => {
      b.raf = performance.now()
      setTimeout(() => {
        b.paint = performance.now()
        b.rows = document.querySelectorAll('ul[aria-label="Conversations"] a.conv').length
      }, 0)
    })
    return true
  }
  const mo = new MutationObserver(() => { if (mark()) mo.disconnect() })
  mo.observe(document, { childList: true, subtree: true })
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.identifier === 'bench-first-row' && b.element === null && e.renderTime > 0) b.element = e.renderTime
    }).observe({ type: 'element', buffered: true })
  } catch {}
})()`

type PaintSample = {
  /** Bench clock: Date.now() just before page.goto → the painted frame (timeOrigin + paint). */
  gotoToPaint: number
  /** Page clock, ms since navigation start. */
  docEnd: number
  jsEnd: number | null
  meStart: number | null
  meEnd: number | null
  listStart: number | null
  listTtfb: number | null
  listEnd: number | null
  dom: number
  raf: number
  paint: number
  element: number | null
  /** Rows in the list when the frame was painted. */
  rows: number
  /** The renderer's CPU from the start of the page to the painted row: main thread, whole process. */
  thread: number
  process: number
  script: number
  layout: number
}

async function diagnose(page: Page): Promise<string> {
  try {
    const d = await page.evaluate(() => ({
      url: location.href,
      title: document.title,
      list: !!document.querySelector('ul[aria-label="Conversations"]'),
      lists: [...document.querySelectorAll('ul[aria-label]')].map((u) => u.getAttribute('aria-label')),
      rows: document.querySelectorAll('a.conv').length,
      log: !!document.querySelector('[role=log]'),
      articles: document.querySelectorAll('[role=log] article').length,
      inbound: document.querySelectorAll('[role=log] article[data-direction="in"]').length,
      text: (document.body?.textContent ?? '').replace(/\s+/g, ' ').slice(0, 400),
    }))
    return JSON.stringify(d)
  } catch (err) {
    return `(page could not be read: ${(err as Error).message})`
  }
}

async function failWith(page: Page, what: string, err: unknown): Promise<never> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const shot = join(ARTIFACTS, `${what.replace(/\W+/g, '-')}.png`)
  await page.screenshot({ path: shot, timeout: 5000 }).catch(() => {})
  throw new Error(
    `${what}: ${(err as Error).message.split('\n')[0]}\n  page: ${await diagnose(page)}\n  screenshot: ${shot}`,
  )
}

function watchPage(page: Page, errors: string[]) {
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`))
}

async function onePaint(context: BrowserContext, url: string, label: string, errors: string[]): Promise<PaintSample> {
  const page = await context.newPage()
  watchPage(page, errors)
  const cdp = await context.newCDPSession(page)
  await cdp.send('Performance.enable')
  try {
    const t0 = Date.now()
    await page.goto(url, { waitUntil: 'commit', timeout: 15_000 })
    try {
      await page.waitForFunction(
        () => (window as unknown as { __bench?: { paint: number | null } }).__bench?.paint != null,
        null,
        { timeout: 15_000, polling: 20 },
      )
    } catch (err) {
      await failWith(
        page,
        `${label}: the first conversation row (ul[aria-label="Conversations"] a.conv) was not painted within 15 s`,
        err,
      )
    }
    // Element Timing is reported a little after the frame: give it one more frame.
    await page
      .waitForFunction(
        () => (window as unknown as { __bench: { element: number | null } }).__bench.element != null,
        null,
        { timeout: 300, polling: 'raf' },
      )
      .catch(() => {})
    const s = await page.evaluate(() => {
      const b = (
        window as unknown as {
          __bench: { dom: number; raf: number; paint: number; element: number | null; rows: number }
        }
      ).__bench
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
      const res = performance.getEntriesByType('resource') as PerformanceResourceTiming[]
      const path = (e: PerformanceResourceTiming) => new URL(e.name).pathname
      const js = res.find((e) => /^\/assets\/.*\.js$/.test(path(e)))
      const me = res.find((e) => path(e) === '/api/v1/me')
      const list = res.find((e) => /\/api\/v1\/workspaces\/[^/]+\/conversations$/.test(path(e)))
      return {
        timeOrigin: performance.timeOrigin,
        docEnd: nav.responseEnd,
        jsEnd: js?.responseEnd ?? null,
        meStart: me?.startTime ?? null,
        meEnd: me?.responseEnd ?? null,
        listStart: list?.startTime ?? null,
        listTtfb: list?.responseStart ?? null,
        listEnd: list?.responseEnd ?? null,
        dom: b.dom,
        raf: b.raf,
        paint: b.paint,
        element: b.element,
        rows: b.rows,
      }
    })
    const busy = await mainThread(cdp)
    return {
      ...s,
      gotoToPaint: s.timeOrigin + s.paint - t0,
      thread: busy.thread,
      process: busy.process,
      script: busy.script,
      layout: busy.layout,
    }
  } finally {
    await cdp.detach().catch(() => {})
    await page.close().catch(() => {})
  }
}

type Target = { label: string; base: string; wid: string; cookie: Cookie; pid: number }

const contextFor = async (t: Target, probe?: string) => {
  const ctx = await browser!.newContext({ viewport: VIEWPORT, locale: 'en-US' })
  await ctx.addCookies([{ name: t.cookie.name, value: t.cookie.value, url: t.base, httpOnly: true, sameSite: 'Lax' }])
  if (probe) await ctx.addInitScript(probe)
  return ctx
}

/**
 * `--paints` navigations to each target's inbox, interleaved (small, large, small, …) so that whatever else the
 * machine is doing falls on both alike. 'cold': a fresh browser context (empty cache, new connection) each time;
 * 'warm': a fresh page in one context (the hashed assets come from the browser's cache).
 */
async function paints(
  mode: 'cold' | 'warm',
  targets: Target[],
  errors: Map<string, string[]>,
): Promise<{ samples: Map<string, PaintSample[]>; serverCpu: Map<string, number> }> {
  const samples = new Map(targets.map((t) => [t.label, [] as PaintSample[]]))
  const serverCpu = new Map<string, number>()
  const contexts = new Map<string, BrowserContext>()
  const url = (t: Target) => `${t.base}/w/${t.wid}/inbox`
  try {
    for (const t of targets) {
      contexts.set(t.label, await contextFor(t, PAINT_PROBE))
      // Warm-up navigations (not counted): the server's statement and page caches, the browser's code cache.
      for (let i = 0; i < 3; i++)
        await onePaint(contexts.get(t.label)!, url(t), `${t.label} warm-up`, errors.get(t.label)!)
    }
    const cpu0 = new Map(targets.map((t) => [t.label, cpuMs(t.pid)]))
    for (let i = 0; i < PAINTS; i++) {
      for (const t of targets) {
        if (mode === 'cold') {
          await contexts.get(t.label)!.close()
          contexts.set(t.label, await contextFor(t, PAINT_PROBE))
        }
        samples
          .get(t.label)!
          .push(
            await onePaint(
              contexts.get(t.label)!,
              url(t),
              `${t.label} ${mode} navigation ${i + 1}`,
              errors.get(t.label)!,
            ),
          )
      }
    }
    // Each navigation's requests (document, assets, /me, list, channels, members, the event stream opening).
    for (const t of targets) serverCpu.set(t.label, (cpuMs(t.pid) - cpu0.get(t.label)!) / PAINTS)
  } finally {
    for (const ctx of contexts.values()) await ctx.close().catch(() => {})
  }
  return { samples, serverCpu }
}

/** In the open thread: when each inbound bubble carrying a marker enters the DOM, and when its frame was painted. */
const BUBBLE_PROBE = `(() => {
  const seen = (window.__bubbles = {})
  const note = (article, t) => {
    const m = /\\u27e6bench (\\d+) [a-z0-9]+\\u27e7/.exec(article.textContent || '')
    if (!m || seen[m[1]]) return
    const rec = (seen[m[1]] = { dom: t, paint: null })
    requestAnimationFrame(() => setTimeout(() => { rec.paint = performance.now() }, 0))
  }
  new MutationObserver((records) => {
    const t = performance.now()
    for (const r of records) for (const n of r.addedNodes) {
      if (n.nodeType !== 1) continue
      if (n.matches('article[data-direction="in"]')) note(n, t)
      for (const a of n.querySelectorAll('article[data-direction="in"]')) note(a, t)
      const up = n.parentElement && n.parentElement.closest('article[data-direction="in"]')
      if (up) note(up, t)
    }
  }).observe(document.body, { childList: true, subtree: true })
})()`

async function bubbles(t: Target, meta: SeedMeta, errors: string[]) {
  const { base, label } = t
  const ch = meta.channels[meta.bubble.channelIndex]!
  const hook = `${base}/webhooks/whatsapp/${ch.id}`
  const run = Math.random().toString(36).slice(2, 8)
  const ctx = await contextFor(t)
  const page = await ctx.newPage()
  watchPage(page, errors)
  const post = async (i: number) => {
    const text = `${['Hallo, noch eine Frage zu meiner Bestellung', 'Is the parcel still coming today?', '¿Podéis cambiar la dirección de entrega?', 'ok 👍'][i % 4]} ⟦bench ${i} ${run}⟧`
    const m = inboundText(ch.phone, text, {
      from: meta.bubble.waId,
      name: meta.bubble.name,
      timestamp: Math.floor(Date.now() / 1000),
    })
    const s = signed(m.body, secretOf(ch.phone))
    const at = Date.now()
    const t0 = performance.now()
    const res = await fetch(hook, { method: 'POST', headers: s.headers, body: s.body })
    const postMs = performance.now() - t0
    if (res.status !== 200) throw new Error(`${label}: webhook ${i} answered ${res.status} ${await res.text()}`)
    return { at, postMs, wamid: m.id }
  }
  const seenCount = () =>
    page.evaluate(() => Object.keys((window as unknown as { __bubbles: object }).__bubbles).length)
  try {
    await page.goto(`${base}/w/${meta.workspaceId}/inbox/${meta.bubble.conversationId}`, {
      waitUntil: 'commit',
      timeout: 15_000,
    })
    try {
      await page.waitForSelector('[role=log] article', { timeout: 20_000 })
    } catch (err) {
      await failWith(
        page,
        `${label}: the open conversation's messages ([role=log] article) did not render within 20 s`,
        err,
      )
    }
    await page.evaluate(BUBBLE_PROBE)
    // Warm-up (not counted): proves the live stream is connected and the probe sees bubbles.
    const WARM = 3
    for (let i = 0; i < WARM; i++) {
      await post(1_000_000 + i)
      const deadline = Date.now() + 10_000
      while ((await seenCount()) < i + 1) {
        if (Date.now() > deadline)
          await failWith(
            page,
            `${label}: warm-up webhook ${i + 1} never showed as an inbound bubble (article[data-direction="in"] inside [role=log]) within 10 s`,
            new Error('no bubble'),
          )
        await sleep(50)
      }
    }
    await page.evaluate(() => {
      const b = (window as unknown as { __bubbles: Record<string, unknown> }).__bubbles
      for (const k of Object.keys(b)) delete b[k]
    })
    const sent: { at: number; postMs: number; wamid: string }[] = []
    const cdp = await ctx.newCDPSession(page)
    await cdp.send('Performance.enable')
    const busy0 = await mainThread(cdp)
    const cpu0 = cpuMs(t.pid)
    const start = performance.now() + 100
    for (let i = 0; i < BUBBLES; i++) {
      const wait = start + i * INTERVAL_MS - performance.now()
      if (wait > 0) await sleep(wait)
      sent.push(await post(i))
    }
    const deadline = Date.now() + 15_000
    while ((await seenCount()) < BUBBLES && Date.now() < deadline) await sleep(100)
    await sleep(100) // the last paint callbacks
    const busy1 = await mainThread(cdp)
    // Per bubble: the server's CPU (webhook, inbox processing, event stream, the page's GETs and mark-read) and
    // the renderer main thread's (event, fetches, re-rendering thread and list).
    const per = (k: keyof typeof busy0) => (busy1[k] - busy0[k]) / BUBBLES
    const cpu = {
      server: (cpuMs(t.pid) - cpu0) / BUBBLES,
      thread: per('thread'),
      process: per('process'),
      script: per('script'),
      layout: per('layout'),
    }
    const got = await page.evaluate(() => ({
      origin: performance.timeOrigin,
      seen: (window as unknown as { __bubbles: Record<string, { dom: number; paint: number | null }> }).__bubbles,
    }))
    const dom: number[] = []
    const paint: number[] = []
    const missing: number[] = []
    sent.forEach((s, i) => {
      const r = got.seen[String(i)]
      if (!r) {
        missing.push(i)
        return
      }
      dom.push(got.origin + r.dom - s.at)
      if (r.paint != null) paint.push(got.origin + r.paint - s.at)
    })
    return { dom, paint, missing, sent, post: sent.map((s) => s.postMs), origin: got.origin, seen: got.seen, cpu }
  } finally {
    await ctx.close().catch(() => {})
  }
}

async function listApi(base: string, wid: string, headers: Record<string, string>) {
  const url = `${base}/api/v1/workspaces/${wid}/conversations?status=open&limit=50`
  const times: number[] = []
  let rows = 0
  for (let i = 0; i < 220; i++) {
    const t0 = performance.now()
    const res = await fetch(url, { headers: { cookie: headers.cookie!, origin: base } })
    const body = (await res.json()) as { items: unknown[] }
    const t = performance.now() - t0
    if (res.status !== 200) throw new Error(`list API: ${res.status} ${JSON.stringify(body)}`)
    rows = body.items.length
    if (i >= 20) times.push(t)
  }
  return { times, rows }
}

/** CPU time (user + system) a process has used so far, in ms. */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // utime, stime in clock ticks (USER_HZ = 100)
}

/**
 * The renderer's CPU so far (Chrome's Performance domain), in ms: `thread` is the main thread's CPU time,
 * `process` the whole renderer's (raster and compositor threads included). Script and style + layout are the
 * main thread's time in those (wall time inside the task, so inflated when the machine is busy; small anyway).
 */
async function mainThread(
  cdp: CDPSession,
): Promise<{ thread: number; process: number; script: number; layout: number }> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] }
  const m = (name: string) => (metrics.find((x) => x.name === name)?.value ?? 0) * 1000
  return {
    thread: m('ThreadTime'),
    process: m('ProcessTime'),
    script: m('ScriptDuration') + m('V8CompileDuration'),
    layout: m('LayoutDuration') + m('RecalcStyleDuration'),
  }
}

const rssMb = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Math.round(Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024)
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

/** Writes back dirty pages (the seed, the copies) so their I/O does not land on the measurements' fsyncs. */
async function settle(): Promise<void> {
  const proc = Bun.spawn(['sync'], { stdout: 'ignore', stderr: 'ignore' })
  await Promise.race([proc.exited, sleep(120_000)])
  await sleep(1000)
}

async function measureAll(seeds: { label: string; seed: { dir: string; meta: SeedMeta } }[]) {
  const running: {
    label: string
    meta: SeedMeta
    dataDir: string
    server: Awaited<ReturnType<typeof startWabox>>
    target: Target
    headers: Record<string, string>
  }[] = []
  const errors = new Map(seeds.map((s) => [s.label, [] as string[]]))
  const loads: string[] = []
  try {
    for (const { label, seed: s } of seeds) {
      const dataDir = join(work!, `${label}-data`)
      log(`${label}: copying the seeded data directory`)
      cpSync(join(s.dir, 'data'), dataDir, { recursive: true })
      await settle()
      const server = await startWabox(binary, dataDir, join(work!, `${label}.log`))
      const session = await login(server.url)
      running.push({
        label,
        meta: s.meta,
        dataDir,
        server,
        target: { label, base: server.url, wid: s.meta.workspaceId, cookie: session.cookie, pid: server.proc.pid },
        headers: session.headers,
      })
      log(`${label}: ready in ${server.startToReadyMs} ms`)
    }
    await settle()
    loads.push(load())
    const api = new Map<string, Awaited<ReturnType<typeof listApi>>>()
    for (const r of running) {
      log(`${r.label}: list API`)
      api.set(r.label, await listApi(r.server.url, r.meta.workspaceId, r.headers))
    }
    log(`navigations, a fresh context each (load ${load()})`)
    const cold = await paints(
      'cold',
      running.map((r) => r.target),
      errors,
    )
    loads.push(load())
    log(`navigations, a fresh page each with cached assets (load ${load()})`)
    const warm = await paints(
      'warm',
      running.map((r) => r.target),
      errors,
    )
    loads.push(load())
    const out = []
    for (const r of running) {
      log(`${r.label}: ${BUBBLES} inbound webhooks, one every ${INTERVAL_MS} ms (load ${load()})`)
      const b = await bubbles(r.target, r.meta, errors.get(r.label)!)
      loads.push(load())
      const rss = rssMb(r.server.proc.pid)
      await r.server.stop()
      // Where a bubble's time went: webhook sent → stored by the inbox processor (messages.created_at) → in the DOM.
      const db = new Database(join(r.dataDir, 'wabox.db'), { readonly: true })
      const created = db.query(
        'SELECT created_at FROM messages WHERE workspace_id = ? AND channel_id = ? AND wamid = ?',
      )
      const stored: number[] = []
      const storedToDom: number[] = []
      b.sent.forEach((x, i) => {
        const row = created.get(r.meta.workspaceId, r.meta.channels[r.meta.bubble.channelIndex]!.id, x.wamid) as {
          created_at: string
        } | null
        if (!row) return
        const at = Date.parse(row.created_at)
        stored.push(at - x.at)
        const seen = b.seen[String(i)]
        if (seen) storedToDom.push(b.origin + seen.dom - at)
      })
      db.close()
      out.push({
        label: r.label,
        meta: r.meta,
        startToReadyMs: r.server.startToReadyMs,
        api: api.get(r.label)!,
        cold: cold.samples.get(r.label)!,
        warm: warm.samples.get(r.label)!,
        navCpu: { cold: cold.serverCpu.get(r.label)!, warm: warm.serverCpu.get(r.label)! },
        bubbles: b,
        stored,
        storedToDom,
        rss,
        errors: errors.get(r.label)!,
      })
    }
    return { results: out, loads }
  } finally {
    for (const r of running) await r.server.stop()
  }
}

// ---- the run ------------------------------------------------------------------------------------------

if (!existsSync(SOURCE_BINARY)) {
  console.error(`${SOURCE_BINARY} is missing: bun run build first`)
  process.exit(2)
}
if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing (apt-get install -y chromium)`)
  process.exit(2)
}
work = mkdtempSync(join(tmpdir(), 'wabox-bench-ui-'))
// A copy, so a rebuild of dist/wabox during the run does not change the binary under measurement.
const binary = join(work, 'wabox')
copyFileSync(SOURCE_BINARY, binary)
chmodSync(binary, 0o755)
const builtAt = statSync(SOURCE_BINARY).mtime.toISOString()

let exitCode = 0
try {
  graph = await startGraphDouble()
  for (const ch of CHANNELS) {
    graph.addNumber(ch.phone, { display: `+49 30 ${ch.phone.slice(-6)}`, verifiedName: `Bench ${ch.name}` })
    graph.addToken(tokenOf(ch.phone), [ch.phone])
  }
  const small = await seed('small', SMALL.conversations, SMALL.messages)
  const large = await seed('large', CONVERSATIONS, MESSAGES)
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 })
  const { results, loads } = await measureAll([
    { label: 'small', seed: small },
    { label: 'large', seed: large },
  ])
  await browser.close()
  browser = undefined
  mkdirSync(ARTIFACTS, { recursive: true })
  writeFileSync(
    join(ARTIFACTS, 'last-run.json'),
    JSON.stringify(
      {
        args: values,
        loads,
        results: results.map(({ bubbles: b, ...r }) => ({ ...r, bubbles: { ...b, seen: undefined } })),
      },
      null,
      1,
    ),
  )

  const [a, z] = results as [(typeof results)[number], (typeof results)[number]]
  const col = (f: (r: typeof a) => string) => `${f(a)} | ${f(z)}`
  const field = (samples: PaintSample[], f: (x: PaintSample) => number | null) =>
    samples.map(f).filter((x): x is number => x != null)
  const both = (f: (x: PaintSample) => number | null) =>
    `${col((r) => p50p99(field(r.cold, f)))} | ${col((r) => p50p99(field(r.warm, f)))}`
  const target = (ok: boolean) => (ok ? 'met' : '**missed**')
  const navP99 = pct(
    z.cold.map((x) => x.gotoToPaint),
    99,
  )
  const bubbleP99 = pct(z.bubbles.paint, 99)
  const commit = (await Bun.$`git -C ${ROOT} rev-parse --short HEAD`.quiet().nothrow()).stdout.toString().trim()
  const dirty = (await Bun.$`git -C ${ROOT} status --porcelain -- src ui migrations`.quiet().nothrow()).stdout
    .toString()
    .trim()
    ? ' + uncommitted changes in src/ui'
    : ''
  const mb = (n: number) => `${Math.round(n / 1048576)} MB`
  const since = (from: keyof PaintSample, to: keyof PaintSample) => (x: PaintSample) =>
    x[from] != null && x[to] != null ? (x[to] as number) - (x[from] as number) : null

  console.log(`
## bench/ui — ${new Date().toISOString().slice(0, 10)}, ${navigator.hardwareConcurrency} cores, commit ${commit}${dirty} (dist/wabox built ${builtAt})

\`bun bench/ui.ts --conversations ${CONVERSATIONS} --messages ${MESSAGES} --paints ${PAINTS} --bubbles ${BUBBLES} --interval ${INTERVAL_MS}\` — load average (1/5/15 min) before and after each phase: ${loads.join(' → ')}

| database | small (baseline) | large |
| --- | --- | --- |
| conversations / messages / contacts | ${col((r) => `${r.meta.conversations} / ${r.meta.messages} / ${r.meta.conversations}`)} |
| wabox.db size; seeded in | ${col((r) => `${mb(r.meta.dbBytes)}; ${r.meta.seedSeconds} s`)} |
| start → /readyz | ${col((r) => `${r.startToReadyMs} ms`)} |
| list API, first page (\`?status=open&limit=50\`, ${a.api.times.length} sequential requests) p50 / p99 | ${col((r) => p50p99(r.api.times))} |

**Navigation → first conversation row painted** (${PAINTS} navigations per column, small and large interleaved; p50 / p99, and the p99 of ${PAINTS} is the slowest). Rows marked "↳" are read in the page (Navigation/Resource Timing, ms since navigation start) and show where the time goes:

| measure | small, fresh context | large, fresh context | small, cached assets | large, cached assets |
| --- | --- | --- | --- | --- |
| **\`page.goto\` → row painted** (target ≤ 1000 ms: large, fresh context — ${target(navP99 <= 1000)}) | ${both((x) => x.gotoToPaint)} |
| ↳ document received | ${both((x) => x.docEnd)} |
| ↳ script received | ${both((x) => x.jsEnd)} |
| ↳ \`GET /api/v1/me\` sent | ${both((x) => x.meStart)} |
| ↳ \`GET /api/v1/me\` answered | ${both((x) => x.meEnd)} |
| ↳ list request sent | ${both((x) => x.listStart)} |
| ↳ list request, sent → answered | ${both(since('listStart', 'listEnd'))} |
| ↳ list answered | ${both((x) => x.listEnd)} |
| ↳ row in the DOM | ${both((x) => x.dom)} |
| ↳ row painted (rAF + task) | ${both((x) => x.paint)} |
| ↳ rows in the painted list (median) | ${[a.cold, z.cold, a.warm, z.warm]
    .map((v) =>
      pct(
        v.map((x) => x.rows),
        50,
      ),
    )
    .join(' | ')} |
| ↳ row painted (Element Timing renderTime) | ${both((x) => x.element)} |
| CPU: renderer main thread, page start → row painted | ${both((x) => x.thread)} |
| CPU: renderer process (all threads), page start → row painted | ${both((x) => x.process)} |
| ↳ main thread in script (incl. compile) / style + layout, p50 | ${[a.cold, z.cold, a.warm, z.warm]
    .map(
      (v) =>
        `${ms(
          pct(
            v.map((x) => x.script),
            50,
          ),
        )} / ${ms(
          pct(
            v.map((x) => x.layout),
            50,
          ),
        )} ms`,
    )
    .join(' | ')} |
| CPU: wabox per navigation (all its requests) | ${[a.navCpu.cold, z.navCpu.cold, a.navCpu.warm, z.navCpu.warm].map((v) => `${ms(v)} ms`).join(' | ')} |

**Inbound webhook → bubble on screen** (${BUBBLES} signed webhooks, one every ${INTERVAL_MS} ms, into an open conversation of ${a.meta.bubble.messages} / ${z.meta.bubble.messages} messages):

| measure | small (baseline) | large | target |
| --- | --- | --- | --- |
| **webhook sent → bubble painted** | ${col((r) => p50p99(r.bubbles.paint))} | p99 ≤ 500 ms — ${target(bubbleP99 <= 500)} |
| webhook sent → bubble in the DOM | ${col((r) => p50p99(r.bubbles.dom))} | |
| ↳ webhook POST answered (200) | ${col((r) => p50p99(r.bubbles.post))} | |
| ↳ webhook sent → message stored (\`messages.created_at\`) | ${col((r) => p50p99(r.stored))} | |
| ↳ stored → bubble in the DOM (event stream, \`GET …/messages/:id\`, render) | ${col((r) => p50p99(r.storedToDom))} | |
| CPU per bubble: wabox (webhook, processing, stream, the page's requests) | ${col((r) => `${r.bubbles.cpu.server.toFixed(1)} ms`)} | |
| CPU per bubble: renderer main thread / whole renderer process | ${col((r) => `${r.bubbles.cpu.thread.toFixed(1)} / ${r.bubbles.cpu.process.toFixed(1)} ms`)} | |
| ↳ main thread in script / style + layout, per bubble | ${col((r) => `${r.bubbles.cpu.script.toFixed(1)} / ${r.bubbles.cpu.layout.toFixed(1)} ms`)} | |
| bubbles missing after 15 s | ${col((r) => String(r.bubbles.missing.length))} | 0 |
| server RSS after the run | ${col((r) => `${r.rss} MB`)} | |
`)
  for (const r of results) {
    if (r.errors.length)
      log(`${r.label}: ${r.errors.length} browser console/page errors, first: ${r.errors.slice(0, 5).join(' | ')}`)
    if (r.bubbles.missing.length) {
      log(
        `${r.label}: ${r.bubbles.missing.length} bubbles never showed (first: ${r.bubbles.missing.slice(0, 10).join(', ')})`,
      )
      exitCode = 1
    }
    const samples = r.cold.length + r.warm.length
    if (samples !== 2 * PAINTS || r.bubbles.paint.length + r.bubbles.missing.length < BUBBLES) exitCode = 1
  }
} catch (err) {
  log(`failed: ${(err as Error).stack ?? err}`)
  exitCode = 1
} finally {
  await cleanup()
  clearTimeout(watchdog)
}
process.exit(exitCode)
