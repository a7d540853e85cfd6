/** GET /metrics in process: who may scrape it, which series it has, that they move, and what a scrape reads. */
import { afterAll, describe, expect, test } from 'bun:test'
import { createTestApp, TEST_PEER_HEADER, type TestApp } from '../testing/test-app.ts'
import { startGraphDouble } from '../testing/graph-double.ts'
import { call, deliver, makeChannel, makeUser, makeWorkspace, manualClock } from '../testing/fixtures.ts'
import { inboundText } from '../testing/webhooks.ts'
import { join } from 'node:path'
import { tempDir } from '../testing/temp.ts'
import { DB_FILE, openDatabase } from '../db/client.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { createBackup } from '../db/backup.ts'
import { loadMasterKey } from '../crypto/keyfile.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

const NOW = Date.parse('2025-06-08T21:00:00Z') // shortly after the fixtures' inbound messages
const LOCAL = { [TEST_PEER_HEADER]: '127.0.0.1' }

async function scrape(t: TestApp, headers: Record<string, string> = LOCAL): Promise<string> {
  // Requests are counted after their response is handed over (with the log line): let the last ones land.
  await Bun.sleep(5)
  const res = await t.request('/metrics', { headers })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toStartWith('text/plain; version=0.0.4')
  return res.text()
}

