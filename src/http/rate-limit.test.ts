import { describe, expect, test } from 'bun:test'
import { RateLimiter } from './rate-limit.ts'
import { profileSpec } from '../lib/rate-windows.ts'
import { clientIp, trustedProxies } from './client-ip.ts'
import { createTestApp } from '../testing/test-app.ts'
import { anonymous, call, makeKey, makeUser, makeWorkspace, manualClock } from '../testing/fixtures.ts'
import { mostInAnyWindow } from '../testing/windows.ts'

const DEFAULT = profileSpec.parse('3/1s,20/10s,100/60s')

describe('sliding windows', () => {
  test('exactly the allowed count passes in each window; the next gets the right Retry-After', () => {
    const clock = manualClock()
    const limiter = new RateLimiter({ name: 'api', windows: DEFAULT }, clock)
    // 3 per second.
    expect([1, 2, 3, 4].map(() => limiter.take('k').allowed)).toEqual([true, true, true, false])
    const refused = limiter.take('k')
    expect(refused.retryAfterSeconds).toBe(1)
    // Each window on its own: a burst passes exactly its limit, then waits until the burst has left the window.
    for (const [spec, limit, retryAfter] of [
      ['20/10s', 20, 10],
      ['100/60s', 100, 60],
      ['5/30s', 5, 30],
    ] as const) {
      const l = new RateLimiter({ name: 'api', windows: profileSpec.parse(spec) }, clock)
      const results = Array.from({ length: limit + 1 }, () => l.take('k'))
      expect({ spec, passed: results.filter((r) => r.allowed).length }).toEqual({ spec, passed: limit })
      expect({ spec, retryAfter: results.at(-1)!.retryAfterSeconds }).toEqual({ spec, retryAfter })
    }
  })

  test('a burst-then-steady client never gets more than a window allows in any span of that window', () => {
    for (const spec of ['3/1s,20/10s,100/60s', '30/1s,300/10s,1500/60s', '5/2s,7/5s']) {
      const windows = profileSpec.parse(spec)
      const clock = manualClock()
      const limiter = new RateLimiter({ name: 'api', windows }, clock)
      const admitted: number[] = []
      const offer = (n: number) => {
        for (let i = 0; i < n; i++) if (limiter.take('client').allowed) admitted.push(clock.now())
      }
      // A burst far above every limit, then a steady 20 requests a second for three minutes (50 ms apart),
      // then a pause and a second burst: every window is pushed to its limit from both sides.
      offer(5000)
      for (let tick = 0; tick < 3600; tick++) {
        clock.advance(50)
        offer(1)
      }
      clock.advance(7000)
      offer(5000)
      for (const w of windows) {
        const most = mostInAnyWindow(admitted, w.seconds * 1000)
        expect({ spec, window: w.seconds, most: most <= w.limit }).toEqual({ spec, window: w.seconds, most: true })
      }
      // Not stingy either: the tightest window is filled to its limit at some point.
      expect(windows.some((w) => mostInAnyWindow(admitted, w.seconds * 1000) === w.limit)).toBe(true)
    }
  })

  test('waiting the Retry-After of a refusal is always enough, and never more than needed', () => {
    const clock = manualClock()
    const limiter = new RateLimiter({ name: 'api', windows: DEFAULT }, clock)
    let checked = 0
    for (let step = 0; step < 400; step++) {
      clock.advance(step % 7 === 0 ? 900 : 130)
      const d = limiter.take('k')
      if (d.allowed) continue
      checked++
      const back = clock.now()
      // A second before the advertised time, it is still refused (whole seconds: within the last second it may pass).
      if (d.retryAfterSeconds > 1) {
        clock.advance((d.retryAfterSeconds - 1) * 1000 - 1)
        expect(limiter.take('k').allowed).toBe(false)
        clock.set(back)
      }
      clock.advance(d.retryAfterSeconds * 1000)
      expect(limiter.take('k').allowed).toBe(true)
    }
    expect(checked).toBeGreaterThan(10)
  })

  test('a refused request is not counted, and waiting the Retry-After is enough', () => {
    const clock = manualClock()
    const limiter = new RateLimiter({ name: 'api', windows: profileSpec.parse('2/1s') }, clock)
    limiter.take('k')
    limiter.take('k')
    for (let i = 0; i < 5; i++) expect(limiter.take('k').allowed).toBe(false)
    const d = limiter.take('k')
    clock.advance(d.retryAfterSeconds * 1000)
    expect(limiter.take('k').allowed).toBe(true)
    // Keys are independent.
    expect(limiter.take('other').allowed).toBe(true)
  })

  test('a flood of new keys cannot reset an active key: at the cap newcomers are refused, nobody is forgotten', () => {
    const clock = manualClock()
    const limiter = new RateLimiter({ name: 'api', windows: profileSpec.parse('3/1s,100/60s') }, clock, 1000)
    // A key spends its minute's quota.
    for (let i = 0; i < 100; i++) {
      expect(limiter.take('key:victim-of-its-own-limit').allowed).toBe(true)
      clock.advance(400)
    }
    expect(limiter.take('key:victim-of-its-own-limit').allowed).toBe(false)
    // 5,000 fresh addresses within the minute: the table fills, the newcomers beyond it are refused.
    let refused = 0
    for (let i = 0; i < 5000; i++) if (!limiter.take(`ip:2001:db8::${i.toString(16)}`).allowed) refused++
    expect(limiter.size).toBeLessThanOrEqual(1000)
    expect(refused).toBeGreaterThanOrEqual(4000)
    // The key is still remembered, and still over its limit.
    const again = limiter.take('key:victim-of-its-own-limit')
    expect(again.allowed).toBe(false)
    expect(again.retryAfterSeconds).toBeGreaterThan(0)
  })

  test('memory stays bounded under 100k distinct keys', () => {
    const clock = manualClock()
    const limiter = new RateLimiter({ name: 'api', windows: DEFAULT }, clock, 10_000)
    for (let i = 0; i < 100_000; i++) {
      limiter.take(`ip:10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`)
      if (i % 1000 === 0) clock.advance(1)
    }
    expect(limiter.size).toBeLessThanOrEqual(10_000)
    expect(limiter.size).toBeGreaterThan(0)
    // Idle logs count nothing any more, so forgetting them changes nothing for their owners.
    clock.advance(61_000)
    limiter.take('fresh')
    expect(limiter.take('ip:10.0.0.1').allowed).toBe(true)
  })

  test('profile specs parse and reject', () => {
    expect(profileSpec.parse('100/1m, 3/1s')).toEqual([
      { limit: 3, seconds: 1 },
      { limit: 100, seconds: 60 },
    ])
    expect(profileSpec.safeParse('fast').success).toBe(false)
    expect(profileSpec.safeParse('0/1s').success).toBe(false)
    expect(profileSpec.safeParse('').success).toBe(false)
  })
})

