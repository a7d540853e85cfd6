import { describe, expect, test } from 'bun:test'
import { createTestApp } from '../testing/test-app.ts'
import { addMember, auditRows, call, makeUser, makeWorkspace, manualClock, withKey } from '../testing/fixtures.ts'

describe('API keys', () => {
  test('shown once, stored hashed, expiring, revocable, last use recorded', async () => {
    const clock = manualClock()
    const t = await createTestApp({ clock })
    const owner = await makeUser(t, 'owner@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    const expiresAt = new Date(clock.now() + 3600_000).toISOString()
    const created = await t.request(
      `/api/v1/workspaces/${ws}/api-keys`,
      call(owner.who, 'POST', { name: 'n8n', role: 'analyst', expiresAt }),
    )
    expect(created.status).toBe(201)
    const key = await created.json()
    expect(key).toMatchObject({
      name: 'n8n',
      role: 'analyst',
      expiresAt,
      lastUsedAt: null,
      display: expect.stringMatching(/^wbx_[A-Za-z0-9]{8}_••••$/),
    })
    const row = await t.db.db.selectFrom('api_keys').selectAll().where('id', '=', key.id).executeTakeFirstOrThrow()
    expect(JSON.stringify(row)).not.toContain(key.token.split('_')[2])
    // Listing never shows the secret again.
    const list = await (await t.request(`/api/v1/workspaces/${ws}/api-keys`, call(owner.who, 'GET'))).text()
    expect(list).not.toContain(key.token)

    clock.advance(5 * 60_000)
    expect((await t.request(`/api/v1/workspaces/${ws}/members`, call(withKey(key.token), 'GET'))).status).toBe(200)
    const used = (await (await t.request(`/api/v1/workspaces/${ws}/api-keys`, call(owner.who, 'GET'))).json()).items[0]
    expect(used.lastUsedAt).toBe(new Date(clock.now()).toISOString())
    // The analyst key reads but cannot manage.
    expect((await t.request(`/api/v1/workspaces/${ws}/api-keys`, call(withKey(key.token), 'GET'))).status).toBe(403)

    clock.advance(3600_000)
    const expired = await t.request(`/api/v1/workspaces/${ws}/members`, call(withKey(key.token), 'GET'))
    expect(expired.status).toBe(401)
    expect(expired.headers.get('www-authenticate')).toBe('Bearer')
    expect((await expired.json()).code).toBe('invalid_api_key')
  })

  test('malformed, unknown and tampered tokens are all 401 with the same answer', async () => {
    const t = await createTestApp()
    const owner = await makeUser(t, 'owner@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    const key = await (
      await t.request(`/api/v1/workspaces/${ws}/api-keys`, call(owner.who, 'POST', { name: 'x', role: 'admin' }))
    ).json()
    const tampered = key.token.slice(0, -1) + (key.token.endsWith('a') ? 'b' : 'a')
    const details = new Set<string>()
    for (const auth of [
      `Bearer ${tampered}`,
      `Bearer wbx_AAAAAAAA_${'a'.repeat(40)}`,
      'Bearer nonsense',
      'Basic dXNlcjpwYXNz',
      'Bearer',
      '',
    ]) {
      const res = await t.request(`/api/v1/workspaces/${ws}/members`, { headers: { authorization: auth } })
      expect({ auth, status: res.status }).toEqual({ auth, status: 401 })
      details.add((await res.json()).detail)
    }
    expect(details.size).toBe(1)
  })

  test('past expiry dates and Owner keys are refused with field errors', async () => {
    const t = await createTestApp()
    const owner = await makeUser(t, 'owner@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    const past = await t.request(
      `/api/v1/workspaces/${ws}/api-keys`,
      call(owner.who, 'POST', { name: 'x', role: 'admin', expiresAt: '2020-01-01T00:00:00Z' }),
    )
    expect(past.status).toBe(422)
    expect((await past.json()).errors[0].field).toBe('expiresAt')
    const ownerKey = await t.request(
      `/api/v1/workspaces/${ws}/api-keys`,
      call(owner.who, 'POST', { name: 'x', role: 'owner' }),
    )
    expect(ownerKey.status).toBe(422)
    expect((await ownerKey.json()).errors[0]).toEqual({
      field: 'role',
      message: expect.stringContaining('never Owner'),
    })
    expect(await t.db.db.selectFrom('api_keys').selectAll().execute()).toEqual([])
  })
})

describe('API keys answer for the member who made them', () => {
  test('removing a member revokes the keys they made (and keys made with those keys), in the same change, audited', async () => {
    const t = await createTestApp()
    const owner = await makeUser(t, 'owner@example.com')
    const admin = await makeUser(t, 'admin@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    await addMember(t, ws, admin, 'admin')
    const api = `/api/v1/workspaces/${ws}`
    const adminKey = await (
      await t.request(`${api}/api-keys`, call(admin.who, 'POST', { name: 'admin automation', role: 'admin' }))
    ).json()
    // The admin's key mints another Admin key: it answers for the same person.
    const minted = await t.request(
      `${api}/api-keys`,
      call(withKey(adminKey.token), 'POST', { name: 'minted by a key', role: 'admin' }),
    )
    expect(minted.status).toBe(201)
    const mintedKey = await minted.json()
    const ownerKey = await (
      await t.request(`${api}/api-keys`, call(owner.who, 'POST', { name: 'owner automation', role: 'agent' }))
    ).json()
    for (const k of [adminKey, mintedKey, ownerKey])
      expect((await t.request(`${api}/members`, call(withKey(k.token), 'GET'))).status).toBe(200)

    expect((await t.request(`${api}/members/${admin.id}`, call(owner.who, 'DELETE'))).status).toBe(204)

    // Neither the removed admin's key nor the one it minted lists members or mints keys any more.
    for (const k of [adminKey, mintedKey]) {
      const res = await t.request(`${api}/members`, call(withKey(k.token), 'GET'))
      expect(res.status).toBe(401)
      expect(
        (await t.request(`${api}/api-keys`, call(withKey(k.token), 'POST', { name: 'again', role: 'admin' }))).status,
      ).toBe(401)
    }
    // The owner's key is untouched.
    expect((await t.request(`${api}/members`, call(withKey(ownerKey.token), 'GET'))).status).toBe(200)
    const listed = (await (await t.request(`${api}/api-keys`, call(owner.who, 'GET'))).json()).items as {
      id: string
      revokedAt: string | null
    }[]
    expect(
      listed
        .filter((k) => k.revokedAt !== null)
        .map((k) => k.id)
        .sort(),
    ).toEqual([adminKey.id, mintedKey.id].sort())

    const rows = await auditRows(t)
    const removal = rows.findLast((r) => r.action === 'member.removed')!
    expect(JSON.parse(removal.metadata)).toMatchObject({ revokedKeys: 2 })
    const revocations = rows.filter((r) => r.action === 'apikey.revoked')
    expect(revocations.map((r) => r.target_id).sort()).toEqual([adminKey.id, mintedKey.id].sort())
    for (const r of revocations) {
      expect(r.actor_id).toBe(owner.id)
      expect(JSON.parse(r.metadata)).toMatchObject({ reason: 'creator_removed', createdByUserId: admin.id })
    }
  })

  test('demoting a member revokes the keys their new role does not cover; leaving revokes all of them', async () => {
    const t = await createTestApp()
    const owner = await makeUser(t, 'owner@example.com')
    const admin = await makeUser(t, 'admin@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    await addMember(t, ws, admin, 'admin')
    const api = `/api/v1/workspaces/${ws}`
    const make = async (role: string) =>
      (await (await t.request(`${api}/api-keys`, call(admin.who, 'POST', { name: `${role} key`, role }))).json()) as {
        id: string
        token: string
      }
    const keys = { admin: await make('admin'), agent: await make('agent'), analyst: await make('analyst') }
    const status = async (k: { token: string }) =>
      (await t.request(`${api}/members`, call(withKey(k.token), 'GET'))).status

    // Admin → Agent: an Agent cannot do what an Admin key or an Analyst key does (reports), so those two go.
    const demoted = await t.request(`${api}/members/${admin.id}`, call(owner.who, 'PATCH', { role: 'agent' }))
    expect(demoted.status).toBe(200)
    expect({
      admin: await status(keys.admin),
      agent: await status(keys.agent),
      analyst: await status(keys.analyst),
    }).toEqual({ admin: 401, agent: 200, analyst: 401 })
    const change = (await auditRows(t)).findLast((r) => r.action === 'member.role_changed')!
    expect(JSON.parse(change.metadata)).toMatchObject({ from: 'admin', to: 'agent', revokedKeys: 2 })
    expect(
      (await auditRows(t)).filter(
        (r) => r.action === 'apikey.revoked' && JSON.parse(r.metadata).reason === 'creator_demoted',
      ),
    ).toHaveLength(2)

    // Leaving takes the rest with it.
    expect((await t.request(`${api}/leave`, call(admin.who, 'POST'))).status).toBeLessThan(300)
    expect(await status(keys.agent)).toBe(401)
  })
})
