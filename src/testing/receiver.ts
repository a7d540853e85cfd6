/**
 * A webhook receiver on loopback, as a customer's integration would run one: it records every request and
 * checks its signature with the standardwebhooks library against the secrets it was given. `respond` decides
 * the answer (status code), so tests can make it fail, recover or hang.
 */
import { Webhook } from 'standardwebhooks'

export type Received = {
  path: string
  id: string
  timestamp: string
  signature: string
  body: string
  json: { id: string; type: string; timestamp: string; data: Record<string, unknown>; workspaceId: string }
  at: number
  verified: boolean
  status: number
}

export function startReceiver(
  opts: {
    secrets?: () => string[] /** `n`: how many requests with this webhook-id came before (0 on the first). */
    respond?: (n: number, r: Received) => number | Promise<number>
  } = {},
) {
  const received: Received[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const body = await req.text()
      const headers = {
        'webhook-id': req.headers.get('webhook-id') ?? '',
        'webhook-timestamp': req.headers.get('webhook-timestamp') ?? '',
        'webhook-signature': req.headers.get('webhook-signature') ?? '',
      }
      const verified = (opts.secrets?.() ?? []).some((secret) => {
        try {
          new Webhook(secret).verify(body, headers)
          return true
        } catch {
          return false
        }
      })
      const r: Received = {
        path: new URL(req.url).pathname,
        id: headers['webhook-id'],
        timestamp: headers['webhook-timestamp'],
        signature: headers['webhook-signature'],
        body,
        json: JSON.parse(body),
        at: Date.now(),
        verified,
        status: 200,
      }
      const before = received.filter((x) => x.id === r.id).length
      // Recorded on arrival: a request still being answered has been received.
      received.push(r)
      r.status = (await opts.respond?.(before, r)) ?? 200
      return new Response(r.status < 300 ? 'thanks' : `no: ${'x'.repeat(3000)}`, { status: r.status })
    },
  })
  return { url: `http://127.0.0.1:${server.port}/hook`, received, stop: () => server.stop(true) }
}

/** Verifies one recorded delivery with one secret (true/false), the way a receiver would. */
export function verifiesWith(r: Received, secret: string): boolean {
  try {
    new Webhook(secret).verify(r.body, {
      'webhook-id': r.id,
      'webhook-timestamp': r.timestamp,
      'webhook-signature': r.signature,
    })
    return true
  } catch {
    return false
  }
}
