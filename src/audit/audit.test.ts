import { describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import { issueSetupToken } from '../onboarding/onboarding.service.ts'
import { createTestApp, type TestApp } from '../testing/test-app.ts'
import {
  addMember,
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
  withKey,
} from '../testing/fixtures.ts'

async function world(t: TestApp) {
  const operator = await makeUser(t, 'op@example.com', { operator: true })
  const owner = await makeUser(t, 'owner@example.com')
  const ws = await makeWorkspace(t, 'Acme', owner)
  const agent = await makeUser(t, 'agent@example.com')
  await addMember(t, ws, agent, 'agent')
  return { operator, owner, ws, agent }
}

describe('audit log', () => {
  test('each sensitive action writes exactly one row with actor, target, metadata, IP and request id', async () => {
    const t = await createTestApp()
    const { operator, owner, ws, agent } = await world(t)
    let inviteId = ''
    let keyId = ''
    const steps: [
      string,
      () => Promise<Response>,
      {
        action: string
        workspace: string | null
        actor: string | null
        target?: string
        metadata?: Record<string, unknown>
      },
    ][] = [
      [
        'invite',
        () =>
          t.request(
            `/api/v1/workspaces/${ws}/invites`,
            call(owner.who, 'POST', { email: 'new@example.com', role: 'analyst' }),
          ),
        {
          action: 'invite.created',
          workspace: ws,
          actor: owner.id,
          metadata: { email: 'new@example.com', role: 'analyst' },
        },
      ],
      [
        'revoke invite',
        () => t.request(`/api/v1/workspaces/${ws}/invites/${inviteId}`, call(owner.who, 'DELETE')),
        { action: 'invite.revoked', workspace: ws, actor: owner.id },
      ],
      [
        'create key',
        () =>
          t.request(`/api/v1/workspaces/${ws}/api-keys`, call(owner.who, 'POST', { name: 'zapier', role: 'agent' })),
        { action: 'apikey.created', workspace: ws, actor: owner.id, metadata: { name: 'zapier', role: 'agent' } },
      ],
      [
        'revoke key',
        () => t.request(`/api/v1/workspaces/${ws}/api-keys/${keyId}`, call(owner.who, 'DELETE')),
        { action: 'apikey.revoked', workspace: ws, actor: owner.id },
      ],
      [
        'role change',
        () => t.request(`/api/v1/workspaces/${ws}/members/${agent.id}`, call(owner.who, 'PATCH', { role: 'admin' })),
        {
          action: 'member.role_changed',
          workspace: ws,
          actor: owner.id,
          target: agent.id,
          metadata: { from: 'agent', to: 'admin' },
        },
      ],
      [
        'rename',
        () => t.request(`/api/v1/workspaces/${ws}`, call(owner.who, 'PATCH', { name: 'Acme 2' })),
        {
          action: 'workspace.updated',
          workspace: ws,
          actor: owner.id,
          metadata: { name: { from: 'Acme', to: 'Acme 2' } },
        },
      ],
      [
        'plan',
        () => t.request(`/api/v1/admin/workspaces/${ws}/plan`, call(operator.who, 'PUT', { plan: 'team' })),
        {
          action: 'workspace.plan_changed',
          workspace: ws,
          actor: operator.id,
          metadata: { from: 'business', to: 'team' },
        },
      ],
      [
        'transfer',
        () => t.request(`/api/v1/workspaces/${ws}/transfer-ownership`, call(owner.who, 'POST', { userId: agent.id })),
        { action: 'workspace.ownership_transferred', workspace: ws, actor: owner.id, target: agent.id },
      ],
      [
        'removal',
        () => t.request(`/api/v1/workspaces/${ws}/members/${owner.id}`, call(agent.who, 'DELETE')),
        { action: 'member.removed', workspace: ws, actor: agent.id, target: owner.id },
      ],
      [
        'login failure',
        () =>
          t.request(
            '/api/v1/auth/login',
            call(anonymous, 'POST', { email: 'agent@example.com', password: 'wrong wrong wrong' }),
          ),
        { action: 'auth.login_failed', workspace: null, actor: null, metadata: { email: 'agent@example.com' } },
      ],
      [
        'login',
        () =>
          t.request('/api/v1/auth/login', call(anonymous, 'POST', { email: 'agent@example.com', password: PASSWORD })),
        { action: 'auth.login', workspace: null, actor: agent.id },
      ],
      [
        'password',
        () =>
          t.request(
            '/api/v1/me/password',
            call(agent.who, 'POST', { currentPassword: PASSWORD, newPassword: 'new agent password' }),
          ),
        { action: 'user.password_changed', workspace: null, actor: agent.id },
      ],
    ]
    for (const [name, run, expected] of steps) {
      const before = (await auditRows(t)).length
      const res = await run()
      expect({ name, ok: res.ok }).toEqual({ name, ok: name !== 'login failure' })
      if (name === 'invite') inviteId = (await res.json()).invite.id
      if (name === 'create key') keyId = (await res.json()).id
      const added = (await auditRows(t)).slice(before)
      expect({ name, actions: added.map((r) => r.action) }).toEqual({ name, actions: [expected.action] })
      const row = added[0]!
      expect(row.workspace_id).toBe(expected.workspace)
      expect(row.actor_id).toBe(expected.actor)
      if (expected.target) expect(row.target_id).toBe(expected.target)
      if (expected.metadata) expect(JSON.parse(row.metadata)).toMatchObject(expected.metadata)
      expect(row.ip).toBe('203.0.113.10')
      expect(row.request_id).toBe(res.headers.get('x-request-id')!)
      expect(Date.parse(row.created_at)).toBeGreaterThan(0)
    }
  })

  test('written in the same transaction: a change that fails after auditing leaves no audit row', async () => {
    const t = await createTestApp()
    const { owner, ws } = await world(t)
    // Simulate the database failing mid-change: deleting this workspace aborts.
    await sql`CREATE TRIGGER fail_delete BEFORE DELETE ON workspaces BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`.execute(
      t.db.db,
    )
    const before = await auditRows(t)
    const res = await t.request(`/api/v1/workspaces/${ws}`, call(owner.who, 'DELETE', { confirmName: 'Acme' }))
    expect(res.status).toBe(500)
    expect(JSON.stringify(await res.json())).not.toContain('disk on fire')
    expect(await auditRows(t)).toEqual(before)
    expect((await t.request(`/api/v1/workspaces/${ws}`, call(owner.who, 'GET'))).status).toBe(200)
  })

  test('append-only: no API route updates or deletes audit rows, and the database refuses updates', async () => {
    const t = await createTestApp()
    await world(t)
    const routes = (t.app as unknown as { routes: { method: string; path: string }[] }).routes
    expect(
      routes.filter((r) => r.path.includes('audit') && r.method !== 'GET').map((r) => `${r.method} ${r.path}`),
    ).toEqual([])
    const err = await sql`UPDATE audit_log SET action = 'x'`.execute(t.db.db).catch((e: Error) => e)
    expect(String(err)).toContain('append-only')
  })

  test('filters, cursor pagination and CSV export', async () => {
    const clock = manualClock()
    const t = await createTestApp({ clock })
    const { owner, ws, agent } = await world(t)
    for (let i = 0; i < 5; i++) {
      await t.request(
        `/api/v1/workspaces/${ws}/invites`,
        call(owner.who, 'POST', { email: `p${i}@example.com`, role: 'agent' }),
      )
      clock.advance(60_000)
    }
    await t.request(`/api/v1/workspaces/${ws}/members/${agent.id}`, call(owner.who, 'PATCH', { role: 'analyst' }))
    const get = async (q: string) =>
      (await t.request(`/api/v1/workspaces/${ws}/audit${q}`, call(owner.who, 'GET'))).json()

    const invites = await get('?action=invite.created&limit=2')
    expect(invites.items.map((e: { metadata: { email: string } }) => e.metadata.email)).toEqual([
      'p4@example.com',
      'p3@example.com',
    ])
    const next = await get(`?action=invite.created&limit=2&cursor=${invites.nextCursor}`)
    expect(next.items.map((e: { metadata: { email: string } }) => e.metadata.email)).toEqual([
      'p2@example.com',
      'p1@example.com',
    ])
    const last = await get(`?action=invite.created&limit=2&cursor=${next.nextCursor}`)
    expect(last.items).toHaveLength(1)
    expect(last.nextCursor).toBeNull()

    expect((await get('?action=member.*')).items.map((e: { action: string }) => e.action)).toEqual([
      'member.role_changed',
    ])
    expect((await get(`?actor=${agent.id}`)).items).toEqual([])
    const start = '2026-11-22T10:01:00.000Z'
    const end = '2026-11-22T10:03:00.000Z'
    const ranged = await get(`?from=${start}&to=${end}`)
    expect(ranged.items.map((e: { metadata: { email: string } }) => e.metadata.email)).toEqual([
      'p2@example.com',
      'p1@example.com',
    ])

    const bad = await t.request(`/api/v1/workspaces/${ws}/audit?from=yesterday`, call(owner.who, 'GET'))
    expect(bad.status).toBe(400)
    expect((await bad.json()).errors[0].field).toBe('from')
    expect((await t.request(`/api/v1/workspaces/${ws}/audit?cursor=bogus`, call(owner.who, 'GET'))).status).toBe(400)

    const csv = await t.request(
      `/api/v1/workspaces/${ws}/audit?format=csv&action=invite.created`,
      call(owner.who, 'GET'),
    )
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(csv.headers.get('content-disposition')).toContain('attachment')
    const lines = (await csv.text()).trim().split('\r\n')
    expect(lines[0]).toBe('id,at,action,actor_type,actor_id,actor_label,target_type,target_id,ip,request_id,metadata')
    expect(lines).toHaveLength(6)
    expect(lines[1]).toContain(',invite.created,user,')
  })

  test('CSV cells cannot smuggle spreadsheet formulas', async () => {
    const { toCsv } = await import('./audit.service.ts')
    const csv = toCsv([
      {
        id: 1,
        workspaceId: 'w',
        at: 'now',
        action: 'x',
        actor: { type: 'user', id: 'u', label: '=HYPERLINK("http://evil")' },
        target: null,
        metadata: {},
        ip: '',
        requestId: '',
      },
    ])
    expect(csv).toContain(`"'=HYPERLINK(""http://evil"")"`)
  })
})

describe('secrets never leak', () => {
  test('passwords, session cookies, API keys, invite and setup tokens appear in no response, audit row or log line', async () => {
    const t = await createTestApp()
    const secrets: string[] = []
    const setupToken = (await issueSetupToken(servicesOf(t)))!
    secrets.push(setupToken, 'operator secret pw 1')
    const setup = await t.request(
      '/api/v1/setup',
      call(anonymous, 'POST', {
        token: setupToken,
        email: 'op@example.com',
        password: 'operator secret pw 1',
        workspaceName: 'Acme',
      }),
    )
    const opCookie = cookieFrom(setup)
    secrets.push(opCookie.split('=')[1]!)
    const ws = (await setup.json()).workspace.id
    const op = withCookie(opCookie)
    const responses: string[] = []
    const keep = async (res: Response) => {
      responses.push(
        res.status === 204 ? '' : await res.clone().text(),
        [...(res.headers as unknown as Iterable<[string, string]>)].filter(([k]) => k !== 'set-cookie').join('\n'),
      )
      return res
    }
    const key = await (
      await t.request(`/api/v1/workspaces/${ws}/api-keys`, call(op, 'POST', { name: 'k', role: 'admin' }))
    ).json()
    secrets.push(key.token)
    const invite = await (
      await t.request(`/api/v1/workspaces/${ws}/invites`, call(op, 'POST', { email: 'b@example.com', role: 'agent' }))
    ).json()
    const inviteToken = new URL(invite.acceptUrl).searchParams.get('token')!
    secrets.push(inviteToken, 'invitee secret pw 2')
    await keep(
      await t.request(
        '/api/v1/invites/accept',
        call(anonymous, 'POST', { token: inviteToken, email: 'b@example.com', password: 'invitee secret pw 2' }),
      ),
    )
    await keep(
      await t.request(
        '/api/v1/auth/login',
        call(anonymous, 'POST', { email: 'op@example.com', password: 'wrong secret pw 3' }),
      ),
    )
    secrets.push('wrong secret pw 3', 'new operator secret 4')
    await keep(
      await t.request(
        '/api/v1/me/password',
        call(op, 'POST', { currentPassword: 'operator secret pw 1', newPassword: 'new operator secret 4' }),
      ),
    )
    await keep(
      await t.request(
        '/api/v1/me/password',
        call(op, 'POST', { currentPassword: 'operator secret pw 1', newPassword: 'x' }),
      ),
    )
    for (const path of ['members', 'invites', 'api-keys', 'audit', 'audit?format=csv']) {
      await keep(await t.request(`/api/v1/workspaces/${ws}/${path}`, call(withKey(key.token), 'GET')))
    }
    await keep(await t.request('/api/v1/me', call(op, 'GET', undefined, { authorization: `Bearer ${key.token}x` })))
    await keep(
      await t.request(
        `/api/v1/workspaces/${ws}/api-keys`,
        call(op, 'POST', { name: 'k2', role: 'owner', token: key.token }),
      ),
    )
    await Bun.sleep(10)
    const audit = JSON.stringify(await auditRows(t))
    const everything = { responses: responses.join('\n'), audit, logs: t.logLines.join('\n') }
    expect(t.logLines.length).toBeGreaterThan(10)
    for (const secret of secrets) {
      for (const [where, text] of Object.entries(everything)) {
        expect({ where, leaked: text.includes(secret) }).toEqual({ where, leaked: false })
      }
    }
  })
})
