import { describe, expect, test } from 'bun:test'
import { issueSetupToken } from '../onboarding/onboarding.service.ts'
import { SESSION_ABSOLUTE_MS, SESSION_IDLE_MS } from './sessions.ts'
import { createTestApp } from '../testing/test-app.ts'
import {
  anonymous,
  auditRows,
  call,
  cookieFrom,
  makeUser,
  makeWorkspace,
  manualClock,
  PASSWORD,
  servicesOf,
  withCookie,
} from '../testing/fixtures.ts'

const setupBody = (token: string | null, extra: Record<string, unknown> = {}) => ({
  token,
  email: 'Operator@Example.com',
  password: 'operator password 1',
  workspaceName: 'Acme',
  ...extra,
})

describe('first start: operator setup', () => {
  test('the setup link creates the operator, the first workspace and an Owner membership, once', async () => {
    const clock = manualClock()
    const t = await createTestApp({ clock })
    expect(await (await t.request('/api/v1/setup')).json()).toEqual({ required: true })
    const token = await issueSetupToken(servicesOf(t))
    expect(token).toMatch(/^[A-Za-z0-9]{43}$/)

    const wrong = await t.request('/api/v1/setup', call(anonymous, 'POST', setupBody('x'.repeat(43))))
    expect(wrong.status).toBe(401)
    expect((await wrong.json()).code).toBe('invalid_setup_token')

    const res = await t.request('/api/v1/setup', call(anonymous, 'POST', setupBody(token)))
    expect(res.status).toBe(201)
    const body = await res.json()
    expect(body.user).toMatchObject({ email: 'operator@example.com', isOperator: true })
    expect(body.workspace).toMatchObject({ name: 'Acme', plan: 'business' })
    const me = await (await t.request('/api/v1/me', call(withCookie(cookieFrom(res)), 'GET'))).json()
    expect(me.memberships).toEqual([
      { workspaceId: body.workspace.id, workspaceName: 'Acme', plan: 'business', role: 'owner' },
    ])

    // Single use: the same token (or any) now gets 410, and the endpoint says setup is done.
    const again = await t.request(
      '/api/v1/setup',
      call(anonymous, 'POST', setupBody(token, { email: 'second@example.com' })),
    )
    expect(again.status).toBe(410)
    expect((await again.json()).code).toBe('setup_complete')
    expect(await (await t.request('/api/v1/setup')).json()).toEqual({ required: false })
    expect(await issueSetupToken(servicesOf(t))).toBeNull()
    expect((await auditRows(t)).map((r) => r.action)).toEqual(['workspace.created', 'instance.setup'])
  })

  test('the setup token expires after one hour; a restart issues a new one and the old stops working', async () => {
    const clock = manualClock()
    const t = await createTestApp({ clock })
    const first = await issueSetupToken(servicesOf(t))
    clock.advance(60 * 60_000 + 1)
    const expired = await t.request('/api/v1/setup', call(anonymous, 'POST', setupBody(first)))
    expect(expired.status).toBe(401)
    expect((await expired.json()).code).toBe('setup_token_expired')
    const second = await issueSetupToken(servicesOf(t))
    expect(second).not.toBe(first)
    expect((await t.request('/api/v1/setup', call(anonymous, 'POST', setupBody(first)))).status).toBe(401)
    expect((await t.request('/api/v1/setup', call(anonymous, 'POST', setupBody(second)))).status).toBe(201)
  })

  test('weak passwords and bad emails are refused with field errors', async () => {
    const t = await createTestApp()
    const token = await issueSetupToken(servicesOf(t))
    const res = await t.request(
      '/api/v1/setup',
      call(anonymous, 'POST', setupBody(token, { password: 'short', email: 'not-an-email' })),
    )
    expect(res.status).toBe(422)
    const fields = (await res.json()).errors.map((e: { field: string }) => e.field).sort()
    expect(fields).toEqual(['email', 'password'])
    expect(await (await t.request('/api/v1/setup')).json()).toEqual({ required: true })
  })
})

