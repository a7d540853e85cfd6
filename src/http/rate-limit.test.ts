import { describe, expect, test } from 'bun:test'
import { RateLimiter, profileSpec } from './rate-limit.ts'
import { clientIp, trustedProxies } from './client-ip.ts'
import { createTestApp } from '../testing/test-app.ts'
import { anonymous, call, makeKey, makeUser, makeWorkspace, manualClock } from '../testing/fixtures.ts'

const DEFAULT = profileSpec.parse('3/1s,20/10s,100/60s')

describe('token buckets', () => {
  test('exactly the allowed count passes in each window; the next gets the right Retry-After', () => {
    const clock = manualClock()
    const limiter = new RateLimiter({ name: 'api', windows: DEFAULT }, clock)
    // 3 per second.
    expect([1, 2, 3, 4].map(() => limiter.take('k').allowed)).toEqual([true, true, true, false])
    const refused = limiter.take('k')
    expect(refused.retryAfterSeconds).toBe(1)
    // Each window on its own: a burst passes exactly its limit, then waits for one token's refill.
    for (const [spec, limit, retryAfter] of [
      ['20/10s', 20, 1],
      ['100/60s', 100, 1],
      ['5/30s', 5, 6],
    ] as const) {
      const l = new RateLimiter({ name: 'api', windows: profileSpec.parse(spec) }, clock)
      const results = Array.from({ length: limit + 1 }, () => l.take('k'))
      expect({ spec, passed: results.filter((r) => r.allowed).length }).toEqual({ spec, passed: limit })
      expect({ spec, retryAfter: results.at(-1)!.retryAfterSeconds }).toEqual({ spec, retryAfter })
    }
    // Combined: three per second keep passing until the 10 s window (20, refilling 2/s) runs dry.
    const combined = new RateLimiter({ name: 'api', windows: DEFAULT }, clock)
    const perSecond: number[] = []
    for (let second = 0; second < 21; second++) {
      perSecond.push([1, 2, 3, 4].filter(() => combined.take('k').allowed).length)
      clock.advance(1000)
    }
    // Before second s the 10 s bucket holds 20 - s (3 taken, 2 refilled per second): 3 fit while 20 - s ≥ 3.
    expect(perSecond).toEqual([...Array(18).fill(3), 2, 2, 2])
  })

  test('a refused request takes no tokens, and waiting the Retry-After is enough', () => {
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

  test('memory stays bounded under 100k distinct keys', () => {
    const clock = manualClock()
    const limiter = new RateLimiter({ name: 'api', windows: DEFAULT }, clock, 10_000)
    for (let i = 0; i < 100_000; i++) {
      limiter.take(`ip:10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`)
      if (i % 1000 === 0) clock.advance(1)
    }
    expect(limiter.size).toBeLessThanOrEqual(10_000)
    expect(limiter.size).toBeGreaterThan(0)
    // Idle buckets are full again, so forgetting them changes nothing for their owners.
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

  test('unauthenticated endpoints are metered per client IP', async () => {
    const t = await createTestApp({ clock: manualClock(), config: { rateLimit: DEFAULT } })
    const from = (ip: string) => t.request('/api/v1/setup', { headers: { 'x-test-peer': ip } })
    expect([await from('198.51.100.1'), await from('198.51.100.1'), await from('198.51.100.1'), await from('198.51.100.1')].map((r) => r.status)).toEqual([200, 200, 200, 429])
    expect((await from('198.51.100.2')).status).toBe(200)
    // Bad credentials count against the IP too.
    const bad = []
    for (let i = 0; i < 4; i++) bad.push((await t.request('/api/v1/me', call(anonymous, 'GET', undefined, { authorization: 'Bearer wbx_nope', 'x-test-peer': '198.51.100.3' }))).status)
    expect(bad).toEqual([401, 401, 401, 429])
    // Health and the UI are not metered.
    for (let i = 0; i < 10; i++) expect((await t.request('/healthz', { headers: { 'x-test-peer': '198.51.100.1' } })).status).toBe(200)
  })

  test('the signed-in UI has its own, more generous profile', async () => {
    const t = await createTestApp({ clock: manualClock(), config: { rateLimit: DEFAULT, uiRateLimit: profileSpec.parse('30/1s,300/10s,1500/60s') } })
    const owner = await makeUser(t, 'owner@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    const statuses = []
    for (let i = 0; i < 31; i++) statuses.push((await t.request(`/api/v1/workspaces/${ws}`, call(owner.who, 'GET'))).status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(30)
    expect(statuses.at(-1)).toBe(429)
  })

  test('X-Forwarded-For is believed only from a trusted proxy', async () => {
    const t = await createTestApp({ clock: manualClock(), config: { rateLimit: profileSpec.parse('1/1s'), trustedProxies: ['10.0.0.0/8'] } })
    const via = (peer: string, xff: string) => t.request('/api/v1/setup', { headers: { 'x-test-peer': peer, 'x-forwarded-for': xff } })
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
