/**
 * A loopback stand-in for graph.facebook.com that behaves as reference/cloud-api.md describes Meta: Bearer
 * auth (190 / HTTP 401 when missing or unknown), the version in the path, Graph-shaped errors (§3.9),
 * phone-number lookup, media URL + download (Bearer and User-Agent required, §4.2–4.3). It records every
 * call and can be told to fail the next matching calls (error codes, 5xx, timeouts). wabox talks to it
 * through its real Graph client (WABOX_GRAPH_BASE_URL).
 */
import { createHash, createHmac } from 'node:crypto'

type Failure = {
  path: RegExp
  times: number
  status?: number
  code?: number
  message?: string
  /** Holds the answer until this settles (a slow network, for as long as the test needs it to be). */
  holdUntil?: () => Promise<unknown>
}
export type GraphCall = {
  method: string
  path: string
  authorization: string | null
  userAgent: string | null
  body: string
}

export type GraphDouble = Awaited<ReturnType<typeof startGraphDouble>>

const graphError = (status: number, code: number, message: string, extra: Record<string, unknown> = {}) =>
  Response.json(
    {
      error: {
        message,
        type: 'OAuthException',
        code,
        fbtrace_id: `A${Math.random().toString(36).slice(2, 12)}`,
        ...extra,
      },
    },
    { status },
  )