describe('rate limits over HTTP', () => {
  test('API keys: 3 per second pass, the 4th is 429 with Retry-After and RateLimit headers', async () => {
    const clock = manualClock()
    const t = await createTestApp({ clock, config: { rateLimit: DEFAULT } })
    const owner = await makeUser(t, 'owner@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    const key = await makeKey(t, ws, owner, 'agent')
    const statuses: number[] = []
    let last: Response | undefined
    for (let i = 0; i < 4; i++) {
      last = await t.request(`/api/v1/workspaces/${ws}`, call(key.who, 'GET'))
      statuses.push(last.status)
    }
    expect(statuses).toEqual([200, 200, 200, 429])
    expect(last!.headers.get('retry-after')).toBe('1')
    expect(last!.headers.get('ratelimit-policy')).toBe('3;w=1, 20;w=10, 100;w=60')
    expect(last!.headers.get('ratelimit-remaining')).toBe('0')
    const body = await last!.json()
    expect(body).toMatchObject({ status: 429, code: 'rate_limited' })
    clock.advance(1000)
    const again = await t.request(`/api/v1/workspaces/${ws}`, call(key.who, 'GET'))
    expect(again.status).toBe(200)
    expect(again.headers.get('ratelimit-limit')).toBe('3')
  })

  test('what RateLimit-Policy publishes holds over HTTP: a key bursting, then steady, for two minutes', async () => {
    const clock = manualClock()
    const t = await createTestApp({ clock, config: { rateLimit: DEFAULT } })
    const owner = await makeUser(t, 'owner@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    const key = await makeKey(t, ws, owner, 'agent')
    const ok: number[] = []
    let policy: string | null = null
    const send = async () => {
      const res = await t.request(`/api/v1/workspaces/${ws}`, call(key.who, 'GET'))
      policy ??= res.headers.get('ratelimit-policy')
      if (res.status === 200) ok.push(clock.now())
      else expect(res.status).toBe(429)
    }
    for (let i = 0; i < 40; i++) await send()
    for (let tick = 0; tick < 480; tick++) {
      clock.advance(250)
      await send()
    }
    expect(policy!).toBe('3;w=1, 20;w=10, 100;w=60')
    expect(mostInAnyWindow(ok, 1000)).toBeLessThanOrEqual(3)
    expect(mostInAnyWindow(ok, 10_000)).toBeLessThanOrEqual(20)
    expect(mostInAnyWindow(ok, 60_000)).toBe(100)
  })

  test('unauthenticated endpoints are metered per client IP', async () => {
    const t = await createTestApp({ clock: manualClock(), config: { rateLimit: DEFAULT } })
    const from = (ip: string) => t.request('/api/v1/setup', { headers: { 'x-test-peer': ip } })
    expect(
      [
        await from('198.51.100.1'),
        await from('198.51.100.1'),
        await from('198.51.100.1'),
        await from('198.51.100.1'),
      ].map((r) => r.status),
    ).toEqual([200, 200, 200, 429])
    expect((await from('198.51.100.2')).status).toBe(200)
    // Bad credentials count against the IP too.
    const bad = []
    for (let i = 0; i < 4; i++)
      bad.push(
        (
          await t.request(
            '/api/v1/me',
            call(anonymous, 'GET', undefined, { authorization: 'Bearer wbx_nope', 'x-test-peer': '198.51.100.3' }),
          )
        ).status,
      )
    expect(bad).toEqual([401, 401, 401, 429])
    // Health and the UI are not metered.
    for (let i = 0; i < 10; i++)
      expect((await t.request('/healthz', { headers: { 'x-test-peer': '198.51.100.1' } })).status).toBe(200)
  })

  test('the signed-in UI has its own, more generous profile', async () => {
    const t = await createTestApp({
      clock: manualClock(),
      config: { rateLimit: DEFAULT, uiRateLimit: profileSpec.parse('30/1s,300/10s,1500/60s') },
    })
    const owner = await makeUser(t, 'owner@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    const statuses = []
    for (let i = 0; i < 31; i++)
      statuses.push((await t.request(`/api/v1/workspaces/${ws}`, call(owner.who, 'GET'))).status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(30)
    expect(statuses.at(-1)).toBe(429)
  })

  test('X-Forwarded-For is believed only from a trusted proxy', async () => {
    const t = await createTestApp({
      clock: manualClock(),
      config: { rateLimit: profileSpec.parse('1/1s'), trustedProxies: ['10.0.0.0/8'] },
    })
    const via = (peer: string, xff: string) =>
      t.request('/api/v1/setup', { headers: { 'x-test-peer': peer, 'x-forwarded-for': xff } })
    // Through the trusted proxy, each forwarded client has its own bucket.
    expect((await via('10.0.0.5', '198.51.100.1')).status).toBe(200)
    expect((await via('10.0.0.5', '198.51.100.2')).status).toBe(200)
    expect((await via('10.0.0.5', '198.51.100.1')).status).toBe(429)
    // From an untrusted peer the header is ignored: rotating it does not buy new buckets.
    expect((await via('203.0.113.9', '1.1.1.1')).status).toBe(200)
    expect((await via('203.0.113.9', '2.2.2.2')).status).toBe(429)
  })
})

describe('client IP', () => {
  const trusted = trustedProxies(['127.0.0.1', '10.0.0.0/8', '::1'])
  test.each([
    ['203.0.113.1', null, '203.0.113.1'],
    ['203.0.113.1', '198.51.100.7', '203.0.113.1'],
    ['127.0.0.1', '198.51.100.7', '198.51.100.7'],
    ['::ffff:127.0.0.1', '198.51.100.7', '198.51.100.7'],
    ['127.0.0.1', '198.51.100.7, 10.1.2.3', '198.51.100.7'],
    ['127.0.0.1', '6.6.6.6, 198.51.100.7', '198.51.100.7'],
    ['127.0.0.1', 'garbage', '127.0.0.1'],
    ['::1', '2001:db8::1', '2001:db8::1'],
  ])('peer %s, X-Forwarded-For %s → %s', (peer, xff, expected) => {
    expect(clientIp(peer, xff, trusted)).toBe(expected)
  })
})
