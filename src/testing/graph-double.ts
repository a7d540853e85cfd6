/**
 * A loopback stand-in for graph.facebook.com that behaves as Meta does: Bearer auth (190 / HTTP 401 when missing
 * or unknown), the version in the path, Graph-shaped errors (reference/cloud-api.md §3.9), phone-number lookup,
 * media URL + download (Bearer and User-Agent required, URLs that expire and are signed, §4.2–4.3). Send bodies,
 * read receipts and uploads are checked by graph-rules.ts, written from Meta's pages and independent SDKs rather
 * than from wabox's notes, and refused with Meta's codes and `error_data.details`. Accepted sends answer with the
 * normalised `wa_id` (a Brazilian mobile loses its ninth digit), `held_for_quality_assessment` when told to, and
 * no `wa_id` for a BSUID send; status webhooks follow in Meta's shape (graph-statuses.ts). It records every call
 * and can be told to fail the next matching calls (error codes, 5xx, timeouts). wabox talks to it through its
 * real Graph client (WABOX_GRAPH_BASE_URL).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto'
import { checkMarkRead, checkSend, checkUpload, isRefusal, type KnownTemplate, type Refusal } from './graph-rules.ts'
import {
  type Conversation,
  type PricingCategory,
  postWebhook,
  pricingFor,
  type StatusKind,
  statusError,
  statusWebhook,
} from './graph-statuses.ts'

/** "Retrieve media URL": "media URLs expire after 5 minutes" (Media page). */
export const MEDIA_URL_TTL_MS = 5 * 60_000

