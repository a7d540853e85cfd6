import { describe, expect, test } from 'bun:test'
import { Writable } from 'node:stream'
import { createLogger } from './log.ts'
import { createTestApp } from './testing/test-app.ts'
import { waitUntil } from './testing/wait.ts'

function capture() {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _e, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  return { lines, logger: createLogger('debug', sink) }
}

describe('logs', () => {
  test('one JSON line per request: method, route, status, duration, request id', async () => {
    const t = await createTestApp()
    const res = await t.request('/readyz')
    await Bun.sleep(5) // the line is written after the response is handed over
    const line = t.logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.route === '/readyz')
    expect(line).toMatchObject({
      method: 'GET',
      route: '/readyz',
      status: 200,
      requestId: res.headers.get('x-request-id'),
    })
    expect(line.durationMs).toBeGreaterThanOrEqual(0)
    await t.request('/api/v1/nope')
    // The request line is written once the response is handed over.
    await waitUntil('the 404 request line', () =>
      t.logLines.map((l) => JSON.parse(l)).some((l) => l.msg === 'request' && l.status === 404),
    )
  })

  test('a request carrying Authorization: Bearer SECRET123 and a session cookie never prints them', async () => {
    const t = await createTestApp()
    t.app.get('/api/v1/boom', () => {
      throw new Error('fails on purpose')
    })
    for (const path of ['/healthz', '/api/v1/missing', '/api/v1/boom']) {
      await t.request(path, { headers: { authorization: 'Bearer SECRET123', cookie: 'wabox_session=COOKIESECRET9' } })
    }
    await waitUntil(
      'a line for each request',
      () => t.logLines.filter((l) => l.includes('"msg":"request"')).length >= 3,
    )
    expect(t.logLines.length).toBeGreaterThanOrEqual(3)
    const all = t.logLines.join('\n')
    expect(all).not.toContain('SECRET123')
    expect(all).not.toContain('COOKIESECRET9')
  })

  test('fields named like credentials are censored at any depth; other fields are kept', () => {
    const { lines, logger } = capture()
    logger.info(
      {
        accessToken: 'tok-AAA',
        channel: { appSecret: 'sec-BBB', config: { verify_token: 'vt-CCC', apiKey: 'ak-DDD', name: 'Main line' } },
        list: [{ password: 'pw-EEE' }],
        headers: { authorization: 'Bearer tok-FFF', cookie: 'c=GGG', accept: 'text/html' },
        key: 'raw-HHH',
        phone: '+4912345',
      },
      'channel connected',
    )
    const text = lines.join('\n')
    for (const secret of ['tok-AAA', 'sec-BBB', 'vt-CCC', 'ak-DDD', 'pw-EEE', 'tok-FFF', 'GGG', 'raw-HHH'])
      expect(text).not.toContain(secret)
    const line = JSON.parse(lines[0]!)
    expect(line.channel.config.name).toBe('Main line')
    expect(line.phone).toBe('+4912345')
    expect(line.headers.accept).toBe('text/html')
    expect(line.channel.appSecret).toBe('[redacted]')
  })
})
