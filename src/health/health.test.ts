/**
 * Readiness that reflects real writes: a database that cannot grow (SQLite's max_page_count, the same SQLITE_FULL a
 * full disk gives) makes webhook commits and sends fail; they answer 503 with Retry-After, never 200, and /readyz
 * says which write path failed until a write succeeds again or the failure ages out.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { createTestApp, type TestApp } from '../testing/test-app.ts'
import { startGraphDouble } from '../testing/graph-double.ts'
import { call, deliver, makeChannel, makeUser, makeWorkspace, manualClock } from '../testing/fixtures.ts'
import { inboundText, signed } from '../testing/webhooks.ts'
import { WRITE_FAILURE_WINDOW_MS, WriteHealth, storageFailureOf, DISK_ROOM_BYTES } from '../db/write-health.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

const NOW = Date.parse('2025-06-08T21:00:00Z')

/** From here on the database cannot take one more page: what a full disk looks like to SQLite. */
function fillUp(t: TestApp): () => void {
  const pages = Number(t.db.sqlite.pragma('page_count', { simple: true }))
  t.db.sqlite.pragma(`max_page_count = ${pages}`)
  return () => void t.db.sqlite.pragma('max_page_count = 1073741823')
}

/** A webhook big enough to need new pages (a 20 KB text). */
const bigText = (phoneNumberId: string, n: number) =>
  inboundText(phoneNumberId, `${n} ${'x'.repeat(20_000)}`, { from: '4915112345678', timestamp: 1749416383 + n })