describe('sessions', () => {
  test('login sets an HttpOnly SameSite cookie; logout ends the session', async () => {
    const t = await createTestApp()
    await makeUser(t, 'ann@example.com')
    const res = await t.request(
      '/api/v1/auth/login',
      call(anonymous, 'POST', { email: 'ANN@example.com', password: PASSWORD }),
    )
    expect(res.status).toBe(200)
    const setCookie = res.headers.get('set-cookie')!
    expect(setCookie).toMatch(/^wabox_session=[A-Za-z0-9]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/)
    const who = withCookie(cookieFrom(res))
    expect((await t.request('/api/v1/me', call(who, 'GET'))).status).toBe(200)
    // Only the SHA-256 of the token is stored.
    const token = cookieFrom(res).split('=')[1]!
    const rows = await t.db.db.selectFrom('sessions').select('token_hash').execute()
    expect(rows.some((r) => r.token_hash === new Bun.CryptoHasher('sha256').update(token).digest('hex'))).toBe(true)
    expect(JSON.stringify(rows)).not.toContain(token)

    const out = await t.request('/api/v1/auth/logout', call(who, 'POST'))
    expect(out.status).toBe(204)
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0')
    const after = await t.request('/api/v1/me', call(who, 'GET'))
    expect(after.status).toBe(401)
    expect((await after.json()).code).toBe('session_expired')
  })

  test('the cookie is Secure when the public URL is https', async () => {
    const t = await createTestApp({ config: { publicUrl: 'https://wa.example.com' } })
    await makeUser(t, 'ann@example.com')
    const res = await t.request(
      '/api/v1/auth/login',
      call(anonymous, 'POST', { email: 'ann@example.com', password: PASSWORD }),
    )
    expect(res.headers.get('set-cookie')).toEndWith('; Secure')
  })

  test('sliding idle expiry and absolute expiry (injected clock)', async () => {
    const clock = manualClock()
    const t = await createTestApp({ clock })
    const user = await makeUser(t, 'ann@example.com')
    // Used regularly, the session slides...
    for (let elapsed = 0; elapsed < SESSION_ABSOLUTE_MS - SESSION_IDLE_MS; elapsed += SESSION_IDLE_MS / 2) {
      expect((await t.request('/api/v1/me', call(user.who, 'GET'))).status).toBe(200)
      clock.advance(SESSION_IDLE_MS / 2)
    }
    // ...but never past its absolute lifetime.
    clock.set(Date.parse('2026-11-22T10:00:00Z') + SESSION_ABSOLUTE_MS + 1)
    expect((await t.request('/api/v1/me', call(user.who, 'GET'))).status).toBe(401)

    const idle = await makeUser(t, 'idle@example.com')
    clock.advance(SESSION_IDLE_MS - 1000)
    expect((await t.request('/api/v1/me', call(idle.who, 'GET'))).status).toBe(200)
    clock.advance(SESSION_IDLE_MS + 1)
    expect((await t.request('/api/v1/me', call(idle.who, 'GET'))).status).toBe(401)
    expect(await t.db.db.selectFrom('sessions').where('user_id', '=', idle.id).selectAll().execute()).toEqual([])
  })

  test('changing the password revokes every other session; the wrong current password changes nothing', async () => {
    const t = await createTestApp()
    const user = await makeUser(t, 'ann@example.com')
    const other = withCookie(
      cookieFrom(
        await t.request(
          '/api/v1/auth/login',
          call(anonymous, 'POST', { email: 'ann@example.com', password: PASSWORD }),
        ),
      ),
    )
    const wrong = await t.request(
      '/api/v1/me/password',
      call(user.who, 'POST', { currentPassword: 'not it at all', newPassword: 'another password 22' }),
    )
    expect(wrong.status).toBe(403)
    expect((await t.request('/api/v1/me', call(other, 'GET'))).status).toBe(200)
    const weak = await t.request(
      '/api/v1/me/password',
      call(user.who, 'POST', { currentPassword: PASSWORD, newPassword: 'short' }),
    )
    expect(weak.status).toBe(422)
    expect((await weak.json()).errors[0].field).toBe('newPassword')

    const ok = await t.request(
      '/api/v1/me/password',
      call(user.who, 'POST', { currentPassword: PASSWORD, newPassword: 'another password 22' }),
    )
    expect(ok.status).toBe(204)
    expect((await t.request('/api/v1/me', call(user.who, 'GET'))).status).toBe(200)
    expect((await t.request('/api/v1/me', call(other, 'GET'))).status).toBe(401)
    expect(
      (await t.request('/api/v1/auth/login', call(anonymous, 'POST', { email: 'ann@example.com', password: PASSWORD })))
        .status,
    ).toBe(401)
    expect(
      (
        await t.request(
          '/api/v1/auth/login',
          call(anonymous, 'POST', { email: 'ann@example.com', password: 'another password 22' }),
        )
      ).status,
    ).toBe(200)
    const audit = (await auditRows(t)).filter((r) => r.action === 'user.password_changed')
    expect(audit).toHaveLength(1)
    expect(JSON.parse(audit[0]!.metadata)).toEqual({ revokedSessions: 1 })
  })

  test('CSRF: a cookie-authenticated change must be same-origin', async () => {
    const t = await createTestApp()
    const user = await makeUser(t, 'ann@example.com')
    const ws = await makeWorkspace(t, 'Acme', user)
    const cookie = user.who.headers.cookie!
    const patch = (headers: Record<string, string>) =>
      t.request(`/api/v1/workspaces/${ws}`, {
        method: 'PATCH',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ name: 'Hijacked' }),
      })
    for (const headers of [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example' },
      {},
    ] as Record<string, string>[]) {
      const res = await patch(headers)
      expect({ headers, status: res.status }).toEqual({ headers, status: 403 })
      expect((await res.json()).code).toBe('cross_site_request')
    }
    const reads = await t.request(`/api/v1/workspaces/${ws}`, { headers: { cookie, 'sec-fetch-site': 'cross-site' } })
    expect((await reads.json()).name).toBe('Acme') // reads are harmless and nothing changed
    expect((await patch({ 'sec-fetch-site': 'same-origin' })).status).toBe(200)
    expect((await patch({ origin: 'http://localhost' })).status).toBe(200)
    // Signing in from another site is refused too (login CSRF).
    const login = await t.request(
      '/api/v1/auth/login',
      call(anonymous, 'POST', { email: 'ann@example.com', password: PASSWORD }, { 'sec-fetch-site': 'cross-site' }),
    )
    expect(login.status).toBe(403)
  })
})

