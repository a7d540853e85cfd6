import { describe, expect, test } from 'bun:test'
import { createTestApp, type TestApp } from '../testing/test-app.ts'
import {
  addMember,
  anonymous,
  auditRows,
  call,
  cookieFrom,
  makeKey,
  makeUser,
  makeWorkspace,
  manualClock,
  PASSWORD,
  withCookie,
  type FixtureUser,
} from '../testing/fixtures.ts'

async function team(t: TestApp, plan = 'business') {
  const owner = await makeUser(t, 'owner@acme.example')
  const ws = await makeWorkspace(t, 'Acme', owner, plan)
  const admin = await makeUser(t, 'admin@acme.example')
  const agent = await makeUser(t, 'agent@acme.example')
  await addMember(t, ws, admin, 'admin')
  await addMember(t, ws, agent, 'agent')
  return { owner, admin, agent, ws }
}

const tokenOf = (acceptUrl: string) => new URL(acceptUrl).searchParams.get('token')!

async function invite(t: TestApp, who: FixtureUser, ws: string, email: string, role: string, expiresInHours?: number) {
  return t.request(
    `/api/v1/workspaces/${ws}/invites`,
    call(who.who, 'POST', { email, role, ...(expiresInHours ? { expiresInHours } : {}) }),
  )
}