describe('write failures and readiness', () => {
  test('a webhook whose commit fails answers 503 with Retry-After, /readyz names the intake, and both recover when space returns', async () => {
    const clock = manualClock(NOW)
    const t = await createTestApp({ graph, clock })
    const owner = await makeUser(t, 'owner@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    const channel = await makeChannel(t, ws, graph)
    // The customer wrote first (the 24-hour window is open).
    expect(
      (
        await deliver(
          t,
          channel,
          inboundText(channel.phoneNumberId, 'Hi', { from: '4915112345678', timestamp: 1749416383 }).body,
        )
      ).status,
    ).toBe(200)
    const conversation = await t.db.db.selectFrom('conversations').select('id').executeTakeFirstOrThrow()
    const longReply = { conversationId: conversation.id, type: 'text', text: { body: 'y'.repeat(4000) } }
    expect((await t.request('/readyz')).status).toBe(200)

    const release = fillUp(t)
    const s = signed(bigText(channel.phoneNumberId, 1).body, channel.appSecret)
    const refused = await t.request(`/webhooks/whatsapp/${channel.id}`, {
      method: 'POST',
      headers: s.headers,
      body: s.body,
    })
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('10')
    const problem = await refused.json()
    expect(problem).toMatchObject({ code: 'intake_unavailable', status: 503 })
    expect(problem.detail).toContain('disk full')
    // Nothing of it was stored (only the first, small webhook is in the intake).
    expect(await t.db.db.selectFrom('intake_events').selectAll().execute()).toHaveLength(1)
    expect(t.logLines.some((l) => l.includes('intake commit failed') && l.includes('SQLITE_FULL'))).toBe(true)

    // The probe (a write it rolls back) still succeeds; the real failure is what /readyz reports.
    const notReady = await t.request('/readyz')
    expect(notReady.status).toBe(503)
    const body = await notReady.json()
    expect(body.checks.database).toEqual({ ok: true })
    expect(body.checks.writes).toEqual({
      ok: false,
      detail: expect.stringMatching(/^webhook intake: disk full \(SQLITE_FULL\) \d+ s ago$/),
    })

    // A send answers 503 too (the request write group), and is named beside the intake.
    const refusedSend = await t.request(`/api/v1/workspaces/${ws}/messages`, call(owner.who, 'POST', longReply))
    expect(refusedSend.status).toBe(503)
    expect(refusedSend.headers.get('retry-after')).toBe('10')
    expect((await refusedSend.json()).code).toBe('storage_unavailable')
    expect((await (await t.request('/readyz')).json()).checks.writes.detail).toContain('request writes: disk full')

    // Space comes back: Meta's retry is stored, and the intake is healthy again at once (no restart).
    release()
    expect((await deliver(t, channel, bigText(channel.phoneNumberId, 1).body)).status).toBe(200)
    expect((await t.request(`/api/v1/workspaces/${ws}/messages`, call(owner.who, 'POST', longReply))).status).toBe(202)
    const ready = await t.request('/readyz')
    expect(ready.status).toBe(200)
    expect((await ready.json()).checks.writes).toEqual({ ok: true })
  })

  test('a failure ages out after the window even without a later write; non-storage errors never count', () => {
    let now = 1_000_000
    const health = new WriteHealth(() => now)
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })
    expect(health.failed('sender', full)).toEqual({ code: 'SQLITE_FULL', detail: 'disk full' })
    expect(
      health.failed(
        'sender',
        Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }),
      ),
    ).toBeNull()
    expect(health.failed('intake processor', new Error('a bug'))).toBeNull()
    expect(health.recent().map((f) => f.source)).toEqual(['sender'])
    now += WRITE_FAILURE_WINDOW_MS - 1
    expect(health.recent()).toHaveLength(1)
    now += 1
    expect(health.recent()).toHaveLength(0)
    // Causes are followed (the write group keeps the real cause), and errno codes count (media files).
    expect(storageFailureOf(Object.assign(new Error('wrapped'), { cause: full }))?.code).toBe('SQLITE_FULL')
    expect(
      storageFailureOf(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }))?.detail,
    ).toBe('disk full')
    expect(
      storageFailureOf(Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' }))
        ?.detail,
    ).toBe('database file is damaged')
  })

  test('a full disk stays a failure past the window while the disk is still short of room (a quiet instance is not ready by waiting)', () => {
    let now = 1_000_000
    let free = 0
    const health = new WriteHealth(
      () => now,
      () => free,
    )
    health.failed('webhook intake', Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))
    health.failed('media downloads', Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }))
    now += WRITE_FAILURE_WINDOW_MS * 10
    expect(health.recent().map((f) => f.source)).toEqual(['webhook intake', 'media downloads'])
    free = DISK_ROOM_BYTES
    expect(health.recent()).toHaveLength(0)
  })

  test("a full disk is over for every path once any path commits and the disk has room; other failures stay their own path's", () => {
    let free = 0
    const health = new WriteHealth(Date.now, () => free)
    health.failed('request writes', Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))
    health.failed('media downloads', Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }))
    health.failed('sender', Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }))
    // A small commit can succeed on a full disk (the WAL reuses its space): that alone ends nothing else.
    health.succeeded('webhook intake')
    expect(health.recent().map((f) => f.source)).toEqual(['request writes', 'media downloads', 'sender'])
    free = DISK_ROOM_BYTES - 1
    health.succeeded('webhook intake')
    expect(health.recent()).toHaveLength(3)
    free = DISK_ROOM_BYTES
    health.succeeded('webhook intake')
    expect(health.recent().map((f) => f.source)).toEqual(['sender'])
    health.succeeded('sender')
    expect(health.recent()).toEqual([])
  })

  test('a storage failure while applying an event does not use up its attempts, even when recording the attempt would succeed', async () => {
    const clock = manualClock(NOW)
    const t = await createTestApp({ graph, clock })
    const owner = await makeUser(t, 'owner@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    const channel = await makeChannel(t, ws, graph)
    // Applying fails as on a full disk whose WAL still has room for a small update (seen on a real tmpfs).
    const deps = (t.runtime.processor as unknown as { deps: { syncTransaction: (fn: unknown) => Promise<void> } }).deps
    const real = deps.syncTransaction
    deps.syncTransaction = async () => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })
    }
    const s = signed(bigText(channel.phoneNumberId, 3).body, channel.appSecret)
    expect(
      (await t.request(`/webhooks/whatsapp/${channel.id}`, { method: 'POST', headers: s.headers, body: s.body }))
        .status,
    ).toBe(200)
    for (let i = 0; i < 10; i++) {
      clock.advance(60_000)
      await t.runtime.processor.drain()
    }
    expect(await t.db.db.selectFrom('intake_events').select(['state', 'attempts']).executeTakeFirstOrThrow()).toEqual({
      state: 'pending',
      attempts: 0,
    })
    expect((await (await t.request('/readyz')).json()).checks.writes.detail).toContain('intake processor: disk full')
    deps.syncTransaction = real
    await t.runtime.processor.drain()
    expect((await t.db.db.selectFrom('intake_events').select('state').executeTakeFirstOrThrow()).state).toBe(
      'processed',
    )
    expect((await t.request('/readyz')).status).toBe(200)
  })

  test('a background worker whose pass fails on storage makes /readyz 503 until a pass gets work done', async () => {
    const clock = manualClock(NOW)
    const t = await createTestApp({ graph, clock })
    const owner = await makeUser(t, 'owner@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    const channel = await makeChannel(t, ws, graph)
    // Stored while there was room; processing then needs pages the database cannot have.
    // (The processor, woken by the commit, starts on its next turn of the event loop: after fillUp.)
    const s = signed(bigText(channel.phoneNumberId, 2).body, channel.appSecret)
    expect(
      (await t.request(`/webhooks/whatsapp/${channel.id}`, { method: 'POST', headers: s.headers, body: s.body }))
        .status,
    ).toBe(200)
    const release = fillUp(t)
    await t.runtime.processor.drain()
    const body = await (await t.request('/readyz')).json()
    expect(body.ready).toBe(false)
    expect(body.checks.writes.detail).toContain('intake processor: disk full')
    // However long the disk stays full, the event's own attempts are not used up (8 would park it as dead).
    for (let i = 0; i < 10; i++) {
      clock.advance(60_000)
      await t.runtime.processor.drain()
    }
    expect(await t.db.db.selectFrom('intake_events').select(['state', 'attempts']).executeTakeFirstOrThrow()).toEqual({
      state: 'pending',
      attempts: 0,
    })
    release()
    await t.runtime.processor.drain()
    clock.advance(60_000) // the failed row's retry comes due
    await t.runtime.processor.drain()
    expect((await t.db.db.selectFrom('intake_events').select('state').executeTakeFirstOrThrow()).state).toBe(
      'processed',
    )
    expect((await t.request('/readyz')).status).toBe(200)
  })
})