export async function startGraphDouble(opts: { version?: string } = {}) {
  const version = opts.version ?? 'v24.0'
  const tokens = new Map<string, Set<string>>()
  const numbers = new Map<string, { display: string; verifiedName: string; quality: string }>()
  const media = new Map<string, { bytes: Uint8Array; mime: string }>()
  const failures: Failure[] = []
  const calls: GraphCall[] = []
  /** Accepted sends, in order (what Meta would deliver). */
  const sent: { phoneNumberId: string; wamid: string; body: Record<string, unknown>; at: number }[] = []
  /** Where Meta would post status webhooks for a number, as Meta does after accepting a message. */
  const statusHooks = new Map<string, { url: string; appSecret: string }>()
  let wamidSeq = 0

  const postStatus = async (phoneNumberId: string, wamid: string, body: Record<string, unknown>) => {
    const hook = statusHooks.get(phoneNumberId)
    if (!hook) return
    const payload = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '102290129340398',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
                statuses: [
                  {
                    id: wamid,
                    status: 'sent',
                    timestamp: String(Math.floor(Date.now() / 1000)),
                    recipient_id: body.to,
                    biz_opaque_callback_data: body.biz_opaque_callback_data,
                    pricing: {
                      billable: true,
                      pricing_model: 'PMP',
                      category: 'service',
                      type: 'free_customer_service',
                    },
                  },
                ],
              },
            },
          ],
        },
      ],
    })
    const signature = `sha256=${createHmac('sha256', hook.appSecret).update(payload).digest('hex')}`
    // Like Meta: retry until the receiver answers 200 (bounded here to 60 s).
    for (const started = Date.now(); Date.now() - started < 60_000; await Bun.sleep(50)) {
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
          body: payload,
        })
        if (res.status === 200) return
      } catch {
        // receiver down: try again
      }
    }
  }

  let port = 0
  const server: { port?: number; stop: (force?: boolean) => unknown } = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req): Promise<Response> {
      const url = new URL(req.url)
      const isUpload = req.method === 'POST' && url.pathname.endsWith('/media')
      const form = isUpload ? await req.formData().catch(() => null) : null
      const body = req.method === 'GET' || isUpload ? '' : await req.text()
      const authorization = req.headers.get('authorization')
      calls.push({
        method: req.method,
        path: url.pathname + url.search,
        authorization,
        userAgent: req.headers.get('user-agent'),
        body,
      })

      const failure = failures.find((f) => f.times > 0 && f.path.test(url.pathname))
      if (failure) {
        failure.times--
        if (failure.holdUntil) await failure.holdUntil().catch(() => {})
        if (failure.status)
          return graphError(failure.status, failure.code ?? 1, failure.message ?? 'An unknown error occurred')
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
      if (isUpload && id && edge === 'media') {
        if (!allowed.has(id))
          return graphError(400, 100, `Unsupported post request. Object with ID '${id}' does not exist.`, {
            error_subcode: 33,
          })
        const file = form?.get('file')
        if (form?.get('messaging_product') !== 'whatsapp' || !form.get('type') || !(file instanceof Blob)) {
          return graphError(400, 100, '(#100) The parameter messaging_product, type and file are required.')
        }
        const mediaId = String(9_000_000_000_000 + ++wamidSeq)
        media.set(mediaId, { bytes: new Uint8Array(await file.arrayBuffer()), mime: String(form.get('type')) })
        return Response.json({ id: mediaId })
      }
      if (req.method === 'POST' && id && edge === 'messages') {
        if (!allowed.has(id))
          return graphError(400, 100, `Unsupported post request. Object with ID '${id}' does not exist.`, {
            error_subcode: 33,
          })
        let msg: Record<string, unknown>
        try {
          msg = JSON.parse(body)
        } catch {
          return graphError(400, 100, 'Invalid parameter')
        }
        if (msg.messaging_product !== 'whatsapp')
          return graphError(400, 100, '(#100) The parameter messaging_product is required.')
        if (msg.status === 'read') {
          return typeof msg.message_id === 'string' && msg.message_id.startsWith('wamid.')
            ? Response.json({ success: true })
            : graphError(400, 100, '(#100) Invalid parameter')
        }
        const type = String(msg.type ?? 'text')
        if (typeof msg.to !== 'string' || !/^\+?\d{6,20}$/.test(msg.to))
          return graphError(400, 100, '(#100) Invalid parameter', {
            error_data: { messaging_product: 'whatsapp', details: 'Parameter to is invalid' },
          })
        if (
          ![
            'text',
            'template',
            'image',
            'video',
            'audio',
            'document',
            'sticker',
            'location',
            'contacts',
            'interactive',
            'reaction',
          ].includes(type) ||
          typeof msg[type] !== 'object'
        ) {
          return graphError(400, 100, `(#100) Param ${type} is required`)
        }
        const wamid = `wamid.DOUBLE${(++wamidSeq).toString(36).toUpperCase().padStart(10, '0')}=`
        sent.push({ phoneNumberId: id, wamid, body: msg, at: Date.now() })
        void postStatus(id, wamid, msg)
        return Response.json({
          messaging_product: 'whatsapp',
          contacts: [{ input: msg.to, wa_id: String(msg.to).replace(/^\+/, '') }],
          messages: [{ id: wamid, message_status: 'accepted' }],
        })
      }
      if (req.method === 'GET' && id && !edge && numbers.has(id)) {
        if (!allowed.has(id))
          return graphError(
            400,
            100,
            `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
            { error_subcode: 33 },
          )
        const n = numbers.get(id)!
        return Response.json({
          id,
          display_phone_number: n.display,
          verified_name: n.verifiedName,
          quality_rating: n.quality,
        })
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
      return graphError(
        400,
        100,
        `Unsupported ${req.method.toLowerCase()} request. Object with ID '${id}' does not exist.`,
        { error_subcode: 33 },
      )
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
      numbers.set(phoneNumberId, {
        display: info.display ?? '+1 555-078-3881',
        verifiedName: info.verifiedName ?? 'Acme Support',
        quality: info.quality ?? 'GREEN',
      })
    },
    addMedia(mediaId: string, bytes: Uint8Array, mime: string) {
      media.set(mediaId, { bytes, mime })
    },
    sent,
    /** Meta posts status webhooks for this number to `url`, signed with `appSecret`. */
    deliverStatusesTo(phoneNumberId: string, url: string, appSecret: string) {
      statusHooks.set(phoneNumberId, { url, appSecret })
    },
    /** The next `times` calls whose path matches fail this way (after `holdUntil`, for slow answers and timeouts). */
    failNext(f: Failure) {
      failures.push({ ...f })
    },
    stop: () => server.stop(true),
  }
}
