/**
 * bench/ingest: signed Cloud API webhook ingest against the compiled binary, compared in the same run with
 * a bare Bun.serve "ok" baseline driven by the same load generator (DESIGN §11).
 *
 *   bun run build && bun bench/ingest.ts [--seconds 10] [--connections 64]
 *
 * Measures: req/s and p50/p99 at 64 connections (durable ack, synchronous=FULL), the ratio to baseline, the
 * exactly-once check afterwards, ingest → visible-in-conversation latency at half the peak rate, idle and
 * peak RSS, and start → /readyz. Prints a Markdown summary.
 */
import BetterSqlite3 from 'better-sqlite3'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { startGraphDouble } from '../src/testing/graph-double.ts'
import { contact, envelope, messagesChange, signed, statusUpdate, textMessage } from '../src/testing/webhooks.ts'

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '64' } },
})
const SECONDS = Number(values.seconds)
const CONNECTIONS = Number(values.connections)
const ROOT = resolve(import.meta.dir, '..')
const BINARY = join(ROOT, 'dist/wabox')
const PHONE = '106540352242922'
const APP_SECRET = 'bench-app-secret'
const work = mkdtempSync(join(tmpdir(), 'wabox-bench-'))

const sleep = (ms: number) => Bun.sleep(ms)
const rssOf = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0)
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) }
}

async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, fetch: () => new Response() })
  const port = s.port!
  s.stop(true)
  return port
}

async function waitReady(url: string, timeoutMs = 10_000): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < timeoutMs) {
    try {
      if ((await fetch(url)).status === 200) return performance.now() - t0
    } catch {
      // not listening yet
    }
    await sleep(5)
  }
  throw new Error(`${url} not ready`)
}

