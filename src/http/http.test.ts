import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { z } from 'zod'
import { openDatabase } from '../db/client.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { createTestApp } from '../testing/test-app.ts'
import { tempDir } from '../testing/temp.ts'
import { SECURITY_HEADERS } from './security.ts'

/** The real app plus one JSON route, to exercise the body pipeline every API route shares. */
async function appWithJsonRoute(bodyLimit = 4096) {
  const t = await createTestApp({ config: { bodyLimit } })
  t.app.post('/api/v1/echo', ({ body }) => body, {
    body: z.object({ name: z.string().min(2), count: z.number().int().max(10) }),
  })
  return t
}

async function expectProblem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toBe('application/problem+json')
  const body = await res.json()
  expect(body).toMatchObject({ status, code, type: `urn:wabox:problem:${code}` })
  expect(typeof body.title).toBe('string')
  expect(typeof body.detail).toBe('string')
  expect(body.requestId).toBe(res.headers.get('x-request-id'))
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+|node_modules|stack/i)
  return body
}

const json = (body: string, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body,
})

describe('HTTP error mapping', () => {
  test('unknown API route → 404 problem with request id', async () => {
    const t = await createTestApp()
    await expectProblem(await t.request('/api/v1/nothing-here'), 404, 'not_found')
    await expectProblem(await t.request('/api/v1/nothing-here', { method: 'DELETE' }), 404, 'not_found')
    await expectProblem(await t.request('/missing.js'), 404, 'not_found')
  })

  test('malformed JSON → 400 naming the problem; empty body → 400', async () => {
    const t = await appWithJsonRoute()
    const body = await expectProblem(await t.request('/api/v1/echo', json('{"name": "ab",')), 400, 'malformed_json')
    expect(body.detail).toContain('not valid JSON')
    await expectProblem(await t.request('/api/v1/echo', json('')), 400, 'malformed_json')
  })

  test('valid JSON with invalid fields → 422 with errors[] naming each field, never echoing the value', async () => {
    const t = await appWithJsonRoute()
    const body = await expectProblem(
      await t.request('/api/v1/echo', json('{"name":"S3CRET-VALUE-1","count":"x"}')),
      422,
      'validation_failed',
    )
    expect(body.errors).toEqual([{ field: 'count', message: expect.any(String) }])
    expect(body.detail).toContain('count')
    const two = await expectProblem(await t.request('/api/v1/echo', json('{"name":"a"}')), 422, 'validation_failed')
    expect(two.errors.map((e: { field: string }) => e.field).sort()).toEqual(['count', 'name'])
    expect(JSON.stringify(two)).not.toContain('S3CRET')
    const ok = await t.request('/api/v1/echo', json('{"name":"ab","count":3}'))
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ name: 'ab', count: 3 })
  })

  test('wrong or missing content type → 415', async () => {
    const t = await appWithJsonRoute()
    const body = await expectProblem(
      await t.request('/api/v1/echo', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: '{"name":"ab","count":1}',
      }),
      415,
      'unsupported_media_type',
    )
    expect(body.detail).toContain('application/json')
    await expectProblem(
      await t.request('/api/v1/echo', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name=ab',
      }),
      415,
      'unsupported_media_type',
    )
  })

  test('oversized body → 413, whether or not Content-Length tells the truth', async () => {
    const t = await appWithJsonRoute(2048)
    const big = JSON.stringify({ name: 'x'.repeat(5000), count: 1 })
    const declared = await expectProblem(
      await t.request('/api/v1/echo', json(big, { 'content-length': String(big.length) })),
      413,
      'body_too_large',
    )
    expect(declared.detail).toContain('2048')
    // A streamed body with no length header is cut off as soon as it passes the limit.
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('x'.repeat(1000)))
        c.close()
      },
    })
    await expectProblem(
      await t.request('/api/v1/echo', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
      }),
      413,
      'body_too_large',
    )
  })

  test('an unexpected exception → generic 500 problem; the stack goes to the log only', async () => {
    const t = await createTestApp()
    t.app.get('/api/v1/boom', () => {
      throw new Error('kaboom internal detail')
    })
    const res = await t.request('/api/v1/boom')
    const body = await expectProblem(res, 500, 'internal_error')
    expect(JSON.stringify(body)).not.toContain('kaboom')
    expect(t.logLines.some((l) => l.includes('kaboom internal detail') && l.includes(body.requestId))).toBe(true)
  })

  test('a safe incoming X-Request-ID is kept; an unsafe one is replaced', async () => {
    const t = await createTestApp()
    const kept = await t.request('/healthz', { headers: { 'x-request-id': 'abc-123-def-456' } })
    expect(kept.headers.get('x-request-id')).toBe('abc-123-def-456')
    const replaced = await t.request('/healthz', { headers: { 'x-request-id': 'bad id <script>' } })
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })
})

describe('security headers', () => {
  test('present on success, error, static and docs responses', async () => {
    const t = await createTestApp()
    for (const path of ['/healthz', '/readyz', '/', '/docs', '/docs/json', '/api/v1/missing', '/some/ui/route']) {
      const res = await t.request(path)
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name)).toBe(value)
      expect(res.headers.get('x-request-id')).toBeTruthy()
    }
    expect(SECURITY_HEADERS['content-security-policy']).not.toContain('unsafe-inline')
  })
})

