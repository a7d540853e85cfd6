/**
 * Issue 13 item 13: every outbound HTTP client wabox runs stays inside its limits against a misbehaving peer — a
 * raw TCP server on 127.0.0.1 that trickles a body one byte a second, stalls its headers, redirects forever, sends
 * endless headers or an endless body. The real clients are driven: the Graph API client (JSON calls and inbound
 * media downloads, which the media service runs through `graph.download`), webhook deliveries (the dispatcher) and
 * QR media links (`fetchPublic`). Short deadlines come from each client's configuration.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { createServer, type Socket } from 'node:net'
import { createGraphClient, GRAPH_MAX_JSON_BYTES, GRAPH_MAX_REDIRECTS } from '../channels/cloud/graph.ts'
import { fetchPublic } from '../lib/url-guard.ts'
import { startGraphDouble } from '../testing/graph-double.ts'
import { call, makeKey, makeUser, makeWorkspace } from '../testing/fixtures.ts'
import { createTestApp } from '../testing/test-app.ts'

const DEADLINE_MS = 800
/** What the peer did: requests per behaviour, bytes it managed to write per behaviour. */
const hits = new Map<string, number>()
const written = new Map<string, number>()
const sockets = new Set<Socket>()

function behaviourOf(path: string): string {
  for (const b of ['trickle', 'stall', 'slowhop', 'loop', 'headers', 'endless', 'declared'])
    if (path.includes(b)) return b
  return 'unknown'
}