async function loadgen(job: Record<string, unknown>) {
  const file = join(work, `job-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, JSON.stringify(job))
  const proc = Bun.spawn(['bun', join(ROOT, 'bench/loadgen.ts'), file], { stdout: 'pipe', stderr: 'inherit' })
  const out = await new Response(proc.stdout).text()
  await proc.exited
  return JSON.parse(out.trim()) as {
    requests: number
    sent: number
    non2xx: number
    errors: number
    seconds: number
    rps: number
    p50: number
    p99: number
  }
}

/** Pre-signed, real-shaped bodies: message batches (1–3 messages), status batches, ~10% exact repeats. */
function corpus(n: number, channelPrefix: string) {
  const items: { body: string; headers: Record<string, string> }[] = []
  const wamids: string[] = []
  for (let i = 0; i < n; i++) {
    if (i > 20 && i % 10 === 0) {
      items.push(items[(i * 7919) % items.length]!)
      continue
    }
    if (i % 5 === 4 && wamids.length > 0) {
      items.push(
        signed(
          statusUpdate(PHONE, wamids[(i * 31) % wamids.length]!, ['sent', 'delivered', 'read'][i % 3]!),
          APP_SECRET,
        ),
      )
      continue
    }
    const from = `49${channelPrefix}${String(i % 5000).padStart(6, '0')}`
    const messages = Array.from({ length: 1 + (i % 3) }, (_, k) =>
      textMessage(`hello ${i}-${k} — ¿qué tal?`, { from, timestamp: 1749416383 + i }),
    )
    wamids.push(...messages.map((m) => m.id))
    items.push(
      signed(
        envelope([messagesChange(PHONE, { contacts: [contact(from, `Customer ${i % 5000}`)], messages })]),
        APP_SECRET,
      ),
    )
  }
  return { items, wamids }
}

// ---- baseline: bare Bun.serve "ok" -------------------------------------------------------------------
const basePort = await freePort()
const baseline = Bun.spawn(
  ['bun', '-e', `Bun.serve({ port: ${basePort}, hostname: '127.0.0.1', fetch: () => new Response('ok') })`],
  { stdout: 'ignore', stderr: 'inherit' },
)
await waitReady(`http://127.0.0.1:${basePort}/`)
const warm = corpus(2000, '1')
const warmFile = join(work, 'warm.json')
writeFileSync(warmFile, JSON.stringify(warm.items))
await loadgen({ url: `http://127.0.0.1:${basePort}/`, corpus: warmFile, concurrency: CONNECTIONS, durationMs: 1000 })
const base = await loadgen({
  url: `http://127.0.0.1:${basePort}/`,
  corpus: warmFile,
  concurrency: CONNECTIONS,
  durationMs: SECONDS * 1000,
})
baseline.kill()

// ---- wabox -------------------------------------------------------------------------------------------
const graph = await startGraphDouble()
graph.addNumber(PHONE)
graph.addToken('EAAGbench-token', [PHONE])
const dataDir = join(work, 'data')
const create = Bun.spawn([BINARY, 'operator', 'create', '--email', 'op@example.com', '--data-dir', dataDir], {
  stdin: new TextEncoder().encode('bench password 123\n'),
  stdout: 'ignore',
})
await create.exited
const port = await freePort()
const serverArgs = [
  BINARY,
  '--data-dir',
  dataDir,
  '--port',
  String(port),
  '--host',
  '127.0.0.1',
  '--graph-base-url',
  graph.url,
  '--rate-limit',
  '100000/1s',
]
const startedAt = performance.now()
const server = Bun.spawn(serverArgs, { stdout: Bun.file(join(work, 'wabox.log')), stderr: 'ignore' })
const url = `http://127.0.0.1:${port}`
await waitReady(`${url}/readyz`)
const startToReady = Math.round(performance.now() - startedAt)
await sleep(500)
const idle = rssOf(server.pid)

const login = await fetch(`${url}/api/v1/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email: 'op@example.com', password: 'bench password 123' }),
})
const session = {
  cookie: login.headers.get('set-cookie')!.split(';')[0]!,
  origin: url,
  'content-type': 'application/json',
}
const ws = (await (await fetch(`${url}/api/v1/me`, { headers: session })).json()).memberships[0].workspaceId
const channel = await (
  await fetch(`${url}/api/v1/workspaces/${ws}/channels`, {
    method: 'POST',
    headers: session,
    body: JSON.stringify({
      name: 'Bench',
      accessToken: 'EAAGbench-token',
      phoneNumberId: PHONE,
      wabaId: '102290129340398',
      appSecret: APP_SECRET,
    }),
  })
).json()
const hook = `${url}/webhooks/whatsapp/${channel.channel.id}`

// Enough distinct bodies that the run mostly sends new events (about 10% repeats, by construction).
const load = corpus(Math.max(5000, Math.round(base.rps * SECONDS * 0.5)), '2')
const loadFile = join(work, 'load.json')
writeFileSync(loadFile, JSON.stringify(load.items))
const ingest = await loadgen({
  url: hook,
  corpus: loadFile,
  concurrency: CONNECTIONS,
  durationMs: SECONDS * 1000,
  once: true,
})
const underLoad = rssOf(server.pid)

// The peak run leaves a backlog (acknowledging comes first); let it drain before the next phase.
const backlogStarted = performance.now()
const reader = new BetterSqlite3(join(dataDir, 'wabox.db'), { readonly: true })
while ((reader.prepare("SELECT count(*) AS n FROM intake_events WHERE state = 'pending'").get() as { n: number }).n > 0)
  await sleep(50)
reader.close()
const backlogDrainMs = Math.round(performance.now() - backlogStarted)

// ---- ingest → visible at half the peak rate ----------------------------------------------------------
const half = Math.max(50, Math.round(ingest.rps / 2))
const visible = corpus(Math.round(half * 5), '3')
const visibleFile = join(work, 'visible.json')
writeFileSync(visibleFile, JSON.stringify(visible.items))
const paced = await loadgen({
  url: hook,
  corpus: visibleFile,
  concurrency: CONNECTIONS,
  durationMs: 5000,
  rate: half,
  once: true,
})
const peak = rssOf(server.pid)

// Graceful stop drains the inbox; then check exactly-once straight from the database.
server.kill('SIGTERM')
await server.exited
const db = new BetterSqlite3(join(dataDir, 'wabox.db'), { readonly: true })
const sentItems = [...load.items.slice(0, ingest.sent), ...visible.items.slice(0, paced.sent)]
const sentWamids = new Set<string>()
for (const item of sentItems) {
  for (const e of JSON.parse(item.body).entry)
    for (const c of e.changes) for (const m of c.value.messages ?? []) sentWamids.add(m.id)
}
const rows = db.prepare('SELECT wamid, count(*) AS n FROM messages GROUP BY wamid').all() as {
  wamid: string
  n: number
}[]
const stored = new Map(rows.map((r) => [r.wamid, r.n]))
const missing = [...sentWamids].filter((w) => !stored.has(w)).length
const doubled = rows.filter((r) => r.n > 1).length
const pending = (
  db.prepare("SELECT count(*) AS n FROM intake_events WHERE state != 'processed'").get() as { n: number }
).n
const visibleSet = new Set(visible.wamids)
const lag = (
  db
    .prepare(
      "SELECT m.wamid AS wamid, (julianday(m.created_at) - julianday(i.received_at)) * 86400000 AS ms FROM messages m JOIN intake_events i ON i.idempotency_key IS NOT NULL AND json_extract(i.payload, '$.wamid') = m.wamid",
    )
    .all() as { wamid: string; ms: number }[]
)
  .filter((r) => visibleSet.has(r.wamid))
  .map((r) => r.ms)
  .sort((a, b) => a - b)
db.close()
graph.stop()
const p = (arr: number[], q: number) =>
  Math.round((arr[Math.min(arr.length - 1, Math.floor((q / 100) * arr.length))] ?? 0) * 10) / 10

const ratio = Math.round((ingest.rps / base.rps) * 100) / 100
console.log(`
## bench/ingest — ${new Date().toISOString().slice(0, 10)}, ${SECONDS}s at ${CONNECTIONS} connections, ${navigator.hardwareConcurrency} cores

| measure | baseline (Bun.serve "ok") | wabox signed ingest | target |
| --- | --- | --- | --- |
| requests/s | ${base.rps} | ${ingest.rps} (${ratio} × baseline) | ≥ 0.20 × baseline |
| p50 / p99 latency | ${base.p50} / ${base.p99} ms | ${ingest.p50} / ${ingest.p99} ms | p99 ≤ 25 ms |
| non-2xx / errors | ${base.non2xx} / ${base.errors} | ${ingest.non2xx} / ${ingest.errors} | 0 |
| exactly-once after the run | | ${sentWamids.size} distinct wamids sent, ${missing} missing, ${doubled} duplicated, ${pending} unprocessed | 0 / 0 / 0 |
| backlog left by the peak run, drained in | | ${backlogDrainMs} ms | |
| ingest → visible in conversation at ${half} req/s (half the peak) | | p50 ${p(lag, 50)} ms, p99 ${p(lag, 99)} ms (${lag.length} messages; paced run p99 ${paced.p99} ms) | p99 ≤ 100 ms |
| RSS idle / under ingest (peak) | | ${idle.rssMb} MB / ${underLoad.rssMb} MB (${peak.peakMb} MB) | ≤ 120 / ≤ 300 MB |
| start → /readyz (small database) | | ${startToReady} ms | ≤ 500 ms |
`)
rmSync(work, { recursive: true, force: true })