describe('health', () => {
  test('/healthz answers with the version; /readyz reports each check', async () => {
    const t = await createTestApp()
    expect(await (await t.request('/healthz')).json()).toEqual({
      status: 'ok',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    })
    const ready = await t.request('/readyz')
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({
      ready: true,
      checks: { database: { ok: true }, migrations: { ok: true }, key: { ok: true }, writes: { ok: true } },
    })
  })

  test('/readyz is 503 when the database is read-only', async () => {
    const file = join(tempDir(), 'wabox.db')
    const rw = openDatabase(file)
    await migrateToLatest(rw.db)
    await rw.close()
    const t = await createTestApp({ db: openDatabase(file, { readonly: true }) })
    const res = await t.request('/readyz')
    expect(res.status).toBe(503)
    const body = await res.json()
    expect(body.ready).toBe(false)
    expect(body.checks.database).toEqual({ ok: false, detail: expect.stringContaining('READONLY') })
    expect(body.checks.migrations.ok).toBe(true)
  })

  test('/readyz stays 200 while another request holds a transaction open', async () => {
    const t = await createTestApp()
    let release!: () => void
    const held = t.db.db.transaction().execute(async (trx) => {
      await trx.selectFrom('instance_meta').selectAll().execute()
      await new Promise<void>((r) => (release = r))
    })
    await Bun.sleep(5)
    const ready = t.request('/readyz')
    release()
    expect((await ready).status).toBe(200)
    await held
  })

  test('/readyz is 503 while migrations are pending', async () => {
    const t = await createTestApp({ db: openDatabase(':memory:') })
    const res = await t.request('/readyz')
    expect(res.status).toBe(503)
    expect((await res.json()).checks.migrations).toEqual({ ok: false, detail: expect.any(String) })
  })
})

describe('static UI and docs', () => {
  test('index, SPA fallback, assets and traversal protection', async () => {
    const t = await createTestApp()
    const index = await t.request('/')
    expect(index.status).toBe(200)
    expect(index.headers.get('content-type')).toContain('text/html')
    expect(await index.text()).toContain('wabox')
    const deep = await t.request('/settings/channels')
    expect(await deep.text()).toContain('<title>wabox</title>')
    // The UI's bundle: content-hashed files cached for good; index.html revalidated every time.
    expect(index.headers.get('cache-control')).toBe('no-cache')
    const html = await (await t.request('/')).text()
    const script = html.match(/src="(\/assets\/main-[a-z0-9]+\.js)"/)?.[1]
    const style = html.match(/href="(\/assets\/main-[a-z0-9]+\.css)"/)?.[1]
    expect(script).toBeDefined()
    expect(style).toBeDefined()
    const js = await t.request(script!)
    expect(js.headers.get('content-type')).toContain('javascript')
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const css = await t.request(style!)
    expect(css.headers.get('content-type')).toContain('text/css')
    expect((await t.request('/assets/main-doesnotexist.js')).status).toBe(404)
    // The cache rule follows the file served, not the raw path: a path that resolves to the index is not immutable.
    const sneaky = await t.request('/assets/..%2Findex.html')
    expect(sneaky.headers.get('cache-control')).toBe('no-cache')
    // Client-side routes get the app; the strict CSP still applies (no inline script in the page).
    const setup = await t.request('/setup?token=abc')
    expect(await setup.text()).toContain(script!)
    expect(setup.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    for (const path of [
      '/../package.json',
      '/%2e%2e/package.json',
      '/..%2fpackage.json',
      '/%2e%2e%2fsrc%2fconfig.ts',
      '/a/..%2f..%2f..%2fetc%2fpasswd.txt',
    ]) {
      const res = await t.request(path)
      expect([400, 404]).toContain(res.status)
      expect(await res.text()).not.toContain('"dependencies"')
    }
    const nul = await t.request('/index.html%00.js')
    expect(nul.status).toBe(400)
  })

  test('OpenAPI document is generated from the routes', async () => {
    const t = await createTestApp()
    const spec = await (await t.request('/docs/json')).json()
    expect(spec.openapi).toMatch(/^3\./)
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz']))
    expect(spec.paths['/readyz'].get.summary).toContain('Readiness')
    // The outbound event catalogue is documented as OpenAPI webhooks, each with its payload.
    expect(Object.keys(spec.webhooks)).toEqual(
      expect.arrayContaining([
        'message.received',
        'message.sent',
        'message.status',
        'message.failed',
        'conversation.created',
        'conversation.updated',
        'contact.updated',
        'channel.status',
      ]),
    )
    const received = spec.webhooks['message.received'].post.requestBody.content['application/json'].schema
    expect(received.properties.data.required).toEqual(
      expect.arrayContaining(['messageId', 'conversationId', 'from', 'text']),
    )
    expect(spec.webhooks['message.status'].post.parameters.map((p: { name: string }) => p.name)).toEqual([
      'webhook-id',
      'webhook-timestamp',
      'webhook-signature',
    ])
    const page = await (await t.request('/docs')).text()
    expect(page).toContain('/docs.js')
    // Swagger UI comes from the binary itself, under a versioned immutable path, never from a CDN.
    const bundle = page.match(/src="(\/assets\/swagger-ui-[\d.]+\/swagger-ui-bundle\.js)"/)?.[1]
    expect(bundle).toBeDefined()
    expect(page).not.toMatch(/https?:\/\//)
    const served = await t.request(bundle!)
    expect(served.status).toBe(200)
    expect(served.headers.get('cache-control')).toContain('immutable')
    expect((await served.text()).length).toBeGreaterThan(100_000)
  })
})
