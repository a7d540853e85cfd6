/**
 * Security headers on every response, and the one JSON body parser: it enforces the body size limit
 * (Bun.serve's own limit answers in plain text and does not apply to app.handle), requires a JSON content
 * type, refuses JSON nested too deeply before anything walks it (json-guard.ts), and turns malformed JSON into a
 * 400 problem instead of a framework error.
 */
import { Elysia } from 'elysia'
import { AppError } from '../lib/errors.ts'
import { parseJsonChecked } from '../lib/json-guard.ts'

export const SECURITY_HEADERS: Record<string, string> = {
  // No inline scripts anywhere: the UI and docs load their scripts from same-origin files.
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
}

/** Sent on every response when wabox serves https itself (--tls-cert): browsers then refuse plain http for a year. */
export const HSTS_HEADER = { 'strict-transport-security': 'max-age=31536000' } as const

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i

function tooLarge(limit: number): AppError {
  return new AppError(413, 'body_too_large', `The request body exceeds the limit of ${limit} bytes.`)
}

/** Reads a body as text, stopping as soon as it passes `limit` bytes (a lying Content-Length cannot help). */
export async function readBodyText(request: Request, limit: number): Promise<string> {
  return Buffer.from(await readBodyBytes(request, limit)).toString('utf8')
}

/** Reads a body as bytes, with the same limit rules (signed webhooks need the exact bytes). */
export async function readBodyBytes(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit)
  if (!request.body) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      throw tooLarge(limit)
    }
    chunks.push(value)
  }
  return new Uint8Array(Buffer.concat(chunks))
}

/**
 * Paths with their own body rules: a larger limit (Meta's webhook batches reach 3 MB) and, with `raw`, the
 * body handed to the route as the exact bytes received (signatures cover bytes, not parsed JSON).
 */
export type BodyOverride = { match: RegExp; limit: number; parse: 'raw' | 'multipart' }

export function securityPlugin(opts: { bodyLimit: number; overrides?: BodyOverride[]; hsts?: boolean }) {
  const headers = opts.hsts ? { ...SECURITY_HEADERS, ...HSTS_HEADER } : SECURITY_HEADERS
  const overrideFor = (request: Request) => {
    const path = new URL(request.url).pathname
    return opts.overrides?.find((o) => o.match.test(path))
  }
  const limitFor = (request: Request) => overrideFor(request)?.limit ?? opts.bodyLimit
  return new Elysia({ name: 'security' })
    .onRequest(({ request, set }) => {
      Object.assign(set.headers, headers)
      const declared = Number(request.headers.get('content-length') ?? NaN)
      const limit = limitFor(request)
      if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit)
    })
    .onParse({ as: 'global' }, async ({ request, contentType }) => {
      const override = overrideFor(request)
      if (override?.parse === 'raw') return readBodyBytes(request, override.limit)
      const type = contentType ?? request.headers.get('content-type') ?? ''
      // Uploads: Elysia's own form parser reads them (the route validates the file).
      if (override?.parse === 'multipart' && /^multipart\/form-data/i.test(type)) return undefined
      // No content type and no body: a POST that carries nothing (logout); routes that need a body reject
      // the missing one in validation.
      if (!type && (request.body === null || request.headers.get('content-length') === '0')) return null
      if (!JSON_TYPE.test(type)) {
        throw new AppError(
          415,
          'unsupported_media_type',
          `Send the request body as application/json (got ${type ? JSON.stringify(type.slice(0, 60)) : 'no content type'}).`,
        )
      }
      const text = await readBodyText(request, opts.bodyLimit)
      if (text.trim() === '')
        throw new AppError(400, 'malformed_json', 'The request body is empty; send a JSON object.')
      // Shape first (depth, and total depth within the body limit), so nothing recurses over a hostile value.
      return parseJsonChecked(text, { maxWeight: opts.bodyLimit })
    })
}
