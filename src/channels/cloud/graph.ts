/**
 * The Graph API client for the Cloud API: the one code path that talks to Meta, in production and in tests
 * (where WABOX_GRAPH_BASE_URL points at the loopback double in src/testing/graph-double.ts).
 * Every response is parsed by a Zod schema; every failure becomes a GraphError that knows whether it is
 * worth retrying and whether it means the token no longer works (reference/cloud-api.md §3.9–3.10).
 */
import { z } from 'zod'
import { readAtMost } from '../../lib/read-body.ts'

/** Meta's codes worth another try whatever the HTTP status: throttling, and Meta's own transient trouble. */
const RETRYABLE_CODES = new Set([1, 2, 4, 80007, 80008, 130429, 131056, 131000, 131016, 131057, 133004])
const AUTH_CODES = new Set([0, 190])

/**
 * The app lost a permission it needs (3 capability, 10 permission denied, 200–299 API permissions): the token
 * still parses, but it cannot do this any more until someone grants the permission again — as good as a revoked
 * token to the operator, so it is reported like one.
 */
export const isPermissionCode = (code: number) => code === 3 || code === 10 || (code >= 200 && code <= 299)

/**
 * Codes that say the request itself will never succeed: parameters, tokens, permissions, policy blocks and
 * every WhatsApp business-messaging code (13xxxx) that is not a transient one. Meta sends some of them with a
 * 5xx (code 3 comes back as HTTP 500), so the code decides, not the status; an unknown code on a 5xx is retried.
 */
function isPermanentCode(code: number): boolean {
  if (RETRYABLE_CODES.has(code)) return false
  return (
    AUTH_CODES.has(code) ||
    isPermissionCode(code) ||
    code === 100 ||
    code === 368 ||
    (code >= 130_000 && code <= 139_999)
  )
}

export class GraphError extends Error {
  override name = 'GraphError'
  constructor(
    readonly httpStatus: number,
    /** Meta's error code, or -1 for a network failure / timeout / unreadable answer. */
    readonly code: number,
    message: string,
    readonly details: string | null = null,
    readonly fbtraceId: string | null = null,
  ) {
    super(message)
  }
  /** The channel's credentials no longer do the job: a refused token, or a permission taken away. */
  get authFailure(): boolean {
    return this.httpStatus === 401 || AUTH_CODES.has(this.code) || isPermissionCode(this.code)
  }
  get retryable(): boolean {
    if (this.code === -1 || RETRYABLE_CODES.has(this.code)) return true
    return this.httpStatus >= 500 && !isPermanentCode(this.code)
  }
}

const errorBody = z.object({
  error: z.object({
    message: z.string().default(''),
    code: z.coerce.number().default(-1),
    error_data: z.union([z.object({ details: z.string().optional() }).passthrough(), z.string()]).optional(),
    fbtrace_id: z.string().optional(),
  }),
})

export const phoneNumberInfo = z.object({
  id: z.string(),
  display_phone_number: z.string(),
  verified_name: z.string().optional(),
  quality_rating: z.string().optional(),
})
export type PhoneNumberInfo = z.infer<typeof phoneNumberInfo>

export const mediaInfo = z.object({
  url: z.url(),
  mime_type: z.string(),
  sha256: z.string().optional(),
  // A number in some answers, a string in others (reference §4.2).
  file_size: z.coerce.number().int().nonnegative().optional(),
  id: z.string(),
})
export type MediaInfo = z.infer<typeof mediaInfo>

export const sendResult = z.object({
  messaging_product: z.literal('whatsapp').optional(),
  contacts: z.array(z.object({ input: z.string().optional(), wa_id: z.string().optional() })).optional(),
  messages: z.array(z.object({ id: z.string().min(1), message_status: z.string().optional() })).min(1),
})
export type SendResult = z.infer<typeof sendResult>

export type GraphClient = ReturnType<typeof createGraphClient>

/** Redirects a GET to the Graph API or a media URL may take (Meta's media host can redirect once); never for a POST. */
export const GRAPH_MAX_REDIRECTS = 3
/** The largest JSON answer read from the Graph API: its answers are a few hundred bytes; an error page is not. */
export const GRAPH_MAX_JSON_BYTES = 1024 * 1024