describe('invites', () => {
  test('accepting creates the account with the invited role, signs in, and the link cannot be reused', async () => {
    const t = await createTestApp()
    const { owner, ws } = await team(t)
    const res = await invite(t, owner, ws, 'New.Agent@Example.com', 'agent')
    expect(res.status).toBe(201)
    const created = await res.json()
    expect(created.invite).toMatchObject({ email: 'new.agent@example.com', role: 'agent', status: 'pending' })
    expect(created.acceptUrl).toStartWith('http://localhost:8080/invite?token=')
    const token = tokenOf(created.acceptUrl)
    // Only the hash is stored.
    const stored = await t.db.db
      .selectFrom('invites')
      .selectAll()
      .where('id', '=', created.invite.id)
      .executeTakeFirstOrThrow()
    expect(JSON.stringify(stored)).not.toContain(token)

    const preview = await (await t.request(`/api/v1/invites/preview?token=${token}`)).json()
    expect(preview).toMatchObject({ workspaceName: 'Acme', email: 'new.agent@example.com', role: 'agent' })

    const accepted = await t.request(
      '/api/v1/invites/accept',
      call(anonymous, 'POST', { token, email: 'new.agent@example.com', password: 'brand new password', name: 'Nia' }),
    )
    expect(accepted.status).toBe(200)
    expect(await accepted.json()).toMatchObject({
      workspaceId: ws,
      role: 'agent',
      user: { email: 'new.agent@example.com', name: 'Nia' },
    })
    const me = await (await t.request('/api/v1/me', call(withCookie(cookieFrom(accepted)), 'GET'))).json()
    expect(me.memberships).toEqual([{ workspaceId: ws, workspaceName: 'Acme', plan: 'business', role: 'agent' }])

    const reuse = await t.request(
      '/api/v1/invites/accept',
      call(anonymous, 'POST', { token, email: 'new.agent@example.com', password: 'brand new password' }),
    )
    expect(reuse.status).toBe(410)
    expect((await reuse.json()).code).toBe('invite_accepted')
    const list = await (await t.request(`/api/v1/workspaces/${ws}/invites`, call(owner.who, 'GET'))).json()
    expect(list.items[0].status).toBe('accepted')
    expect((await auditRows(t)).filter((r) => r.workspace_id === ws).map((r) => r.action)).toEqual([
      'workspace.created',
      'invite.created',
      'invite.accepted',
    ])
  })

  test('expiry, email mismatch, revocation, and an existing account joining with its password', async () => {
    const clock = manualClock()
    const t = await createTestApp({ clock })
    const { owner, ws } = await team(t)
    const short = tokenOf((await (await invite(t, owner, ws, 'late@example.com', 'analyst', 1)).json()).acceptUrl)
    clock.advance(3600_000 + 1)
    const late = await t.request(
      '/api/v1/invites/accept',
      call(anonymous, 'POST', { token: short, email: 'late@example.com', password: 'brand new password' }),
    )
    expect(late.status).toBe(410)
    expect((await late.json()).code).toBe('invite_expired')

    const token = tokenOf((await (await invite(t, owner, ws, 'right@example.com', 'analyst')).json()).acceptUrl)
    const mismatch = await t.request(
      '/api/v1/invites/accept',
      call(anonymous, 'POST', { token, email: 'wrong@example.com', password: 'brand new password' }),
    )
    expect(mismatch.status).toBe(403)
    expect((await mismatch.json()).code).toBe('invite_email_mismatch')
    expect(await t.db.db.selectFrom('users').where('email', '=', 'wrong@example.com').selectAll().execute()).toEqual([])

    const existing = await makeUser(t, 'existing@example.com')
    const joinToken = tokenOf((await (await invite(t, owner, ws, 'existing@example.com', 'admin')).json()).acceptUrl)
    const badPassword = await t.request(
      '/api/v1/invites/accept',
      call(anonymous, 'POST', { token: joinToken, email: 'existing@example.com', password: 'not the password' }),
    )
    expect(badPassword.status).toBe(401)
    const joined = await t.request(
      '/api/v1/invites/accept',
      call(anonymous, 'POST', { token: joinToken, email: 'existing@example.com', password: PASSWORD }),
    )
    expect(joined.status).toBe(200)
    const member = await (
      await t.request(`/api/v1/workspaces/${ws}/members/${existing.id}`, call(owner.who, 'GET'))
    ).json()
    expect(member.role).toBe('admin')

    const revokeMe = await (await invite(t, owner, ws, 'revoked@example.com', 'agent')).json()
    expect(
      (await t.request(`/api/v1/workspaces/${ws}/invites/${revokeMe.invite.id}`, call(owner.who, 'DELETE'))).status,
    ).toBe(204)
    const revoked = await t.request(
      '/api/v1/invites/accept',
      call(anonymous, 'POST', {
        token: tokenOf(revokeMe.acceptUrl),
        email: 'revoked@example.com',
        password: 'brand new password',
      }),
    )
    expect(revoked.status).toBe(410)
    expect(
      (await t.request(`/api/v1/workspaces/${ws}/invites/${revokeMe.invite.id}`, call(owner.who, 'DELETE'))).status,
    ).toBe(409)
    expect((await t.request('/api/v1/invites/preview?token=nonsense')).status).toBe(404)
  })

  test('two concurrent accepts of one invite: exactly one membership', async () => {
    const t = await createTestApp()
    const { owner, ws } = await team(t)
    const token = tokenOf((await (await invite(t, owner, ws, 'race@example.com', 'agent')).json()).acceptUrl)
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        t.request(
          '/api/v1/invites/accept',
          call(anonymous, 'POST', { token, email: 'race@example.com', password: 'brand new password' }),
        ),
      ),
    )
    const statuses = results.map((r) => r.status).sort()
    expect(statuses[0]).toBe(200)
    // The losers are told the invite is taken (used, or they are already in): never a 500.
    for (const s of statuses.slice(1)) expect([409, 410]).toContain(s)
    const members = await t.db.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .where('users.email', '=', 'race@example.com')
      .selectAll()
      .execute()
    expect(members).toHaveLength(1)
    expect(
      await t.db.db.selectFrom('users').where('email', '=', 'race@example.com').selectAll().execute(),
    ).toHaveLength(1)
  })

  test('Admins cannot invite Owners; a member cannot be invited twice; a new invite replaces a pending one', async () => {
    const t = await createTestApp()
    const { owner, admin, agent, ws } = await team(t)
    const asAdmin = await invite(t, admin, ws, 'boss@example.com', 'owner')
    expect(asAdmin.status).toBe(403)
    expect((await asAdmin.json()).code).toBe('cannot_grant_owner')
    expect((await invite(t, owner, ws, 'boss@example.com', 'owner')).status).toBe(201)
    const dup = await invite(t, owner, ws, agent.email, 'admin')
    expect(dup.status).toBe(409)
    const first = await (await invite(t, admin, ws, 'twice@example.com', 'agent')).json()
    const second = await (await invite(t, admin, ws, 'twice@example.com', 'analyst')).json()
    const list = (await (await t.request(`/api/v1/workspaces/${ws}/invites`, call(owner.who, 'GET'))).json()).items
    expect(list.find((i: { id: string }) => i.id === first.invite.id).status).toBe('revoked')
    expect(list.find((i: { id: string }) => i.id === second.invite.id).status).toBe('pending')
  })
})

