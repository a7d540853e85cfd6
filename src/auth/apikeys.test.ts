import { describe, expect, test } from 'bun:test'
import { createTestApp } from '../testing/test-app.ts'
import { call, makeUser, makeWorkspace, manualClock, withKey } from '../testing/fixtures.ts'

describe('API keys', () => {
  test('shown once, stored hashed, expiring, revocable, last use recorded', async () => {
    const clock = manualClock()
    const t = await createTestApp({ clock })
    const owner = await makeUser(t, 'owner@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    const expiresAt = new Date(clock.now() + 3600_000).toISOString()
    const created = await t.request(`/api/v1/workspaces/${ws}/api-keys`, call(owner.who, 'POST', { name: 'n8n', role: 'analyst', expiresAt }))
    expect(created.status).toBe(201)
    const key = await created.json()
    expect(key).toMatchObject({ name: 'n8n', role: 'analyst', expiresAt, lastUsedAt: null, display: expect.stringMatching(/^wbx_[A-Za-z0-9]{8}_••••$/) })
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
    const key = await (await t.request(`/api/v1/workspaces/${ws}/api-keys`, call(owner.who, 'POST', { name: 'x', role: 'admin' }))).json()
    const tampered = key.token.slice(0, -1) + (key.token.endsWith('a') ? 'b' : 'a')
    const details = new Set<string>()
    for (const auth of [`Bearer ${tampered}`, 'Bearer wbx_AAAAAAAA_' + 'a'.repeat(40), 'Bearer nonsense', 'Basic dXNlcjpwYXNz', 'Bearer', '']) {
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
    const past = await t.request(`/api/v1/workspaces/${ws}/api-keys`, call(owner.who, 'POST', { name: 'x', role: 'admin', expiresAt: '2020-01-01T00:00:00Z' }))
    expect(past.status).toBe(422)
    expect((await past.json()).errors[0].field).toBe('expiresAt')
    const ownerKey = await t.request(`/api/v1/workspaces/${ws}/api-keys`, call(owner.who, 'POST', { name: 'x', role: 'owner' }))
    expect(ownerKey.status).toBe(422)
    expect((await ownerKey.json()).errors[0]).toEqual({ field: 'role', message: expect.stringContaining('never Owner') })
    expect(await t.db.db.selectFrom('api_keys').selectAll().execute()).toEqual([])
  })
})