/** The value of one series (`name{labels}`), or undefined when it is absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('who may scrape /metrics', () => {
  test('by default loopback only: another address, or a request a proxy forwarded, gets 404', async () => {
    const t = await createTestApp()
    expect((await t.request('/metrics', { headers: LOCAL })).status).toBe(200)
    expect((await t.request('/metrics', { headers: { [TEST_PEER_HEADER]: '::1' } })).status).toBe(200)
    const refused: Record<string, string>[] = [
      {},
      { [TEST_PEER_HEADER]: '10.1.2.3' },
      { ...LOCAL, 'x-forwarded-for': '198.51.100.7' },
      { ...LOCAL, forwarded: 'for=198.51.100.7' },
    ]
    for (const headers of refused) {
      const res = await t.request('/metrics', { headers })
      expect({ headers, status: res.status }).toEqual({ headers, status: 404 })
      expect(res.headers.get('content-type')).toBe('application/problem+json')
    }
  })

  test('behind a local proxy (a trusted proxy on loopback) the default refuses even a request with no forwarding header', async () => {
    const t = await createTestApp({ argv: ['--trusted-proxies', '127.0.0.1'] })
    // A proxy that adds no X-Forwarded-For still is a proxy: what it forwards comes from 127.0.0.1.
    expect((await t.request('/metrics', { headers: LOCAL })).status).toBe(404)
    // ::1 is not the configured proxy: a local scraper there is still served.
    expect((await t.request('/metrics', { headers: { [TEST_PEER_HEADER]: '::1' } })).status).toBe(200)
  })

  test('--metrics-allowed-networks replaces loopback with those networks (the client address behind trusted proxies)', async () => {
    const t = await createTestApp({
      argv: ['--metrics-allowed-networks', '10.0.0.0/8', '--trusted-proxies', '127.0.0.1'],
    })
    expect((await t.request('/metrics', { headers: { [TEST_PEER_HEADER]: '10.9.8.7' } })).status).toBe(200)
    expect((await t.request('/metrics', { headers: { ...LOCAL, 'x-forwarded-for': '10.9.8.7' } })).status).toBe(200)
    expect((await t.request('/metrics', { headers: { ...LOCAL, 'x-forwarded-for': '198.51.100.7' } })).status).toBe(404)
    expect((await t.request('/metrics', { headers: LOCAL })).status).toBe(404)
  })

  test('--metrics-token: the bearer token from anywhere; missing or wrong is 403', async () => {
    const token = 'scrape-token-0123456789'
    const t = await createTestApp({ argv: ['--metrics-token', token] })
    const remote = { [TEST_PEER_HEADER]: '198.51.100.7' }
    expect((await t.request('/metrics', { headers: { ...remote, authorization: `Bearer ${token}` } })).status).toBe(200)
    for (const headers of [
      remote,
      LOCAL,
      { ...remote, authorization: 'Bearer wrong-token-0123456789' },
      { ...remote, authorization: `Basic ${token}` },
    ]) {
      const res = await t.request('/metrics', { headers })
      expect({ headers, status: res.status }).toEqual({ headers, status: 403 })
      expect((await res.json()).code).toBe('metrics_token_required')
    }
    // Both set: the token, and only from those networks.
    const both = await createTestApp({ argv: ['--metrics-token', token, '--metrics-allowed-networks', '192.0.2.0/24'] })
    expect(
      (
        await both.request('/metrics', {
          headers: { [TEST_PEER_HEADER]: '192.0.2.9', authorization: `Bearer ${token}` },
        })
      ).status,
    ).toBe(200)
    expect((await both.request('/metrics', { headers: { ...remote, authorization: `Bearer ${token}` } })).status).toBe(
      404,
    )
  })

  test('the route is marked for the deny-by-default inventory and documented', async () => {
    const t = await createTestApp()
    const route = (
      t.app as unknown as { routes: { method: string; path: string; hooks: { detail?: Record<string, unknown> } }[] }
    ).routes.find((r) => r.path === '/metrics' && r.method === 'GET')
    expect(route?.hooks.detail?.['x-permission']).toBe('metrics')
  })
})

describe('what /metrics reports', () => {
  test('series exist and move: webhooks raise the intake counters, requests are counted by route pattern, gauges follow the queues', async () => {
    const clock = manualClock(NOW)
    const t = await createTestApp({ graph, clock })
    const owner = await makeUser(t, 'owner@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    const channel = await makeChannel(t, ws, graph)

    const before = await scrape(t)
    for (const name of [
      'wabox_http_requests_total',
      'wabox_intake_pending',
      'wabox_outbox_depth',
      'wabox_channels',
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(before).toContain(`# TYPE ${name} `)
    }
    expect(value(before, 'wabox_intake_events_total{result="stored"}')).toBeUndefined()
    expect(value(before, 'wabox_intake_pending')).toBe(0)
    expect(value(before, 'wabox_channels{provider="cloud",status="active",connection="none"}')).toBe(1)

    // A signed webhook, then the same one again (Meta retries): one stored, one duplicate, processed once.
    const inbound = inboundText(channel.phoneNumberId, 'Hi, is my order ready?', {
      from: '4915112345678',
      timestamp: 1749416383,
    })
    expect((await deliver(t, channel, inbound.body)).status).toBe(200)
    expect((await deliver(t, channel, inbound.body)).status).toBe(200)
    // A 404 on a tenant route: counted under its pattern, never its raw path.
    const missing = await t.request(`/api/v1/workspaces/${ws}/conversations/cv_doesnotexist`, call(owner.who, 'GET'))
    expect(missing.status).toBe(404)
    // A message queued for sending (the sender is not running in this test): the outbox gauge sees it.
    const conversation = await t.db.db.selectFrom('conversations').select('id').executeTakeFirstOrThrow()
    const queued = await t.request(
      `/api/v1/workspaces/${ws}/messages`,
      call(owner.who, 'POST', { conversationId: conversation.id, type: 'text', text: { body: 'Ready!' } }),
    )
    expect(queued.status).toBe(202)

    const after = await scrape(t)
    expect(value(after, 'wabox_intake_events_total{result="stored"}')).toBe(1)
    expect(value(after, 'wabox_intake_events_total{result="duplicate"}')).toBe(1)
    expect(value(after, 'wabox_intake_commits_total{outcome="ok"}')).toBe(2)
    expect(value(after, 'wabox_intake_processed_total{outcome="processed"}')).toBe(1)
    expect(value(after, 'wabox_intake_processing_lag_seconds_count')).toBe(1)
    expect(
      value(after, 'wabox_http_requests_total{method="POST",route="/webhooks/whatsapp/:channelId",status="200"}'),
    ).toBe(2)
    expect(
      value(
        after,
        'wabox_http_requests_total{method="GET",route="/api/v1/workspaces/:workspaceId/conversations/:conversationId",status="404"}',
      ),
    ).toBe(1)
    expect(
      value(
        after,
        'wabox_http_request_duration_seconds_count{method="GET",route="/api/v1/workspaces/:workspaceId/conversations/:conversationId",status="404"}',
      ),
    ).toBe(1)
    expect(after).not.toContain('cv_doesnotexist')
    // Queued or already on its way (the send woke the sender), until Meta answers; then counted as sent.
    const depth = (text: string, state: string) =>
      value(text, `wabox_outbox_depth{channel_id="${channel.id}",state="${state}"}`) ?? 0
    expect(depth(after, 'queued') + depth(after, 'sending')).toBe(1)
    await t.runtime.sender.drain()
    const sent = await scrape(t)
    expect(depth(sent, 'queued') + depth(sent, 'sending')).toBe(0)
    expect(value(sent, 'wabox_sends_total{outcome="sent"}')).toBe(1)
    expect(value(sent, 'wabox_http_requests_total{method="GET",route="/metrics",status="200"}')).toBe(2)

    // Processing lag: an event waiting (here one retrying with backoff, not due yet) shows its age until processed.
    const received = clock.now()
    await t.db.db
      .insertInto('intake_events')
      .values({
        workspace_id: ws,
        channel_id: channel.id,
        idempotency_key: 'lag-test',
        kind: 'field',
        payload: '{}',
        received_at: new Date(received).toISOString(),
        next_attempt_at: new Date(received + 3_600_000).toISOString(),
        state: 'pending',
        attempts: 1,
      })
      .execute()
    clock.advance(7_000)
    const lagging = await scrape(t)
    expect(value(lagging, 'wabox_intake_pending')).toBe(1)
    expect(value(lagging, 'wabox_intake_oldest_pending_age_seconds')).toBe(7)
    await t.db.db.deleteFrom('intake_events').where('idempotency_key', '=', 'lag-test').execute()
    const drained = await scrape(t)
    expect(value(drained, 'wabox_intake_pending')).toBe(0)
    expect(value(drained, 'wabox_intake_oldest_pending_age_seconds')).toBe(0)
  })

  test('a scrape reads indexes or small tables only: no full scan of the intake, outbox, messages or deliveries', async () => {
    const t = await createTestApp()
    const executor = t.db.db.getExecutor()
    const execute = executor.executeQuery
    const queries: { sql: string; parameters: readonly unknown[] }[] = []
    executor.executeQuery = ((query, options) => {
      queries.push({ sql: query.sql, parameters: query.parameters })
      return execute.call(executor, query, options)
    }) as typeof execute
    try {
      await scrape(t)
    } finally {
      executor.executeQuery = execute
    }
    const big = ['intake_events', 'outbox', 'messages', 'webhook_deliveries', 'events', 'audit_log']
    const reads = queries.filter((q) => big.some((table) => q.sql.includes(`"${table}"`)))
    expect(reads.length).toBeGreaterThanOrEqual(5)
    // A scan is allowed only over a partial index (it holds the pending rows, not the table's history).
    const partial = new Set(
      big.flatMap((table) =>
        (t.db.sqlite.pragma(`index_list(${table})`) as { name: string; partial: number }[])
          .filter((i) => i.partial)
          .map((i) => i.name),
      ),
    )
    for (const q of reads) {
      const plan = (
        t.db.sqlite.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...(q.parameters as unknown[])) as { detail: string }[]
      ).map((r) => r.detail)
      const fullScans = plan.filter((d) => {
        const scan = d.match(/^SCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?/)
        return scan !== null && big.includes(scan[1]!) && !(scan[2] && partial.has(scan[2]))
      })
      expect({ sql: q.sql, fullScans }).toEqual({ sql: q.sql, fullScans: [] })
    }
  })
})

describe('the last backup', () => {
  test('its age is +Inf until a backup archive is completed, then the seconds since', async () => {
    const dataDir = tempDir('wabox-metrics-backup')
    const db = openDatabase(join(dataDir, DB_FILE))
    await migrateToLatest(db.db)
    const t = await createTestApp({ db, config: { dataDir } })
    try {
      expect((await scrape(t)).split('\n')).toContain('wabox_backup_age_seconds +Inf')
      const keyFile = join(dataDir, 'master.key')
      loadMasterKey({ keyFile, envKey: undefined, create: true })
      await createBackup({
        dataDir,
        keyFile,
        envKey: undefined,
        file: join(dataDir, 'backups/a.tar.gz'),
        progress: () => {},
      })
      const age = value(await scrape(t), 'wabox_backup_age_seconds')
      expect(age).toBeGreaterThanOrEqual(0)
      expect(age).toBeLessThan(60)
    } finally {
      await t.close()
    }
  })
})