describe('member rules', () => {
  test('Admin cannot change or remove an Owner, nor grant Owner; Owner can', async () => {
    const t = await createTestApp()
    const { owner, admin, agent, ws } = await team(t)
    const patch = (who: FixtureUser, userId: string, role: string) =>
      t.request(`/api/v1/workspaces/${ws}/members/${userId}`, call(who.who, 'PATCH', { role }))
    expect((await patch(admin, owner.id, 'agent')).status).toBe(403)
    expect((await t.request(`/api/v1/workspaces/${ws}/members/${owner.id}`, call(admin.who, 'DELETE'))).status).toBe(
      403,
    )
    const grant = await patch(admin, agent.id, 'owner')
    expect(grant.status).toBe(403)
    expect((await grant.json()).code).toBe('cannot_grant_owner')
    expect((await patch(admin, agent.id, 'analyst')).status).toBe(200)
    expect((await patch(owner, agent.id, 'owner')).status).toBe(200)
    const roles = await (await t.request(`/api/v1/workspaces/${ws}/members`, call(owner.who, 'GET'))).json()
    expect(Object.fromEntries(roles.items.map((m: { email: string; role: string }) => [m.email, m.role]))).toEqual({
      'owner@acme.example': 'owner',
      'admin@acme.example': 'admin',
      'agent@acme.example': 'owner',
    })
    const changes = (await auditRows(t))
      .filter((r) => r.action === 'member.role_changed')
      .map((r) => JSON.parse(r.metadata))
    expect(changes).toEqual([
      { email: 'agent@acme.example', from: 'agent', to: 'analyst' },
      { email: 'agent@acme.example', from: 'analyst', to: 'owner' },
    ])
  })

  test('the last Owner cannot leave, be demoted or be removed; a refused change leaves no audit row', async () => {
    const t = await createTestApp()
    const { owner, admin, ws } = await team(t)
    const before = (await auditRows(t)).length
    const demote = await t.request(
      `/api/v1/workspaces/${ws}/members/${owner.id}`,
      call(owner.who, 'PATCH', { role: 'admin' }),
    )
    expect(demote.status).toBe(409)
    expect((await demote.json()).code).toBe('last_owner')
    expect((await t.request(`/api/v1/workspaces/${ws}/members/${owner.id}`, call(owner.who, 'DELETE'))).status).toBe(
      409,
    )
    expect((await t.request(`/api/v1/workspaces/${ws}/leave`, call(owner.who, 'POST'))).status).toBe(409)
    expect((await auditRows(t)).length).toBe(before)
    // With a second Owner, the first may step down.
    expect(
      (await t.request(`/api/v1/workspaces/${ws}/members/${admin.id}`, call(owner.who, 'PATCH', { role: 'owner' })))
        .status,
    ).toBe(200)
    expect((await t.request(`/api/v1/workspaces/${ws}/leave`, call(owner.who, 'POST'))).status).toBe(204)
    expect((await t.request(`/api/v1/workspaces/${ws}`, call(owner.who, 'GET'))).status).toBe(404)
  })

  test("a removed member's very next request fails, and their sessions end", async () => {
    const t = await createTestApp()
    const { owner, agent, ws } = await team(t)
    expect((await t.request(`/api/v1/workspaces/${ws}/members`, call(agent.who, 'GET'))).status).toBe(200)
    expect((await t.request(`/api/v1/workspaces/${ws}/members/${agent.id}`, call(owner.who, 'DELETE'))).status).toBe(
      204,
    )
    expect((await t.request(`/api/v1/workspaces/${ws}/members`, call(agent.who, 'GET'))).status).toBe(401)
    // Signed in again, the membership check alone keeps them out.
    const again = withCookie(
      cookieFrom(
        await t.request('/api/v1/auth/login', call(anonymous, 'POST', { email: agent.email, password: PASSWORD })),
      ),
    )
    expect((await t.request(`/api/v1/workspaces/${ws}/members`, call(again, 'GET'))).status).toBe(404)
    const removal = (await auditRows(t)).find((r) => r.action === 'member.removed')!
    expect(removal).toMatchObject({
      workspace_id: ws,
      actor_type: 'user',
      actor_id: owner.id,
      target_type: 'user',
      target_id: agent.id,
    })
  })

  test('a changed role takes effect on the next request', async () => {
    const t = await createTestApp()
    const { owner, admin, ws } = await team(t)
    expect((await t.request(`/api/v1/workspaces/${ws}/audit`, call(admin.who, 'GET'))).status).toBe(200)
    await t.request(`/api/v1/workspaces/${ws}/members/${admin.id}`, call(owner.who, 'PATCH', { role: 'agent' }))
    expect((await t.request(`/api/v1/workspaces/${ws}/audit`, call(admin.who, 'GET'))).status).toBe(403)
  })
})