describe('brute-force protection', () => {
  async function attempt(t: Awaited<ReturnType<typeof createTestApp>>, email: string, ip = '198.51.100.7') {
    const res = await t.request(
      '/api/v1/auth/login',
      call(anonymous, 'POST', { email, password: 'wrong password!' }, { 'x-test-peer': ip }),
    )
    const body = await res.json()
    return { status: res.status, code: body.code, detail: body.detail, retryAfter: res.headers.get('retry-after') }
  }

  test('growing delays, then a lockout; audited; identical for unknown emails', async () => {
    const runs: Record<string, { status: number; code: string; detail: string; retryAfter: string | null }[]> = {}
    for (const email of ['ann@example.com', 'nobody@example.com']) {
      const clock = manualClock()
      const t = await createTestApp({ clock })
      await makeUser(t, 'ann@example.com')
      const seen: (typeof runs)[string] = []
      for (let i = 1; i <= 4; i++) seen.push(await attempt(t, email))
      seen.push(await attempt(t, email)) // 5th failure: from now on each failure costs a wait
      seen.push(await attempt(t, email)) // too soon
      clock.advance(1000)
      seen.push(await attempt(t, email)) // 6th failure
      seen.push(await attempt(t, email)) // too soon: now 2 s
      for (let n = 7; n <= 10; n++) {
        clock.advance(2 ** (n - 6) * 1000)
        seen.push(await attempt(t, email))
      }
      seen.push(await attempt(t, email)) // locked for 15 minutes
      clock.advance(15 * 60_000)
      seen.push(await attempt(t, email)) // free to try again
      runs[email] = seen
      const actions = (await auditRows(t)).map((r) => r.action)
      expect(actions.filter((a) => a === 'auth.login_failed')).toHaveLength(11)
      expect(actions.filter((a) => a === 'auth.lockout')).toHaveLength(1)
      const lockout = (await auditRows(t)).find((r) => r.action === 'auth.lockout')!
      expect(JSON.parse(lockout.metadata)).toMatchObject({ scope: 'account', email })
      expect(lockout.ip).toBe('198.51.100.7')
    }
    const known = runs['ann@example.com']!
    expect(known.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 429, 401, 429, 401, 401, 401, 401, 429, 401])
    expect(known[5]!.retryAfter).toBe('1')
    expect(known[7]!.retryAfter).toBe('2')
    expect(known[12]!.retryAfter).toBe('900')
    expect(known.every((r) => r.code === (r.status === 401 ? 'invalid_credentials' : 'login_throttled'))).toBe(true)
    // The unknown email sees exactly the same answers.
    expect(runs['nobody@example.com']).toEqual(known)
  })

  test('a correct password during a lockout is still refused; other accounts are unaffected', async () => {
    const clock = manualClock()
    const t = await createTestApp({ clock })
    await makeUser(t, 'ann@example.com')
    await makeUser(t, 'bob@example.com')
    for (let n = 1; n <= 10; n++) {
      await attempt(t, 'ann@example.com', `198.51.100.${n}`)
      clock.advance(2 ** Math.max(0, n - 5) * 1000)
    }
    const locked = await t.request(
      '/api/v1/auth/login',
      call(anonymous, 'POST', { email: 'ann@example.com', password: PASSWORD }),
    )
    expect(locked.status).toBe(429)
    const bob = await t.request(
      '/api/v1/auth/login',
      call(anonymous, 'POST', { email: 'bob@example.com', password: PASSWORD }),
    )
    expect(bob.status).toBe(200)
  })

  test('concurrent guesses cannot slip past the counter; a password typed as the email is not audited', async () => {
    const t = await createTestApp({ clock: manualClock() })
    await makeUser(t, 'ann@example.com')
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        t.request(
          '/api/v1/auth/login',
          call(anonymous, 'POST', { email: 'ann@example.com', password: `guess ${i} ${i}` }),
        ),
      ),
    )
    const statuses = results.map((r) => r.status)
    expect(statuses.filter((s) => s === 401)).toHaveLength(5)
    expect(statuses.filter((s) => s === 429)).toHaveLength(25)
    await t.request('/api/v1/auth/login', call(anonymous, 'POST', { email: 'MySecretPassw0rd!', password: 'whatever' }))
    const rows = JSON.stringify(await auditRows(t))
    expect(rows).not.toContain('MySecretPassw0rd!')
    expect(rows).toContain('(not an email address)')
  })

  test('per-IP lockout across many accounts', async () => {
    const clock = manualClock()
    const t = await createTestApp({ clock })
    await makeUser(t, 'ann@example.com')
    const statuses: number[] = []
    for (let n = 1; n <= 40; n++) {
      // Wait out each delay (they double from the 20th failure, capped at 30 s).
      if (n > 20) clock.advance(Math.min(30, 2 ** (n - 21)) * 1000)
      statuses.push((await attempt(t, `spray${n}@example.com`, '192.0.2.66')).status)
    }
    expect(statuses.filter((s) => s === 429)).toEqual([])
    const blocked = await t.request(
      '/api/v1/auth/login',
      call(anonymous, 'POST', { email: 'ann@example.com', password: PASSWORD }, { 'x-test-peer': '192.0.2.66' }),
    )
    expect(blocked.status).toBe(429)
    const elsewhere = await t.request(
      '/api/v1/auth/login',
      call(anonymous, 'POST', { email: 'ann@example.com', password: PASSWORD }, { 'x-test-peer': '192.0.2.67' }),
    )
    expect(elsewhere.status).toBe(200)
    expect((await auditRows(t)).some((r) => r.action === 'auth.lockout' && JSON.parse(r.metadata).scope === 'ip')).toBe(
      true,
    )
  })
})
