/**
 * A loopback stand-in for graph.facebook.com that behaves as reference/cloud-api.md describes Meta: Bearer
 * auth (190 / HTTP 401 when missing or unknown), the version in the path, Graph-shaped errors (§3.9),
 * phone-number lookup, media URL + download (Bearer and User-Agent required, §4.2–4.3). It records every
 * call and can be told to fail the next matching calls (error codes, 5xx, timeouts). wabox talks to it
 * through its real Graph client (WABOX_GRAPH_BASE_URL).
 */
import { createHash } from 'node:crypto'

type Failure = { path: RegExp; times: number; status?: number; code?: number; message?: string; delayMs?: number }
export type GraphCall = { method: string; path: string; authorization: string | null; userAgent: string | null; body: string }

export type GraphDouble = Awaited<ReturnType<typeof startGraphDouble>>

const graphError = (status: number, code: number, message: string, extra: Record<string, unknown> = {}) =>
  Response.json({ error: { message, type: 'OAuthException', code, fbtrace_id: `A${Math.random().toString(36).slice(2, 12)}`, ...extra } }, { status })

export async function startGraphDouble(opts: { version?: string } = {}) {
  const version = opts.version ?? 'v24.0'
  const tokens = new Map<string, Set<string>>()
  const numbers = new Map<string, { display: string; verifiedName: string; quality: string }>()
  const media = new Map<string, { bytes: Uint8Array; mime: string }>()
  const failures: Failure[] = []
  const calls: GraphCall[] = []

  let port = 0
  const server: { port?: number; stop: (force?: boolean) => unknown } = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req): Promise<Response> {
      const url = new URL(req.url)
      const body = req.method === 'GET' ? '' : await req.text()
      const authorization = req.headers.get('authorization')
      calls.push({ method: req.method, path: url.pathname + url.search, authorization, userAgent: req.headers.get('user-agent'), body })

      const failure = failures.find((f) => f.times > 0 && f.path.test(url.pathname))
      if (failure) {
        failure.times--
        if (failure.delayMs) await Bun.sleep(failure.delayMs)
        if (failure.status) return graphError(failure.status, failure.code ?? 1, failure.message ?? 'An unknown error occurred')
      }

      const token = authorization?.match(/^Bearer (.+)$/)?.[1]
      if (!token) return graphError(401, 190, 'An access token is required to request this resource.')
      if (!tokens.has(token)) return graphError(401, 190, 'Invalid OAuth access token - Cannot parse access token')
      const allowed = tokens.get(token)!

      if (url.pathname.startsWith('/media-download/')) {
        if (!req.headers.get('user-agent')) return new Response('Forbidden', { status: 403 })
        const item = media.get(url.pathname.slice('/media-download/'.length))
        if (!item) return new Response('Not found', { status: 404 })
        return new Response(item.bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': item.mime } })
      }

      const [, ver, id, edge] = url.pathname.split('/')
      if (ver !== version) return graphError(400, 2500, `Unknown path components: /${ver}`)
      if (req.method === 'GET' && id && !edge && numbers.has(id)) {
        if (!allowed.has(id)) return graphError(400, 100, `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, { error_subcode: 33 })
        const n = numbers.get(id)!
        return Response.json({ id, display_phone_number: n.display, verified_name: n.verifiedName, quality_rating: n.quality })
      }
      if (req.method === 'GET' && id && !edge && media.has(id)) {
        const item = media.get(id)!
        return Response.json({
          messaging_product: 'whatsapp',
          url: `http://127.0.0.1:${port}/media-download/${id}?ext=1715002111&hash=ATuQ`,
          mime_type: item.mime,
          sha256: createHash('sha256').update(item.bytes).digest('hex'),
          file_size: String(item.bytes.length),
          id,
        })
      }
      return graphError(400, 100, `Unsupported ${req.method.toLowerCase()} request. Object with ID '${id}' does not exist.`, { error_subcode: 33 })
    },
  })

  port = server.port!
  return {
    url: `http://127.0.0.1:${port}`,
    version,
    calls,
    /** A token that can see the given phone numbers. */
    addToken(token: string, phoneNumberIds: string[] = []) {
      tokens.set(token, new Set([...(tokens.get(token) ?? []), ...phoneNumberIds]))
    },
    revokeToken(token: string) {
      tokens.delete(token)
    },
    addNumber(phoneNumberId: string, info: { display?: string; verifiedName?: string; quality?: string } = {}) {
      numbers.set(phoneNumberId, { display: info.display ?? '+1 555-078-3881', verifiedName: info.verifiedName ?? 'Acme Support', quality: info.quality ?? 'GREEN' })
    },
    addMedia(mediaId: string, bytes: Uint8Array, mime: string) {
      media.set(mediaId, { bytes, mime })
    },
    /** The next `times` calls whose path matches fail this way (or wait `delayMs`, for timeouts). */
    failNext(f: Failure) {
      failures.push({ ...f })
    },
    stop: () => server.stop(true),
  }
}