describe('workspace administration', () => {
  test('rename, retention within the plan, ownership transfer, deletion confirmed by name', async () => {
    const t = await createTestApp()
    const { owner, admin, ws } = await team(t, 'team')
    const renamed = await t.request(
      `/api/v1/workspaces/${ws}`,
      call(owner.who, 'PATCH', { name: 'Acme Ltd', retentionDays: 90 }),
    )
    expect(await renamed.json()).toMatchObject({ name: 'Acme Ltd', retentionDays: 90 })
    const tooLong = await t.request(`/api/v1/workspaces/${ws}`, call(owner.who, 'PATCH', { retentionDays: 365 }))
    expect(tooLong.status).toBe(402)
    expect((await tooLong.json()).detail).toContain('180 days of retention')

    expect(
      (
        await t.request(
          `/api/v1/workspaces/${ws}/transfer-ownership`,
          call(owner.who, 'POST', { userId: 'usr_nobody' }),
        )
      ).status,
    ).toBe(404)
    expect(
      (await t.request(`/api/v1/workspaces/${ws}/transfer-ownership`, call(owner.who, 'POST', { userId: admin.id })))
        .status,
    ).toBe(204)
    const members = (await (await t.request(`/api/v1/workspaces/${ws}/members`, call(admin.who, 'GET'))).json()).items
    expect(members.find((m: { userId: string }) => m.userId === admin.id).role).toBe('owner')
    expect(members.find((m: { userId: string }) => m.userId === owner.id).role).toBe('admin')

    const wrongName = await t.request(`/api/v1/workspaces/${ws}`, call(admin.who, 'DELETE', { confirmName: 'Acme' }))
    expect(wrongName.status).toBe(422)
    expect((await wrongName.json()).code).toBe('confirmation_mismatch')
    expect(
      (await t.request(`/api/v1/workspaces/${ws}`, call(admin.who, 'DELETE', { confirmName: 'Acme Ltd' }))).status,
    ).toBe(204)
    expect((await t.request(`/api/v1/workspaces/${ws}`, call(admin.who, 'GET'))).status).toBe(404)
    expect(await t.db.db.selectFrom('memberships').where('workspace_id', '=', ws).selectAll().execute()).toEqual([])
    // The audit trail outlives the workspace.
    expect((await auditRows(t)).filter((r) => r.workspace_id === ws).map((r) => r.action)).toContain(
      'workspace.deleted',
    )
  })

  test('the operator creates workspaces (optionally inviting the client Owner) and assigns plans', async () => {
    const t = await createTestApp()
    const operator = await makeUser(t, 'op@example.com', { operator: true })
    const created = await t.request(
      '/api/v1/admin/workspaces',
      call(operator.who, 'POST', { name: 'Client Co', plan: 'team', ownerEmail: 'boss@client.example' }),
    )
    expect(created.status).toBe(201)
    const body = await created.json()
    expect(body.workspace).toMatchObject({ name: 'Client Co', plan: 'team' })
    expect(body.ownerInvite.invite).toMatchObject({ email: 'boss@client.example', role: 'owner' })
    const unknown = await t.request(
      `/api/v1/admin/workspaces/${body.workspace.id}/plan`,
      call(operator.who, 'PUT', { plan: 'platinum' }),
    )
    expect(unknown.status).toBe(422)
    const set = await t.request(
      `/api/v1/admin/workspaces/${body.workspace.id}/plan`,
      call(operator.who, 'PUT', { plan: 'free' }),
    )
    expect((await set.json()).plan).toBe('free')
    const all = await (await t.request('/api/v1/admin/workspaces?limit=1', call(operator.who, 'GET'))).json()
    expect(all.items).toHaveLength(1)
    expect(all.nextCursor).toBeNull()
    const planChange = (await auditRows(t)).find((r) => r.action === 'workspace.plan_changed')!
    expect(JSON.parse(planChange.metadata)).toEqual({ from: 'team', to: 'free' })
    expect(planChange.actor_id).toBe(operator.id)
  })
})