const peer = createServer((sock) => {
  sockets.add(sock)
  sock.on('error', () => {})
  sock.on('close', () => sockets.delete(sock))
  let head = ''
  const onData = (d: Buffer) => {
    head += d.toString('latin1')
    if (!head.includes('\r\n\r\n')) return
    sock.off('data', onData)
    const path = head.split(' ')[1] ?? '/'
    const b = behaviourOf(path)
    hits.set(b, (hits.get(b) ?? 0) + 1)
    const write = (chunk: string | Buffer) => {
      if (sock.destroyed) return false
      written.set(b, (written.get(b) ?? 0) + chunk.length)
      return sock.write(chunk)
    }
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(() => (sock.destroyed ? clearInterval(t) : fn()), ms)
      sock.on('close', () => clearInterval(t))
    }
    /** Writes `chunk` again whenever the socket drains, until the client goes away. */
    const flood = (chunk: Buffer) => {
      const go = () => {
        while (write(chunk));
        if (!sock.destroyed) sock.once('drain', go)
      }
      go()
    }
    switch (b) {
      case 'trickle': // headers at once, then a 100-byte body one byte a second
        write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{')
        every(1000, () => write(' '))
        break
      case 'stall': // the status line never completes
        every(300, () => write('H'))
        break
      case 'slowhop': // each hop waits 300 ms, then redirects to the next
        setTimeout(
          () =>
            write(
              `HTTP/1.1 302 Found\r\nlocation: /slowhop${Math.random()}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
            ) && sock.end(),
          300,
        )
        break
      case 'loop':
        write(`HTTP/1.1 302 Found\r\nlocation: /loop/${hits.get(b)}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`)
        sock.end()
        break
      case 'headers': // endless 8 KB header lines
        write('HTTP/1.1 200 OK\r\n')
        flood(Buffer.from(`x-junk: ${'a'.repeat(8 * 1024)}\r\n`))
        break
      case 'endless': // a body without a length that never ends
        write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n')
        flood(Buffer.alloc(64 * 1024, 0x20))
        break
      case 'declared': // declares 1 GB
        write('HTTP/1.1 200 OK\r\ncontent-type: image/jpeg\r\ncontent-length: 1000000000\r\nconnection: close\r\n\r\n')
        flood(Buffer.alloc(64 * 1024, 0x20))
        break
      default:
        write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
        sock.end()
    }
  }
  sock.on('data', onData)
}).listen(0, '127.0.0.1')
await new Promise((r) => peer.once('listening', r))
const base = `http://127.0.0.1:${(peer.address() as { port: number }).port}`
afterAll(() => {
  for (const s of sockets) s.destroy()
  peer.close()
})

const reset = () => {
  hits.clear()
  written.clear()
}
/** Runs `p`, resolving with what it threw (or 'no error') and how long it took. */
async function outcome(p: Promise<unknown>): Promise<{ error: string; ms: number }> {
  const t0 = performance.now()
  const error = await p.then(
    () => 'no error',
    (e: Error) => `${e.name}: ${e.message}`,
  )
  return { error, ms: performance.now() - t0 }
}
/** Bytes the peer got to write for `b`: what the kernel's buffers and the client's cap allow, not without bound. */
const wrote = (b: string) => written.get(b) ?? 0
const MB = 1024 * 1024

describe('the Graph API client (JSON calls and media downloads) against a hostile peer', () => {
  const graph = createGraphClient({ baseUrl: base, version: 'v24.0', timeoutMs: DEADLINE_MS })

  test('a body that trickles, or headers that never end, are ended by the deadline', async () => {
    reset()
    const trickle = await outcome(graph.getPhoneNumber('t', 'trickle'))
    expect(trickle.error).toBe(`GraphError: Graph API did not answer within ${DEADLINE_MS} ms`)
    expect(trickle.ms).toBeLessThan(DEADLINE_MS + 700)
    const download = await outcome(graph.download('t', `${base}/media/trickle`, 10 * MB))
    expect(download.error).toBe(`GraphError: Graph API did not answer within ${DEADLINE_MS} ms`)
    expect(download.ms).toBeLessThan(DEADLINE_MS + 700)
    const stall = await outcome(graph.getMedia('t', 'stall'))
    expect(stall.error).toBe(`GraphError: Graph API did not answer within ${DEADLINE_MS} ms`)
    expect(stall.ms).toBeLessThan(DEADLINE_MS + 700)
    // One deadline for the whole call: redirects that each take 300 ms do not each get a fresh one.
    const slow = await outcome(graph.download('t', `${base}/slowhop`, MB))
    expect(slow.error).toBe(`GraphError: Graph API did not answer within ${DEADLINE_MS} ms`)
    expect(slow.ms).toBeLessThan(DEADLINE_MS + 700)
  })

  test(`endless redirects: a GET follows at most ${GRAPH_MAX_REDIRECTS}, a POST none`, async () => {
    reset()
    const download = await outcome(graph.download('t', `${base}/loop`, MB))
    expect(download.error).toBe(`GraphError: Graph API redirected more than ${GRAPH_MAX_REDIRECTS} times`)
    expect(hits.get('loop')).toBe(GRAPH_MAX_REDIRECTS + 1)
    reset()
    const send = await outcome(
      graph.sendMessage('t', 'loop', { messaging_product: 'whatsapp', to: '1', type: 'text', text: { body: 'x' } }),
    )
    expect(send.error).toBe('GraphError: Graph API answered HTTP 302')
    expect(hits.get('loop')).toBe(1)
  })

  test('endless response headers are refused without buffering them', async () => {
    reset()
    const r = await outcome(graph.getPhoneNumber('t', 'headers'))
    expect(r.error).toBe('GraphError: Graph API unreachable')
    expect(r.ms).toBeLessThan(DEADLINE_MS)
    expect(wrote('headers')).toBeLessThan(16 * MB)
  })

  test('a body larger than the cap is stopped at the cap while it streams', async () => {
    reset()
    const json = await outcome(graph.getPhoneNumber('t', 'endless'))
    expect(json.error).toBe(`GraphError: Graph API answer larger than ${GRAPH_MAX_JSON_BYTES} bytes`)
    expect(wrote('endless')).toBeLessThan(GRAPH_MAX_JSON_BYTES + 16 * MB)
    reset()
    const media = await outcome(graph.download('t', `${base}/media/endless`, 256 * 1024))
    expect(media.error).toBe('GraphError: media larger than 262144 bytes')
    expect(media.ms).toBeLessThan(DEADLINE_MS)
    expect(wrote('endless')).toBeLessThan(256 * 1024 + 16 * MB)
    reset()
    const declared = await outcome(graph.download('t', `${base}/media/declared`, 256 * 1024))
    expect(declared.error).toBe('GraphError: media larger than 262144 bytes')
    expect(wrote('declared')).toBeLessThan(16 * MB)
  })
})

describe('QR media links (fetchPublic) against a hostile peer', () => {
  const opts = { allowHttp: true, allowedNetworks: ['127.0.0.0/8'], timeoutMs: DEADLINE_MS, maxBytes: 256 * 1024 }

  test('trickling bodies, stalled headers and slow redirect chains end at one deadline', async () => {
    reset()
    for (const path of ['/trickle', '/stall', '/slowhop']) {
      const r = await outcome(fetchPublic(`${base}${path}`, opts))
      expect({ path, error: r.error }).toEqual({
        path,
        error: `UrlRefused: the link did not answer within ${DEADLINE_MS} ms`,
      })
      expect(r.ms).toBeLessThan(DEADLINE_MS + 700)
    }
  })

  test('redirects: a bounded number of checked hops; endless headers refused; bodies stopped at the cap', async () => {
    reset()
    expect((await outcome(fetchPublic(`${base}/loop`, opts))).error).toBe(
      'UrlRefused: the link redirects too many times',
    )
    expect(hits.get('loop')).toBe(4)
    const headers = await outcome(fetchPublic(`${base}/headers`, opts))
    expect(headers.error).toMatch(/ResponseHeadersTooLarge|header/i)
    expect(wrote('headers')).toBeLessThan(16 * MB)
    const endless = await outcome(fetchPublic(`${base}/endless`, opts))
    expect(endless.error).toBe('UrlRefused: the linked file is larger than 262144 bytes')
    expect(wrote('endless')).toBeLessThan(256 * 1024 + 16 * MB)
    expect((await outcome(fetchPublic(`${base}/declared`, opts))).error).toBe(
      'UrlRefused: the linked file is larger than 262144 bytes',
    )
  })
})

describe('webhook deliveries (the dispatcher) against a hostile peer', () => {
  test('each attempt ends within --webhook-timeout; redirects are not followed; headers and bodies stay bounded', async () => {
    const graphDouble = await startGraphDouble()
    const t = await createTestApp({
      graph: graphDouble,
      config: { webhookAllowHttp: true, webhookAllowedNetworks: ['127.0.0.0/8'], webhookTimeout: DEADLINE_MS },
    })
    try {
      const owner = await makeUser(t, 'owner@example.com')
      const ws = await makeWorkspace(t, 'Acme', owner)
      await makeKey(t, ws, owner, 'admin')
      const attempt = async (path: string) => {
        const created = await t.request(
          `/api/v1/workspaces/${ws}/webhooks`,
          call(owner.who, 'POST', { url: `${base}${path}`, eventTypes: ['*'], description: path }),
        )
        expect(created.status).toBe(201)
        const id = ((await created.json()) as { endpoint: { id: string } }).endpoint.id
        expect(
          (await t.request(`/api/v1/workspaces/${ws}/webhooks/${id}/test`, call(owner.who, 'POST'))).status,
        ).toBeLessThan(300)
        const t0 = performance.now()
        await t.runtime.dispatcher.drain()
        const ms = performance.now() - t0
        const log = (await (
          await t.request(`/api/v1/workspaces/${ws}/webhook-deliveries?endpointId=${id}`, call(owner.who, 'GET'))
        ).json()) as {
          items: {
            state: string
            log: { statusCode: number | null; error: string | null; responseExcerpt?: string; excerpt?: string }[]
          }[]
        }
        return { ms, delivery: log.items[0]!, first: log.items[0]!.log[0]! }
      }
      reset()
      const stall = await attempt('/stall')
      expect(stall.first).toMatchObject({ statusCode: null, error: `no answer within ${DEADLINE_MS} ms` })
      expect(stall.ms).toBeLessThan(DEADLINE_MS + 700)
      // A 200 whose body then trickles: the answer counts, the excerpt is what arrived before the deadline.
      const trickle = await attempt('/trickle')
      expect(trickle.first.statusCode).toBe(200)
      expect(trickle.ms).toBeLessThan(DEADLINE_MS + 700)
      const loop = await attempt('/loop')
      expect(loop.first.statusCode).toBe(302)
      expect(loop.delivery.state).not.toBe('delivered')
      expect(hits.get('loop')).toBe(1)
      const headers = await attempt('/headers')
      expect(headers.first).toMatchObject({ statusCode: null, error: expect.stringMatching(/^request failed: /) })
      expect(wrote('headers')).toBeLessThan(16 * MB)
      const endless = await attempt('/endless')
      expect(endless.first.statusCode).toBe(200)
      expect(endless.ms).toBeLessThan(DEADLINE_MS + 700)
      expect(wrote('endless')).toBeLessThan(16 * MB)
    } finally {
      await t.close()
      graphDouble.stop()
    }
  })
})