export function createGraphClient(opts: { baseUrl: string; version: string; timeoutMs?: number; userAgent?: string }) {
  const timeoutMs = opts.timeoutMs ?? 15_000
  const userAgent = opts.userAgent ?? 'wabox'
  const timedOut = () => new GraphError(0, -1, `Graph API did not answer within ${timeoutMs} ms`)
  const isDeadline = (err: unknown) => (err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError'

  /**
   * One call, headers and body under one deadline (`timeoutMs`, which also ends a body that trickles in). A GET
   * follows at most GRAPH_MAX_REDIRECTS redirects, over http(s) only, with the token only on its own origin;
   * other methods never follow one. The answer is returned with the deadline still running over its body.
   */
  async function send(token: string, url: string, init: RequestInit = {}): Promise<Response> {
    const signal = AbortSignal.timeout(timeoutMs)
    const method = (init.method ?? 'GET').toUpperCase()
    const origin = new URL(url).origin
    let current = url
    for (let hop = 0; ; hop++) {
      let res: Response
      try {
        const auth: Record<string, string> =
          new URL(current).origin === origin ? { authorization: `Bearer ${token}` } : {}
        res = await fetch(current, {
          ...init,
          headers: { ...auth, 'user-agent': userAgent, ...(init.headers as Record<string, string> | undefined) },
          signal,
          redirect: 'manual',
        })
      } catch (err) {
        throw isDeadline(err) ? timedOut() : new GraphError(0, -1, 'Graph API unreachable')
      }
      const location = res.headers.get('location')
      if (method !== 'GET' || res.status < 300 || res.status >= 400 || !location) return res
      await res.body?.cancel().catch(() => {})
      const next = URL.parse(location, current)
      if (!next || (next.protocol !== 'https:' && next.protocol !== 'http:'))
        throw new GraphError(res.status, -1, 'Graph API redirected to an unusable address')
      if (hop >= GRAPH_MAX_REDIRECTS)
        throw new GraphError(res.status, -1, `Graph API redirected more than ${GRAPH_MAX_REDIRECTS} times`)
      current = next.href
    }
  }

  /** The answer's JSON (null when it is not JSON), read as it streams and stopped at GRAPH_MAX_JSON_BYTES. */
  async function readJson(res: Response): Promise<unknown> {
    let bytes: Buffer | null
    try {
      bytes = await readAtMost(res, GRAPH_MAX_JSON_BYTES)
    } catch (err) {
      throw isDeadline(err) ? timedOut() : new GraphError(0, -1, 'Graph API answer cut off')
    }
    if (!bytes) throw new GraphError(res.status, -1, `Graph API answer larger than ${GRAPH_MAX_JSON_BYTES} bytes`)
    try {
      return JSON.parse(bytes.toString('utf8'))
    } catch {
      return null
    }
  }

  async function failure(res: Response): Promise<GraphError> {
    const parsed = errorBody.safeParse(await readJson(res).catch(() => null))
    if (!parsed.success) return new GraphError(res.status, -1, `Graph API answered HTTP ${res.status}`)
    const e = parsed.data.error
    const details = typeof e.error_data === 'string' ? e.error_data : (e.error_data?.details ?? null)
    return new GraphError(res.status, e.code, e.message, details, e.fbtrace_id ?? null)
  }

  async function json<T>(token: string, path: string, schema: z.ZodType<T>, init: RequestInit = {}): Promise<T> {
    const res = await send(token, `${opts.baseUrl}/${opts.version}/${path}`, init)
    if (!res.ok) throw await failure(res)
    const parsed = schema.safeParse(await readJson(res))
    if (!parsed.success) throw new GraphError(res.status, -1, 'Graph API answered with an unexpected shape')
    return parsed.data
  }

  return {
    /** GET /{phone-number-id}: proves the token can see the number, and names it. */
    getPhoneNumber: (token: string, phoneNumberId: string) =>
      json(
        token,
        `${encodeURIComponent(phoneNumberId)}?fields=id,display_phone_number,verified_name,quality_rating`,
        phoneNumberInfo,
      ),

    /** GET /{media-id}: a short-lived download URL for an inbound media object. */
    getMedia: (token: string, mediaId: string, phoneNumberId?: string) =>
      json(
        token,
        `${encodeURIComponent(mediaId)}${phoneNumberId ? `?phone_number_id=${encodeURIComponent(phoneNumberId)}` : ''}`,
        mediaInfo,
      ),

    /** POST /{phone-number-id}/messages: one message; the answer only means "accepted" (reference §3.1). */
    sendMessage: (token: string, phoneNumberId: string, body: Record<string, unknown>) =>
      json(token, `${encodeURIComponent(phoneNumberId)}/messages`, sendResult, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),

    /** POST /{phone-number-id}/media (multipart): an upload to send later by id; kept by Meta for 30 days. */
    uploadMedia(token: string, phoneNumberId: string, file: Blob, mime: string, filename: string) {
      const form = new FormData()
      form.set('messaging_product', 'whatsapp')
      form.set('type', mime)
      form.set('file', new File([file], filename, { type: mime }))
      return json(token, `${encodeURIComponent(phoneNumberId)}/media`, z.object({ id: z.string().min(1) }), {
        method: 'POST',
        body: form,
      })
    },

    /** Marks an inbound message read (blue ticks), reference §3.8. */
    markRead: (token: string, phoneNumberId: string, wamid: string) =>
      json(token, `${encodeURIComponent(phoneNumberId)}/messages`, z.object({ success: z.boolean() }), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messaging_product: 'whatsapp', status: 'read', message_id: wamid }),
      }),

    /** Downloads a media URL with the Bearer token and a User-Agent (both required, reference §4.3). */
    async download(token: string, url: string, maxBytes: number): Promise<Uint8Array> {
      const res = await send(token, url)
      if (!res.ok) throw await failure(res)
      let bytes: Buffer | null
      try {
        bytes = await readAtMost(res, maxBytes)
      } catch (err) {
        throw isDeadline(err) ? timedOut() : new GraphError(0, -1, 'media download cut off')
      }
      if (!bytes) throw new GraphError(res.status, -1, `media larger than ${maxBytes} bytes`)
      return bytes
    },
  }
}