describe('plans (PlanGuard)', () => {
  test('features and quotas outside the plan answer 402 naming the limit', async () => {
    const t = await createTestApp()
    const { owner, ws } = await team(t, 'free')
    const key = await t.request(
      `/api/v1/workspaces/${ws}/api-keys`,
      call(owner.who, 'POST', { name: 'ci', role: 'agent' }),
    )
    expect(key.status).toBe(402)
    expect(await key.json()).toMatchObject({
      code: 'plan_feature_unavailable',
      detail: 'The "free" plan does not include API access.',
    })
    // free allows 3 members: owner, admin, agent already.
    const seat = await invite(t, owner, ws, 'fourth@example.com', 'agent')
    expect(seat.status).toBe(402)
    expect((await seat.json()).detail).toBe(
      'The "free" plan allows 3 members (including pending invites); this workspace has 3.',
    )
    expect((await auditRows(t)).some((r) => r.action === 'invite.created')).toBe(false)
  })

  test('API keys stop working when the workspace moves to a plan without API access; quotas count keys', async () => {
    const t = await createTestApp({
      config: {
        plans: {
          ...(await createTestApp()).config.plans,
          tiny: {
            features: { apiAccess: true, broadcasts: false, ai: false },
            quotas: { channels: 1, members: 5, apiKeys: 1, broadcastsPerMonth: 0, retentionDaysMax: 7 },
          },
        },
      },
    })
    const { owner, ws } = await team(t, 'tiny')
    const key = await makeKey(t, ws, owner, 'agent')
    expect((await t.request(`/api/v1/workspaces/${ws}`, call(key.who, 'GET'))).status).toBe(200)
    const second = await t.request(
      `/api/v1/workspaces/${ws}/api-keys`,
      call(owner.who, 'POST', { name: 'two', role: 'agent' }),
    )
    expect(second.status).toBe(402)
    expect((await second.json()).code).toBe('plan_quota_exceeded')
    await t.db.db.updateTable('workspaces').set({ plan: 'free' }).where('id', '=', ws).execute()
    const after = await t.request(`/api/v1/workspaces/${ws}`, call(key.who, 'GET'))
    expect(after.status).toBe(402)
  })
})

describe('review fixes', () => {
  test('joining with an existing account is a sign-in: throttled and audited like one', async () => {
    const clock = manualClock()
    const t = await createTestApp({ clock })
    const { owner, ws } = await team(t)
    await makeUser(t, 'victim@example.com')
    const token = tokenOf((await (await invite(t, owner, ws, 'victim@example.com', 'agent')).json()).acceptUrl)
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) {
      statuses.push(
        (
          await t.request(
            '/api/v1/invites/accept',
            call(anonymous, 'POST', { token, email: 'victim@example.com', password: `guess number ${i}` }),
          )
        ).status,
      )
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401])
    expect(statuses.slice(5)).toEqual([429, 429, 429])
    expect((await auditRows(t)).filter((r) => r.action === 'auth.login_failed')).toHaveLength(5)
    // Even the right password waits out the delay.
    expect(
      (
        await t.request(
          '/api/v1/invites/accept',
          call(anonymous, 'POST', { token, email: 'victim@example.com', password: PASSWORD }),
        )
      ).status,
    ).toBe(429)
    clock.advance(2000)
    expect(
      (
        await t.request(
          '/api/v1/invites/accept',
          call(anonymous, 'POST', { token, email: 'victim@example.com', password: PASSWORD }),
        )
      ).status,
    ).toBe(200)
  })

  test('deleting a workspace removes its intake events, statuses, events and outbox rows too', async () => {
    const t = await createTestApp()
    const { owner, ws } = await team(t)
    const db = t.db.db
    await db
      .insertInto('intake_events')
      .values({
        workspace_id: ws,
        channel_id: 'ch_x',
        idempotency_key: 'k1',
        kind: 'message',
        payload: '{"text":"private"}',
        received_at: 'now',
        next_attempt_at: 'now',
        last_error: null,
        processed_at: null,
      })
      .execute()
    await db
      .insertInto('message_statuses')
      .values({
        workspace_id: ws,
        channel_id: 'ch_x',
        wamid: 'w1',
        status: 'sent',
        occurred_at: 'now',
        recipient: '1',
        error_code: null,
        error_title: null,
        error_details: null,
        pricing: null,
      })
      .execute()
    await db
      .insertInto('channel_events')
      .values({
        workspace_id: ws,
        channel_id: 'ch_x',
        field: 'account_update',
        event: 'X',
        payload: '{}',
        occurred_at: 'now',
      })
      .execute()
    expect(
      (await t.request(`/api/v1/workspaces/${ws}`, call(owner.who, 'DELETE', { confirmName: 'Acme' }))).status,
    ).toBe(204)
    for (const table of [
      'intake_events',
      'message_statuses',
      'channel_events',
      'outbox',
      'idempotency_keys',
    ] as const) {
      expect({
        table,
        rows: (await db.selectFrom(table).selectAll().where('workspace_id', '=', ws).execute()).length,
      }).toEqual({ table, rows: 0 })
    }
  })
})
