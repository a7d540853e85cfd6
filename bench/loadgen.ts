/**
 * A small HTTP load generator (a separate process, so it competes for the CPU the same way for every
 * target). Closed loop: `concurrency` workers each send their next request as soon as the last answered.
 * Open loop (`rate`): requests start on a fixed schedule whatever the answers do.
 *
 *   bun bench/loadgen.ts <job.json>   → prints one JSON line of results
 */
export {}

type Job = {
  url: string
  corpus: string // path of a JSON array of { body, headers }
  concurrency: number
  durationMs: number
  rate?: number
  /** Send each corpus item at most once (in order), stopping when the corpus runs out. */
  once?: boolean
}

const job = (await Bun.file(process.argv[2]!).json()) as Job
const corpus = (await Bun.file(job.corpus).json()) as { body: string; headers: Record<string, string> }[]
const latencies: number[] = []
let next = 0
let non2xx = 0
let errors = 0
const started = performance.now()
const deadline = started + job.durationMs

async function one(item: { body: string; headers: Record<string, string> }) {
  const t0 = performance.now()
  try {
    const res = await fetch(job.url, { method: 'POST', headers: item.headers, body: item.body })
    await res.arrayBuffer()
    if (res.status < 200 || res.status >= 300) non2xx++
    latencies.push(performance.now() - t0)
  } catch {
    errors++
  }
}

const take = () => {
  if (job.once && next >= corpus.length) return null
  return corpus[next++ % corpus.length]!
}

if (job.rate) {
  const interval = 1000 / job.rate
  const inflight: Promise<void>[] = []
  for (let i = 0; performance.now() < deadline; i++) {
    const due = started + i * interval
    const wait = due - performance.now()
    if (wait > 0) await Bun.sleep(wait)
    const item = take()
    if (!item) break
    inflight.push(one(item))
  }
  await Promise.all(inflight)
} else {
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (performance.now() < deadline) {
        const item = take()
        if (!item) return
        await one(item)
      }
    }),
  )
}

const elapsed = (performance.now() - started) / 1000
latencies.sort((a, b) => a - b)
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0
console.log(
  JSON.stringify({
    requests: latencies.length,
    sent: next,
    non2xx,
    errors,
    seconds: Math.round(elapsed * 100) / 100,
    rps: Math.round(latencies.length / elapsed),
    p50: Math.round(pct(50) * 100) / 100,
    p99: Math.round(pct(99) * 100) / 100,
  }),
)