type Failure = {
  path: RegExp
  times: number
  status?: number
  code?: number
  message?: string
  /** Meta's `error_data.details` for the refusal. */
  details?: string
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

/** A rule broken, answered as Graph does: HTTP 400, `(#code) title`, and the field in `error_data.details`. */
const refusal = (r: Refusal) =>
  graphError(r.httpStatus, r.code, `(#${r.code}) ${r.title}`, {
    error_data: { messaging_product: 'whatsapp', details: r.details },
  })

/**
 * The wa_id Meta answers with for a number it was given: digits only, and a Brazilian mobile (55, two-digit area
 * code, 9, eight digits) without the ninth digit — WhatsApp's own id for those numbers predates the digit.
 */
export const normalisedWaId = (to: string) => to.replace(/\D/g, '').replace(/^55(\d{2})9(\d{8})$/, '55$1$2')

export async function startGraphDouble(opts: { version?: string } = {}) {
  const version = opts.version ?? 'v24.0'
  const tokens = new Map<string, Set<string>>()
  const numbers = new Map<string, { display: string; verifiedName: string; quality: string }>()
  /** Media by id; `owner` is the number it was uploaded through (null: any token that Meta lets see it). */
  const media = new Map<string, { bytes: Uint8Array; mime: string; owner: string | null }>()
  const failures: Failure[] = []
  const calls: GraphCall[] = []
  /** Accepted sends, in order (what Meta would deliver). */
  const sent: {
    phoneNumberId: string
    wamid: string
    body: Record<string, unknown>
    at: number
    waId: string | null
    userId: string | null
    category: PricingCategory
  }[] = []
  /** Where Meta would post status webhooks for a number, as Meta does after accepting a message. */
  const statusHooks = new Map<string, { url: string; appSecret: string }>()
  const templates: KnownTemplate[] = []
  /** Recipients whose messages Meta holds for quality assessment (no `sent` status follows at once). */
  const heldFor = new Set<string>()
  /** Signs media URLs, so a forged or altered one is refused like Meta's. */
  const urlKey = randomBytes(16)
  /** Bumped to expire every URL handed out so far (their signatures no longer match). */
  let urlGeneration = 0
  const urlHash = (id: string, ext: string) =>
    createHmac('sha256', urlKey).update(`${id}.${ext}.${urlGeneration}`).digest('base64url').slice(0, 22)
  let wamidSeq = 0

  /** Posts one status for a send to the number's webhook, retrying like Meta until it answers 200 (here ≤ 60 s). */
  const deliverStatus = async (
    send: (typeof sent)[number],
    status: StatusKind,
    opts: { errorCode?: number; details?: string; conversation?: Conversation | null; at?: number } = {},
  ): Promise<number> => {
    const hook = statusHooks.get(send.phoneNumberId)
    if (!hook) return 0
    const body = statusWebhook({
      wabaId: '102290129340398',
      phoneNumberId: send.phoneNumberId,
      displayPhoneNumber: '15550783881',
      status: {
        wamid: send.wamid,
        status,
        at: opts.at ?? Date.now(),
        waId: send.waId,
        userId: send.userId,
        bizOpaqueCallbackData: send.body.biz_opaque_callback_data,
        pricing: status === 'failed' ? null : pricingFor(send.category),
        conversation: opts.conversation ?? null,
        errors: opts.errorCode ? [statusError(opts.errorCode, opts.details)] : undefined,
      },
    })
    let answer = 0
    for (const started = Date.now(); Date.now() - started < 60_000; await Bun.sleep(50)) {
      answer = await postWebhook(hook.url, body, hook.appSecret)
      if (answer === 200) break
    }
    return answer
  }

  /** Meta's category for a send: templates by theirs (utility when the double does not know it), else service. */
  const categoryOf = (check: { type: string; template: KnownTemplate | null }): PricingCategory =>
    check.type !== 'template'
      ? 'service'
      : ((check.template?.category.toLowerCase() as PricingCategory | undefined) ?? 'utility')

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
          return graphError(
            failure.status,
            failure.code ?? 1,
            failure.message ?? 'An unknown error occurred',
            failure.details ? { error_data: { messaging_product: 'whatsapp', details: failure.details } } : {},
          )
      }

      const token = authorization?.match(/^Bearer (.+)$/)?.[1]
      if (!token) return graphError(401, 190, 'An access token is required to request this resource.')
      if (!tokens.has(token)) return graphError(401, 190, 'Invalid OAuth access token - Cannot parse access token')
      const allowed = tokens.get(token)!

      const noSuchObject = (objectId: string) =>
        graphError(
          400,
          100,
          `Unsupported ${req.method.toLowerCase()} request. Object with ID '${objectId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
          { error_subcode: 33 },
        )
      const canSee = (item: { owner: string | null }) => item.owner === null || allowed.has(item.owner)

      if (url.pathname.startsWith('/media-download/')) {
        // Meta's media host: User-Agent required, the URL's signature and its 5-minute life checked.
        if (!req.headers.get('user-agent')) return new Response('Forbidden', { status: 403 })
        const mediaId = url.pathname.slice('/media-download/'.length)
        const item = media.get(mediaId)
        const ext = url.searchParams.get('ext') ?? ''
        if (!item || url.searchParams.get('hash') !== urlHash(mediaId, ext) || !canSee(item))
          return new Response('Not found', { status: 404 })
        if (Date.now() > Number(ext) * 1000) return new Response('URL signature expired', { status: 404 })
        return new Response(item.bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': item.mime } })
      }

      const [, ver, id, edge] = url.pathname.split('/')
      if (ver !== version) return graphError(400, 2500, `Unknown path components: /${ver}`)
      if (isUpload && id && edge === 'media') {
        if (!allowed.has(id)) return noSuchObject(id)
        const file = form?.get('file')
        const bytes = file instanceof Blob ? new Uint8Array(await file.arrayBuffer()) : null
        const checked = checkUpload(
          { messagingProduct: form?.get('messaging_product'), type: form?.get('type'), file },
          bytes,
        )
        if (isRefusal(checked)) return refusal(checked)
        const mediaId = String(9_000_000_000_000 + ++wamidSeq)
        media.set(mediaId, { bytes: bytes!, mime: checked.mime, owner: id })
        return Response.json({ id: mediaId })
      }
      if (req.method === 'POST' && id && edge === 'messages') {
        if (!allowed.has(id)) return noSuchObject(id)
        let msg: unknown
        try {
          msg = JSON.parse(body)
        } catch {
          return graphError(400, 100, '(#100) Invalid parameter', {
            error_data: { messaging_product: 'whatsapp', details: 'The request body is not valid JSON.' },
          })
        }
        if (typeof msg === 'object' && msg !== null && (msg as Record<string, unknown>).status === 'read') {
          const refused = checkMarkRead(msg as Record<string, unknown>)
          return refused ? refusal(refused) : Response.json({ success: true })
        }
        const check = checkSend(msg, { templates })
        if (isRefusal(check)) return refusal(check)
        const waId = check.to === null ? null : normalisedWaId(check.to)
        const wamid = `wamid.DOUBLE${(++wamidSeq).toString(36).toUpperCase().padStart(10, '0')}=`
        const send = {
          phoneNumberId: id,
          wamid,
          body: msg as Record<string, unknown>,
          at: Date.now(),
          waId,
          userId: check.recipient,
          category: categoryOf(check),
        }
        sent.push(send)
        const held = waId !== null && heldFor.has(waId)
        if (!held) void deliverStatus(send, 'sent')
        return Response.json({
          messaging_product: 'whatsapp',
          contacts: [
            waId !== null
              ? { input: (msg as Record<string, unknown>).to, wa_id: waId }
              : { input: check.recipient, user_id: check.recipient },
          ],
          messages: [{ id: wamid, message_status: held ? 'held_for_quality_assessment' : 'accepted' }],
        })
      }
      if (req.method === 'GET' && id && !edge && numbers.has(id)) {
        if (!allowed.has(id)) return noSuchObject(id)
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
        if (!canSee(item)) return noSuchObject(id)
        const ext = String(Math.floor((Date.now() + MEDIA_URL_TTL_MS) / 1000))
        return Response.json({
          messaging_product: 'whatsapp',
          url: `http://127.0.0.1:${port}/media-download/${id}?ext=${ext}&hash=${urlHash(id, ext)}`,
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
    /** Media Meta holds (an inbound attachment); `owner` is the number it belongs to, when it matters. */
    addMedia(mediaId: string, bytes: Uint8Array, mime: string, owner: string | null = null) {
      media.set(mediaId, { bytes, mime, owner })
    },
    /** Every media URL handed out so far stops working, as they do five minutes after Meta issued them. */
    expireMediaUrls() {
      urlGeneration++
    },
    /** An approved template the sends are checked against (parameter counts, language, status, category). */
    addTemplate(t: KnownTemplate) {
      templates.push(t)
    },
    /** Meta holds messages to this number for quality assessment: no `sent` status until one is posted. */
    holdForQuality(to: string) {
      heldFor.add(normalisedWaId(to))
    },
    /**
     * Meta's later status for an accepted send (delivered, read, played, failed with an error code), posted to
     * its number's webhook as Meta does; the receiver's HTTP status.
     */
    postStatus(
      wamid: string,
      status: StatusKind,
      opts: { errorCode?: number; details?: string; conversation?: Conversation | null; at?: number } = {},
    ) {
      const send = sent.find((x) => x.wamid === wamid)
      if (!send) throw new Error(`the double accepted no send ${wamid}`)
      return deliverStatus(send, status, opts)
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
