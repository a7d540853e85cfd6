import { afterAll, describe, expect, test } from 'bun:test'
import { createTestApp, type TestApp } from '../testing/test-app.ts'
import { startGraphDouble } from '../testing/graph-double.ts'
import {
  addMember,
  auditRows,
  call,
  deliver,
  makeChannel,
  makeKey,
  makeUser,
  makeWorkspace,
  manualClock,
  type FixtureUser,
} from '../testing/fixtures.ts'
import { inboundText, statusUpdate } from '../testing/webhooks.ts'
import { startReceiver, verifiesWith } from '../testing/receiver.ts'
import * as membershipsRepo from '../workspaces/memberships.repo.ts'
import { MAX_ATTEMPTS, RETRY_SCHEDULE_MS } from './dispatcher.ts'
import { emit, emitSync } from './emit.ts'
import { eventRetentionJob } from '../jobs/event-retention.ts'
import { waitUntil } from '../testing/wait.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

const NOW = Date.parse('2025-06-08T21:00:00Z')
const LOOPBACK = { webhookAllowHttp: true, webhookAllowedNetworks: ['127.0.0.0/8'] }

async function setup(opts: { clock?: ReturnType<typeof manualClock>; config?: Record<string, unknown> } = {}) {
  const clock = opts.clock ?? manualClock(NOW)
  const t = await createTestApp({ graph, clock, config: { ...LOOPBACK, ...opts.config } })
  const owner = await makeUser(t, 'owner@example.com')
  const ws = await makeWorkspace(t, 'Acme', owner)
  // Sessions expire when tests move the clock by days; an API key does not.
  const admin = await makeKey(t, ws, owner, 'admin')
  return { t, clock, owner, admin, ws }
}

const api = (
  t: TestApp,
  who: FixtureUser | { who: { headers: Record<string, string> } },
  method: string,
  path: string,
  body?: unknown,
) => t.request(path, call(who.who, method, body))

async function addEndpoint(t: TestApp, owner: FixtureUser, ws: string, url: string, eventTypes: string[] = ['*']) {
  const res = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/webhooks`, { url, eventTypes, description: 'CRM' })
  expect(res.status).toBe(201)
  return (await res.json()) as { endpoint: { id: string }; secret: string }
}

const eventRows = (t: TestApp, ws: string) =>
  t.db.db.selectFrom('events').selectAll().where('workspace_id', '=', ws).orderBy('seq').execute()

describe('events', () => {
  test('domain changes emit events in their own transaction, with documented payloads and no secrets', async () => {
    const { t, clock, owner, ws } = await setup()
    const channel = await makeChannel(t, ws, graph)
    const inbound = inboundText(channel.phoneNumberId, 'Hi, is my order ready?', {
      from: '4915112345678',
      timestamp: 1749416383,
      name: 'Maria',
    })
    await deliver(t, channel, inbound.body)
    const conversation = await t.db.db.selectFrom('conversations').selectAll().executeTakeFirstOrThrow()
    // A second delivery of the same webhook changes nothing, and emits nothing.
    await deliver(t, channel, inbound.body)
    expect((await eventRows(t, ws)).map((e) => e.type)).toEqual(['conversation.created', 'message.received'])

    const sent = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
      conversationId: conversation.id,
      type: 'text',
      text: { body: 'Yes, ready.' },
    })
    const messageId = (await sent.json()).id
    await t.runtime.sender.drain()
    const wamid = (
      await t.db.db.selectFrom('messages').select('wamid').where('id', '=', messageId).executeTakeFirstOrThrow()
    ).wamid!
    await deliver(t, channel, statusUpdate(channel.phoneNumberId, wamid, 'delivered'))
    await deliver(t, channel, statusUpdate(channel.phoneNumberId, wamid, 'read'))
    // A late 'delivered' after 'read' moves nothing and emits nothing.
    await deliver(t, channel, statusUpdate(channel.phoneNumberId, wamid, 'delivered', { timestamp: 1750263999 }))
    clock.advance(1000)
    const patched = await api(t, owner, 'PATCH', `/api/v1/workspaces/${ws}/conversations/${conversation.id}`, {
      status: 'closed',
      assigneeUserId: owner.id,
    })
    expect(patched.status).toBe(200)
    expect(await patched.json()).toMatchObject({ id: conversation.id, status: 'closed', assigneeUserId: owner.id })
    // The same values again: no change, no event.
    expect(
      (await api(t, owner, 'PATCH', `/api/v1/workspaces/${ws}/conversations/${conversation.id}`, { status: 'closed' }))
        .status,
    ).toBe(200)
    const stranger = await makeUser(t, 'stranger@example.com')
    const notMember = await api(t, owner, 'PATCH', `/api/v1/workspaces/${ws}/conversations/${conversation.id}`, {
      assigneeUserId: stranger.id,
    })
    expect(notMember.status).toBe(422)
    expect((await notMember.json()).errors[0].field).toBe('assigneeUserId')
    expect(
      (
        await api(t, owner, 'PATCH', `/api/v1/workspaces/${ws}/conversations/${conversation.id}`, {
          status: 'archived',
        })
      ).status,
    ).toBe(422)
    await api(t, owner, 'PATCH', `/api/v1/workspaces/${ws}/contacts/${conversation.contact_id}`, { optedOut: true })
    await api(t, owner, 'DELETE', `/api/v1/workspaces/${ws}/channels/${channel.id}`)

    const events = await eventRows(t, ws)
    expect(events.map((e) => e.type)).toEqual([
      'conversation.created',
      'message.received',
      'message.sent',
      'message.status',
      'message.status',
      'conversation.updated',
      'contact.updated',
      'channel.status',
    ])
    const data = events.map((e) => JSON.parse(e.data))
    expect(data[1]).toEqual({
      messageId: expect.stringMatching(/^msg_/),
      conversationId: conversation.id,
      channelId: channel.id,
      wamid: inbound.id,
      contactId: conversation.contact_id,
      from: '4915112345678',
      type: 'text',
      text: 'Hi, is my order ready?',
      sentAt: '2025-06-08T20:59:43.000Z',
      detail: null,
    })
    expect(data[2]).toMatchObject({ messageId, conversationId: conversation.id, channelId: channel.id, wamid })
    expect(data.slice(3, 5).map((d) => d.status)).toEqual(['delivered', 'read'])
    expect(data[5]).toEqual({
      conversationId: conversation.id,
      status: 'closed',
      assigneeUserId: owner.id,
      changed: ['status', 'assignee'],
    })
    expect(data[6]).toMatchObject({
      contactId: conversation.contact_id,
      waId: '4915112345678',
      profileName: 'Maria',
      optedOut: true,
      changed: ['optedOut'],
    })
    expect(data[7]).toEqual({ channelId: channel.id, status: 'disconnected', reason: 'disconnected' })
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
    for (const e of events) expect(e.id).toMatch(/^evt_[A-Za-z0-9]{16}$/)
    const all = JSON.stringify(events)
    for (const secret of [channel.accessToken, channel.appSecret, channel.verifyToken])
      expect(all).not.toContain(secret)
    await t.close()
  })

  test('a failed send and a failed status emit message.failed; a needs_reauth flip emits channel.status', async () => {
    const { t, owner, ws } = await setup()
    const channel = await makeChannel(t, ws, graph)
    await deliver(
      t,
      channel,
      inboundText(channel.phoneNumberId, 'hello', { from: '4915112345678', timestamp: 1749416383 }).body,
    )
    const conversation = await t.db.db.selectFrom('conversations').selectAll().executeTakeFirstOrThrow()
    graph.failNext({
      path: new RegExp(`/${channel.phoneNumberId}/messages$`),
      times: 1,
      status: 401,
      code: 190,
      message: 'Error validating access token',
    })
    await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
      conversationId: conversation.id,
      type: 'text',
      text: { body: 'one' },
    })
    await t.runtime.sender.drain()
    const types = (await eventRows(t, ws)).map((e) => e.type)
    expect(types.slice(-2)).toEqual(['message.failed', 'channel.status'])
    const [failed, status] = (await eventRows(t, ws)).slice(-2).map((e) => JSON.parse(e.data))
    expect(failed.error).toEqual({ code: 190, title: expect.any(String) })
    expect(status).toMatchObject({ channelId: channel.id, status: 'needs_reauth' })
    await t.close()
  })
})

describe('webhook endpoints', () => {
  test('create shows the secret once; views, audit and logs never show it; bad URLs and types are refused', async () => {
    const { t, owner, ws } = await setup({ config: { webhookAllowHttp: false, webhookAllowedNetworks: [] } })
    const created = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/webhooks`, {
      url: 'https://93.184.215.14/hooks?token=abc',
      eventTypes: ['message.received', 'message.status'],
    })
    expect(created.status).toBe(201)
    const { endpoint, secret } = await created.json()
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/)
    expect(endpoint).toMatchObject({
      url: 'https://93.184.215.14/hooks?token=abc',
      eventTypes: ['message.received', 'message.status'],
      enabled: true,
      description: '',
    })
    const listed = await (await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/webhooks`)).text()
    const one = await (await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}`)).text()
    const row = await t.db.db.selectFrom('webhook_endpoints').selectAll().executeTakeFirstOrThrow()
    for (const text of [listed, one, row.secret, JSON.stringify(await auditRows(t)), t.logLines.join('\n')])
      expect(text).not.toContain(secret.slice(6))
    expect(row.secret.startsWith('v1.')).toBe(true)
    // The audit row names where it points, not the path or query (which may carry the receiver's token).
    const audit = (await auditRows(t)).find((a) => a.action === 'webhook.created')!
    expect(JSON.parse(audit.metadata)).toEqual({
      origin: 'https://93.184.215.14',
      eventTypes: ['message.received', 'message.status'],
    })

    const refused = async (body: Record<string, unknown>, field: string) => {
      const res = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/webhooks`, body)
      const problem = await res.json()
      expect({ body, status: res.status, field: problem.errors?.[0]?.field }).toEqual({ body, status: 422, field })
      return problem.detail as string
    }
    expect(await refused({ url: 'http://93.184.215.14/hook' }, 'url')).toContain('https')
    expect(await refused({ url: 'https://127.0.0.1:9/hook' }, 'url')).toContain('loopback')
    expect(await refused({ url: 'https://10.1.2.3/hook' }, 'url')).toContain('private')
    expect(await refused({ url: 'https://169.254.169.254/latest/meta-data' }, 'url')).toContain('link-local')
    expect(await refused({ url: 'https://[::1]/hook' }, 'url')).toContain('loopback')
    // A name that resolves to loopback is refused like the address itself.
    expect(await refused({ url: 'https://localhost/hook' }, 'url')).toContain('loopback')
    expect(await refused({ url: 'not a url' }, 'url')).toBeTruthy()
    await refused({ url: 'https://93.184.215.14/', eventTypes: ['message.exploded'] }, 'eventTypes.0')
    await refused({ url: 'https://93.184.215.14/', eventTypes: [] }, 'eventTypes')
    const malformed = await t.request(`/api/v1/workspaces/${ws}/webhooks`, {
      method: 'POST',
      headers: { ...owner.who.headers, 'content-type': 'application/json' },
      body: '{"url":',
    })
    expect(malformed.status).toBe(400)
    expect((await t.db.db.selectFrom('webhook_endpoints').selectAll().execute()).length).toBe(1)

    // Updates pass the same guard; delete is audited.
    expect(
      (
        await api(t, owner, 'PATCH', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}`, {
          url: 'https://192.168.1.1/x',
        })
      ).status,
    ).toBe(422)
    const renamed = await api(t, owner, 'PATCH', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}`, {
      description: 'CRM',
      eventTypes: ['*'],
    })
    expect(await renamed.json()).toMatchObject({ description: 'CRM', eventTypes: ['*'] })
    expect((await api(t, owner, 'DELETE', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}`)).status).toBe(204)
    expect((await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}`)).status).toBe(404)
    expect((await auditRows(t)).map((a) => a.action).filter((a) => a.startsWith('webhook.'))).toEqual([
      'webhook.created',
      'webhook.updated',
      'webhook.deleted',
    ])
    await t.close()
  })

  test('the operator can allow loopback; without that, the delivery-time check refuses it too', async () => {
    const receiver = startReceiver()
    const { t, owner, ws } = await setup()
    const { endpoint } = await addEndpoint(t, owner, ws, receiver.url)
    // The same data under a stricter configuration (as after the operator removed the allowance).
    const strict = await createTestApp({
      graph,
      db: t.db,
      config: { webhookAllowHttp: true, webhookAllowedNetworks: [] },
    })
    await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}/test`)
    await strict.runtime.dispatcher.drain()
    expect(receiver.received).toHaveLength(0)
    const log = await (
      await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/webhook-deliveries?endpointId=${endpoint.id}`)
    ).json()
    expect(log.items[0].log[0]).toMatchObject({ statusCode: null, error: expect.stringContaining('loopback') })
    receiver.stop()
    await t.close()
  })
})

describe('delivery', () => {
  test('every delivery is signed per Standard Webhooks; fails 3 times then accepts → delivered after 4 attempts, all logged', async () => {
    let secret = ''
    const receiver = startReceiver({ secrets: () => [secret], respond: (n) => (n < 3 ? 503 : 204) })
    const { t, clock, owner, admin, ws } = await setup()
    const created = await addEndpoint(t, owner, ws, receiver.url)
    secret = created.secret
    const channel = await makeChannel(t, ws, graph)
    await deliver(t, channel, inboundText(channel.phoneNumberId, 'hello', { from: '4915112345678' }).body)
    const messageEvent = (await eventRows(t, ws)).find((e) => e.type === 'message.received')!

    const attempts = () => receiver.received.filter((r) => r.json.type === 'message.received')
    await t.runtime.dispatcher.drain()
    expect(attempts()).toHaveLength(1)
    for (const [i, wait] of RETRY_SCHEDULE_MS.slice(0, 3).entries()) {
      // Not before its time (the schedule has at most 10% jitter).
      clock.advance(wait * 0.85)
      await t.runtime.dispatcher.drain()
      expect(attempts()).toHaveLength(i + 1)
      clock.advance(wait * 0.3)
      await t.runtime.dispatcher.drain()
      expect(attempts()).toHaveLength(i + 2)
    }
    clock.advance(48 * 3_600_000)
    await t.runtime.dispatcher.drain()
    expect(attempts()).toHaveLength(4)
    expect(attempts().every((r) => r.verified && r.id === messageEvent.id)).toBe(true)
    expect(attempts()[0]!.json).toEqual({
      id: messageEvent.id,
      type: 'message.received',
      timestamp: messageEvent.created_at,
      workspaceId: ws,
      data: JSON.parse(messageEvent.data),
    })
    // A tampered body or another secret does not verify.
    expect(verifiesWith({ ...attempts()[0]!, body: attempts()[0]!.body.replace('hello', 'hellO') }, secret)).toBe(false)
    expect(verifiesWith(attempts()[0]!, `whsec_${Buffer.from('another secret of 24 byte').toString('base64')}`)).toBe(
      false,
    )

    const log = await (
      await api(t, admin, 'GET', `/api/v1/workspaces/${ws}/webhook-deliveries?eventType=message.received`)
    ).json()
    expect(log.items).toHaveLength(1)
    const d = log.items[0]
    expect(d).toMatchObject({
      eventId: messageEvent.id,
      state: 'delivered',
      attempts: 4,
      lastStatus: 204,
      lastError: null,
      nextAttemptAt: null,
    })
    expect(d.log.map((a: { statusCode: number }) => a.statusCode)).toEqual([503, 503, 503, 204])
    // The first KB of each answer is kept, no more.
    expect(d.log[0].response).toHaveLength(1024)
    expect(d.log[0].response.startsWith('no: xxx')).toBe(true)
    expect(d.log.every((a: { latencyMs: number }) => a.latencyMs >= 0)).toBe(true)
    const endpoint = await t.db.db.selectFrom('webhook_endpoints').selectAll().executeTakeFirstOrThrow()
    expect({ enabled: endpoint.enabled, failingSince: endpoint.failing_since }).toEqual({
      enabled: 1,
      failingSince: null,
    })
    receiver.stop()
    await t.close()
  })

  test('a receiver that always fails: failed after the whole schedule; replay one, then all failed in a range', async () => {
    let accept = false
    const receiver = startReceiver({ respond: () => (accept ? 200 : 500) })
    const { t, clock, owner, admin, ws } = await setup({ config: { webhookDisableAfter: 8760 } })
    const { endpoint } = await addEndpoint(t, owner, ws, receiver.url)
    for (let i = 0; i < 3; i++) await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}/test`)
    await t.runtime.dispatcher.drain()
    for (const wait of RETRY_SCHEDULE_MS) {
      clock.advance(wait * 1.15)
      await t.runtime.dispatcher.drain()
    }
    expect(receiver.received).toHaveLength(3 * MAX_ATTEMPTS)
    clock.advance(7 * 24 * 3_600_000)
    await t.runtime.dispatcher.drain()
    expect(receiver.received).toHaveLength(3 * MAX_ATTEMPTS)
    const failed = await (await api(t, admin, 'GET', `/api/v1/workspaces/${ws}/webhook-deliveries?state=failed`)).json()
    expect(failed.items).toHaveLength(3)
    expect(failed.items[0]).toMatchObject({
      state: 'failed',
      attempts: MAX_ATTEMPTS,
      lastStatus: 500,
      lastError: 'HTTP 500',
    })
    expect(failed.items[0].log).toHaveLength(MAX_ATTEMPTS)
    // The schedule spans about a day.
    const times = failed.items[0].log.map((a: { at: string }) => Date.parse(a.at))
    expect(times.at(-1) - times[0]).toBeGreaterThan(24 * 3_600_000)

    accept = true
    const one = await api(t, admin, 'POST', `/api/v1/workspaces/${ws}/webhook-deliveries/${failed.items[2].id}/replay`)
    expect(await one.json()).toMatchObject({ state: 'pending', attempts: 0 })
    await t.runtime.dispatcher.drain()
    expect(
      (await (await api(t, admin, 'GET', `/api/v1/workspaces/${ws}/webhook-deliveries/${failed.items[2].id}`)).json())
        .state,
    ).toBe('delivered')
    // Same event id on the replay.
    expect(receiver.received.at(-1)!.id).toBe(
      receiver.received.find((r) => r.json.id === receiver.received.at(-1)!.json.id)!.id,
    )

    const range = (from: string, to: string) =>
      api(t, admin, 'POST', `/api/v1/workspaces/${ws}/webhook-deliveries/replay`, { endpointId: endpoint.id, from, to })
    expect((await range('2025-06-09T00:00:00Z', '2025-06-08T00:00:00Z')).status).toBe(422)
    expect(await (await range('2020-01-01T00:00:00Z', '2021-01-01T00:00:00Z')).json()).toEqual({ replayed: 0 })
    expect(await (await range('2025-06-08T00:00:00Z', '2025-06-09T00:00:00Z')).json()).toEqual({ replayed: 2 })
    await t.runtime.dispatcher.drain()
    expect(
      (await (await api(t, admin, 'GET', `/api/v1/workspaces/${ws}/webhook-deliveries?state=delivered`)).json()).items,
    ).toHaveLength(3)
    expect((await auditRows(t)).map((a) => a.action).filter((a) => a.includes('replayed'))).toEqual([
      'webhook.delivery_replayed',
      'webhook.deliveries_replayed',
      'webhook.deliveries_replayed',
    ])
    receiver.stop()
    await t.close()
  })

  test('an endpoint failing for the whole period is disabled, audited and announced; enabling it delivers what waited', async () => {
    let accept = false
    const receiver = startReceiver({ respond: (_, r) => (accept || r.path === '/watcher' ? 200 : 500) })
    const { t, clock, owner, admin, ws } = await setup({ config: { webhookDisableAfter: 2 } })
    const { endpoint } = await addEndpoint(t, owner, ws, receiver.url, ['conversation.updated'])
    const watcher = await addEndpoint(t, owner, ws, receiver.url.replace('/hook', '/watcher'), [
      'webhook_endpoint.disabled',
    ])
    const channel = await makeChannel(t, ws, graph)
    await deliver(t, channel, inboundText(channel.phoneNumberId, 'hello', { from: '4915112345678' }).body)
    const conversation = await t.db.db.selectFrom('conversations').selectAll().executeTakeFirstOrThrow()
    await api(t, owner, 'PATCH', `/api/v1/workspaces/${ws}/conversations/${conversation.id}`, { status: 'closed' })
    await t.runtime.dispatcher.drain()
    for (let i = 0; i < 4; i++) {
      clock.advance(RETRY_SCHEDULE_MS[i]! * 1.15)
      await t.runtime.dispatcher.drain()
    }
    const row = await t.db.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', endpoint.id)
      .executeTakeFirstOrThrow()
    expect(row.enabled).toBe(0)
    expect(row.disabled_reason).toContain('HTTP 500')
    const audit = (await auditRows(t)).find((a) => a.action === 'webhook.disabled')!
    expect({ actor: audit.actor_type, target: audit.target_id }).toEqual({ actor: 'system', target: endpoint.id })
    const announced = receiver.received.filter((r) => r.json.type === 'webhook_endpoint.disabled')
    expect(announced.map((r) => r.json.data)).toEqual([expect.objectContaining({ endpointId: endpoint.id })])
    expect(announced.map((r) => r.path)).toEqual(['/watcher'])
    expect(watcher.endpoint.id).not.toBe(endpoint.id)
    // Disabled: nothing more is attempted, however much time passes.
    const before = receiver.received.length
    clock.advance(48 * 3_600_000)
    await t.runtime.dispatcher.drain()
    expect(receiver.received.length).toBe(before)
    // What happens while it is disabled waits for it (it was disabled for failing, not switched off).
    await api(t, admin, 'PATCH', `/api/v1/workspaces/${ws}/conversations/${conversation.id}`, { status: 'open' })
    await t.runtime.dispatcher.drain()
    expect(receiver.received.length).toBe(before)
    accept = true
    const enabled = await api(t, admin, 'PATCH', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}`, { enabled: true })
    expect(await enabled.json()).toMatchObject({ enabled: true, disabledReason: null, failingSince: null })
    await t.runtime.dispatcher.drain()
    const resumed = receiver.received.slice(before).filter((r) => r.path === '/hook')
    expect(resumed.map((r) => [r.json.data.status, r.status])).toEqual([
      ['closed', 200],
      ['open', 200],
    ])
    // Switched off by an admin: nothing is kept for it.
    await api(t, admin, 'PATCH', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}`, { enabled: false })
    await api(t, admin, 'PATCH', `/api/v1/workspaces/${ws}/conversations/${conversation.id}`, { status: 'closed' })
    await t.runtime.dispatcher.drain()
    expect(
      await t.db.db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('endpoint_id', '=', endpoint.id)
        .where('state', '=', 'pending')
        .execute(),
    ).toEqual([])
    receiver.stop()
    await t.close()
  })

  test('a failure recorded after a success (both in flight together) does not disable the endpoint on a stale failure clock', async () => {
    let n = 0
    // The first request's failure is answered only once the second one's success has been recorded.
    const successRecorded = () =>
      t.db.db.selectFrom('webhook_attempts').select('delivery_id').where('status_code', '=', 200).executeTakeFirst()
    const receiver = startReceiver({
      respond: async () => (n++ === 0 ? waitUntil('the success to be recorded', successRecorded).then(() => 500) : 200),
    })
    const { t, owner, admin, ws } = await setup({ config: { webhookDisableAfter: 2 } })
    const { endpoint } = await addEndpoint(t, owner, ws, receiver.url)
    // It has been failing for three hours already.
    await t.db.db
      .updateTable('webhook_endpoints')
      .set({ failing_since: new Date(NOW - 3 * 3_600_000).toISOString() })
      .execute()
    await api(t, admin, 'POST', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}/test`)
    await api(t, admin, 'POST', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}/test`)
    await t.runtime.dispatcher.drain()
    // The fast success came back first and cleared the clock; the slow failure then starts a new one.
    const row = await t.db.db.selectFrom('webhook_endpoints').selectAll().executeTakeFirstOrThrow()
    expect({ enabled: row.enabled, failingSince: row.failing_since }).toEqual({
      enabled: 1,
      failingSince: new Date(NOW).toISOString(),
    })
    receiver.stop()
    await t.close()
  })

  test('filters: an endpoint gets only its types; workspace B never receives A’s events', async () => {
    const receiver = startReceiver()
    const { t, owner, ws } = await setup()
    const ownerB = await makeUser(t, 'owner@b.example')
    const wsB = await makeWorkspace(t, 'B', ownerB)
    const onlyReceived = await addEndpoint(t, owner, ws, `${receiver.url}/a-received`, ['message.received'])
    const everything = await addEndpoint(t, owner, ws, `${receiver.url}/a-all`)
    const bAll = await addEndpoint(t, ownerB, wsB, `${receiver.url}/b-all`)
    const channel = await makeChannel(t, ws, graph)
    await deliver(t, channel, inboundText(channel.phoneNumberId, 'hello', { from: '4915112345678' }).body)
    await t.runtime.dispatcher.drain()
    const byPath = await t.db.db
      .selectFrom('webhook_deliveries')
      .select(['endpoint_id', 'event_type', 'workspace_id'])
      .execute()
    expect(byPath.filter((d) => d.endpoint_id === onlyReceived.endpoint.id).map((d) => d.event_type)).toEqual([
      'message.received',
    ])
    expect(
      byPath
        .filter((d) => d.endpoint_id === everything.endpoint.id)
        .map((d) => d.event_type)
        .sort(),
    ).toEqual(['conversation.created', 'message.received'])
    expect(byPath.filter((d) => d.endpoint_id === bAll.endpoint.id)).toEqual([])
    expect(receiver.received.filter((r) => r.json.workspaceId === wsB)).toEqual([])
    expect(receiver.received.map((r) => `${r.path} ${r.json.type}`).sort()).toEqual([
      '/hook/a-all conversation.created',
      '/hook/a-all message.received',
      '/hook/a-received message.received',
    ])
    // An endpoint created later does not receive what happened before it existed.
    const late = await addEndpoint(t, owner, ws, `${receiver.url}/late`)
    await t.runtime.dispatcher.drain()
    expect(
      (await t.db.db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', late.endpoint.id).execute())
        .length,
    ).toBe(0)
    receiver.stop()
    await t.close()
  })

  test('secret rotation: during the overlap both secrets verify; after it only the new one', async () => {
    const receiver = startReceiver()
    const { t, clock, owner, ws } = await setup()
    const { endpoint, secret: oldSecret } = await addEndpoint(t, owner, ws, receiver.url)
    const rotated = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}/rotate-secret`, {
      overlapHours: 2,
    })
    const { secret: newSecret, endpoint: view } = await rotated.json()
    expect(newSecret).not.toBe(oldSecret)
    expect(view.previousSecretUntil).toBe(new Date(NOW + 2 * 3_600_000).toISOString())
    await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}/test`)
    await t.runtime.dispatcher.drain()
    const during = receiver.received.at(-1)!
    expect(during.signature.split(' ')).toHaveLength(2)
    expect([verifiesWith(during, oldSecret), verifiesWith(during, newSecret)]).toEqual([true, true])
    clock.advance(2 * 3_600_000 + 1)
    await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}/test`)
    await t.runtime.dispatcher.drain()
    const after = receiver.received.at(-1)!
    expect(after.signature.split(' ')).toHaveLength(1)
    expect([verifiesWith(after, oldSecret), verifiesWith(after, newSecret)]).toEqual([false, true])
    const audit = (await auditRows(t)).filter((a) => a.action === 'webhook.secret_rotated')
    expect(audit.map((a) => JSON.parse(a.metadata))).toEqual([{ overlapHours: 2 }])
    expect(JSON.stringify(await auditRows(t))).not.toContain(newSecret.slice(6))
    receiver.stop()
    await t.close()
  })

  test('running on its own: a new event wakes the dispatcher at once; a retry waits for its time on the clock', async () => {
    const receiver = startReceiver({ respond: async (n) => (n === 0 ? 500 : 200) })
    const { t, clock, owner, ws } = await setup()
    const { endpoint } = await addEndpoint(t, owner, ws, receiver.url)
    // An hourly safety-net pass only: what happens below is the event's signal and the retry's own wake-up.
    t.runtime.dispatcher.start(3_600_000)
    // Nobody drains: the event's signal wakes the dispatcher.
    await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}/test`)
    await waitUntil('the first attempt', () => receiver.received.length === 1)
    const attempts = () =>
      t.db.db.selectFrom('webhook_attempts').select('status_code').where('status_code', '=', 500).executeTakeFirst()
    await waitUntil('the first attempt to be recorded', attempts)
    // The retry is due 5 s (±10 %) later: not before 4.5 s of the clock's time, however long one waits in real time.
    await clock.advanceAsync(4_400)
    expect(receiver.received).toHaveLength(1)
    await clock.advanceAsync(1_200)
    // Soon after in real time (well before the 4.5 s a timer on the wall clock would take).
    await waitUntil('the retry', () => receiver.received.length === 2, 3_000)
    await t.runtime.dispatcher.drain()
    const d = (await (await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/webhook-deliveries`)).json()).items[0]
    expect(d.state).toBe('delivered')
    receiver.stop()
    await t.close()
  })

  test('a receiver that does not answer in time is an attempt with a timeout, retried', async () => {
    // The first request is answered only after the dispatcher has given up on it.
    const timedOut = () =>
      t.db.db
        .selectFrom('webhook_attempts')
        .select('delivery_id')
        .where('error', 'like', 'no answer%')
        .executeTakeFirst()
    const receiver = startReceiver({
      respond: async (n) => (n === 0 ? waitUntil('the attempt to time out', timedOut).then(() => 200) : 200),
    })
    const { t, clock, owner, ws } = await setup({ config: { webhookTimeout: 300 } })
    const { endpoint } = await addEndpoint(t, owner, ws, receiver.url)
    await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}/test`)
    await t.runtime.dispatcher.drain()
    clock.advance(10_000)
    await t.runtime.dispatcher.drain()
    const d = (await (await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/webhook-deliveries`)).json()).items[0]
    expect(d.log.map((a: { statusCode: number | null; error: string | null }) => [a.statusCode, a.error])).toEqual([
      [null, 'no answer within 300 ms'],
      [200, null],
    ])
    expect(d.state).toBe('delivered')
    receiver.stop()
    await t.close()
  })
})

/** Reads SSE frames from a response body. */
function sseReader(res: Response) {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let ended = false
  const frames: { id?: string; event?: string; data?: string; comment?: string }[] = []
  const pump = async () => {
    const { done, value } = await reader.read()
    if (done) {
      ended = true
      return
    }
    buffer += decoder.decode(value, { stream: true })
    let i: number
    while ((i = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, i)
      buffer = buffer.slice(i + 2)
      const f: (typeof frames)[number] = {}
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) f.comment = line.slice(1).trim()
        else {
          const [k, ...v] = line.split(': ')
          ;(f as Record<string, string>)[k!] = v.join(': ')
        }
      }
      frames.push(f)
    }
  }
  return {
    frames,
    get ended() {
      return ended
    },
    /** Reads until `until` holds (or the stream ends), failing after 5 s. */
    async until(pred: () => boolean) {
      const deadline = Date.now() + 5000
      while (!pred() && !ended) {
        if (Date.now() > deadline) throw new Error(`timed out waiting; frames so far: ${JSON.stringify(frames)}`)
        await Promise.race([pump(), Bun.sleep(25)])
      }
    },
    events: () => frames.filter((f) => f.data && f.event !== 'stream.end' && f.event !== 'stream.ready'),
    ready: () => frames.find((f) => f.event === 'stream.ready'),
    cancel: () => reader.cancel(),
  }
}

describe('the events signal', () => {
  test("belongs to its database: an event wakes its own app's listeners (async and synchronous writes), never another app's", async () => {
    const a = await setup()
    const b = await setup()
    const woke = { a: 0, b: 0 }
    const offA = a.t.services.events.on(() => woke.a++)
    const offB = b.t.services.events.on(() => woke.b++)
    const note = { endpointId: 'none', note: 'signal' }
    await a.t.db.db.transaction().execute((trx) => emit(trx, a.ws, 'webhook.test', note, new Date(NOW).toISOString()))
    await waitUntil('the first app to be woken', () => woke.a === 1)
    await a.t.services.syncTransaction((db) => emitSync(db, a.ws, 'webhook.test', note, new Date(NOW).toISOString()))
    await waitUntil('the first app to be woken again', () => woke.a === 2)
    expect(woke.b).toBe(0)
    await emit(b.t.db.db, b.ws, 'webhook.test', note, new Date(NOW).toISOString())
    await waitUntil('the second app to be woken', () => woke.b === 1)
    expect(woke.a).toBe(2)
    offA()
    offB()
    await a.t.close()
    await b.t.close()
  })
})

describe('live stream (SSE)', () => {
  test('a stream says where it starts (stream.ready with an id): a client that drops before any event resumes from there and misses nothing', async () => {
    const { t, owner, ws } = await setup()
    const channel = await makeChannel(t, ws, graph)
    await deliver(
      t,
      channel,
      inboundText(channel.phoneNumberId, 'before the stream', { from: '4915112345678', timestamp: 1749416383 }).body,
    )
    const first = sseReader(await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/events/stream`))
    await first.until(() => first.ready() !== undefined)
    const readyId = first.ready()!.id!
    const lastSeq = (
      await t.db.db
        .selectFrom('events')
        .select((e) => e.fn.max('seq').as('seq'))
        .executeTakeFirstOrThrow()
    ).seq
    expect(Number(readyId)).toBe(Number(lastSeq))
    expect(first.events()).toHaveLength(0)
    await first.cancel()
    // Gone before any event; two messages arrive meanwhile.
    await deliver(
      t,
      channel,
      inboundText(channel.phoneNumberId, 'while away 1', { from: '4915112345678', timestamp: 1749416384 }).body,
    )
    await deliver(
      t,
      channel,
      inboundText(channel.phoneNumberId, 'while away 2', { from: '4915112345678', timestamp: 1749416385 }).body,
    )
    const resumed = sseReader(
      await t.request(
        `/api/v1/workspaces/${ws}/events/stream`,
        call(owner.who, 'GET', undefined, { 'last-event-id': readyId }),
      ),
    )
    await resumed.until(() => resumed.events().length >= 2)
    expect(resumed.events().map((f) => JSON.parse(f.data!).data.text)).toEqual(['while away 1', 'while away 2'])
    await resumed.cancel()
    await t.close()
  })

  test('events arrive in order; Last-Event-ID resumes without gaps; an Analyst receives them; heartbeats; B sees none of A', async () => {
    const { t, clock, ws } = await setup({ clock: manualClock(Date.now()), config: { sseHeartbeat: 1 } })
    const analyst = await makeUser(t, 'analyst@example.com')
    await addMember(t, ws, analyst, 'analyst')
    const ownerB = await makeUser(t, 'owner@b.example')
    const wsB = await makeWorkspace(t, 'B', ownerB)
    const stream = await api(t, analyst, 'GET', `/api/v1/workspaces/${ws}/events/stream`)
    expect(stream.status).toBe(200)
    expect(stream.headers.get('content-type')).toStartWith('text/event-stream')
    const sse = sseReader(stream)
    const streamB = sseReader(await api(t, ownerB, 'GET', `/api/v1/workspaces/${wsB}/events/stream`))

    const channel = await makeChannel(t, ws, graph)
    for (let i = 0; i < 5; i++)
      await deliver(
        t,
        channel,
        inboundText(channel.phoneNumberId, `message ${i}`, { from: '4915112345678', timestamp: 1749416383 + i }).body,
      )
    await sse.until(() => sse.events().length >= 6)
    const got = sse.events()
    expect(got.map((f) => f.event)).toEqual(['conversation.created', ...Array(5).fill('message.received')])
    expect(got.map((f) => JSON.parse(f.data!).data.text).slice(1)).toEqual([
      'message 0',
      'message 1',
      'message 2',
      'message 3',
      'message 4',
    ])
    const ids = got.map((f) => Number(f.id))
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(JSON.parse(got[1]!.data!)).toMatchObject({
      id: expect.stringMatching(/^evt_/),
      type: 'message.received',
      workspaceId: ws,
    })
    // Idle: heartbeats keep it open (one per sseHeartbeat of the clock's time).
    expect(sse.frames.some((f) => f.comment === 'heartbeat')).toBe(false)
    await sse.until(() => {
      clock.advance(1_000)
      return sse.frames.some((f) => f.comment === 'heartbeat')
    })
    await sse.cancel()

    // Missed while away: resume after the third event.
    for (let i = 5; i < 8; i++)
      await deliver(
        t,
        channel,
        inboundText(channel.phoneNumberId, `message ${i}`, { from: '4915112345678', timestamp: 1749416383 + i }).body,
      )
    const resumed = sseReader(
      await t.request(
        `/api/v1/workspaces/${ws}/events/stream`,
        call(analyst.who, 'GET', undefined, { 'last-event-id': String(ids[2]) }),
      ),
    )
    await resumed.until(() => resumed.events().length >= 6)
    expect(resumed.events().map((f) => JSON.parse(f.data!).data.text)).toEqual([
      'message 2',
      'message 3',
      'message 4',
      'message 5',
      'message 6',
      'message 7',
    ])
    await resumed.cancel()
    expect(streamB.events()).toEqual([])
    await streamB.cancel()
    const bad = await t.request(`/api/v1/workspaces/${ws}/events/stream?lastEventId=abc`, call(analyst.who, 'GET'))
    expect({ status: bad.status, body: await bad.text() }).toEqual({
      status: 400,
      body: expect.stringContaining('lastEventId'),
    })
    expect((await api(t, ownerB, 'GET', `/api/v1/workspaces/${ws}/events/stream`)).status).toBe(404)
    await t.close()
  })

  test('a client that does not read is dropped, not buffered without bound; it resumes from its last id', async () => {
    const { t, owner, ws } = await setup({ clock: manualClock(Date.now()) })
    const res = await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/events/stream`)
    // 2,000 events while the client reads nothing.
    await t.db.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 2000; i++)
        await emit(trx, ws, 'webhook.test', { endpointId: 'none', note: `n${i}` }, new Date().toISOString())
    })
    await waitUntil('the stream to drop its client', () => t.logLines.some((l) => l.includes('client too slow')))
    const sse = sseReader(res)
    await sse.until(() => sse.ended)
    const got = sse.events()
    // What was queued when the limit was passed, then the end: far fewer than were written.
    expect(got.length).toBeGreaterThan(200)
    expect(got.length).toBeLessThan(600)
    expect(got.map((f) => JSON.parse(f.data!).data.note)).toEqual(got.map((_, i) => `n${i}`))
    const again = sseReader(
      await t.request(
        `/api/v1/workspaces/${ws}/events/stream`,
        call(owner.who, 'GET', undefined, { 'last-event-id': got.at(-1)!.id! }),
      ),
    )
    await again.until(() => again.events().length >= 2000 - got.length)
    expect(JSON.parse(again.events()[0]!.data!).data.note).toBe(`n${got.length}`)
    await again.cancel()
    await t.close()
  })

  test("a browser's EventSource: the session cookie alone (GET, no custom headers); Last-Event-ID resumes; frames carry what the inbox updates from", async () => {
    const { t, owner, ws } = await setup({ clock: manualClock(Date.now()) })
    // Exactly what a browser sends for `new EventSource(url)` on its own origin: the cookie, no Origin, no
    // Authorization, nothing custom; on a reconnect, Last-Event-ID.
    const eventSource = (extra: Record<string, string> = {}): RequestInit => ({
      method: 'GET',
      headers: {
        cookie: owner.who.headers.cookie!,
        accept: 'text/event-stream',
        'cache-control': 'no-cache',
        'sec-fetch-site': 'same-origin',
        'sec-fetch-mode': 'cors',
        'sec-fetch-dest': 'empty',
        ...extra,
      },
    })
    const res = await t.request(`/api/v1/workspaces/${ws}/events/stream`, eventSource())
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('text/event-stream')
    expect(res.headers.get('cache-control')).toBe('no-store')
    const sse = sseReader(res)

    const channel = await makeChannel(t, ws, graph)
    const now = Math.floor(Date.now() / 1000)
    await deliver(
      t,
      channel,
      inboundText(channel.phoneNumberId, 'Is my order ready?', { from: '4915112345678', timestamp: now }).body,
    )
    const conversation = await t.db.db
      .selectFrom('conversations')
      .selectAll()
      .where('workspace_id', '=', ws)
      .executeTakeFirstOrThrow()
    const sendText = async (body: string) => {
      const sent = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
        conversationId: conversation.id,
        type: 'text',
        text: { body },
      })
      expect(sent.status).toBe(202)
      await t.runtime.sender.drain()
      const id = (await sent.json()).id as string
      return {
        id,
        wamid: (await t.db.db.selectFrom('messages').select('wamid').where('id', '=', id).executeTakeFirstOrThrow())
          .wamid!,
      }
    }
    const ready = await sendText('Yes, ready.')
    await deliver(t, channel, statusUpdate(channel.phoneNumberId, ready.wamid, 'delivered'))
    const lost = await sendText('Shall we deliver?')
    await deliver(
      t,
      channel,
      statusUpdate(channel.phoneNumberId, lost.wamid, 'failed', {
        errors: [{ code: 131026, title: 'Message undeliverable' }],
      }),
    )
    expect(
      (
        await api(t, owner, 'PATCH', `/api/v1/workspaces/${ws}/conversations/${conversation.id}`, {
          status: 'closed',
          assigneeUserId: owner.id,
        })
      ).status,
    ).toBe(200)

    await sse.until(() => sse.events().length >= 7)
    const frames = sse
      .events()
      .map((f) => ({ id: f.id!, event: f.event!, data: JSON.parse(f.data!).data as Record<string, unknown> }))
    expect(frames.map((f) => f.event)).toEqual([
      'conversation.created',
      'message.received',
      'message.sent',
      'message.status',
      'message.sent',
      'message.failed',
      'conversation.updated',
    ])
    const inbound = await t.db.db
      .selectFrom('messages')
      .select('id')
      .where('direction', '=', 'in')
      .executeTakeFirstOrThrow()
    expect(frames[1]!.data).toMatchObject({ messageId: inbound.id, conversationId: conversation.id })
    expect(frames[2]!.data).toMatchObject({ messageId: ready.id, conversationId: conversation.id })
    expect(frames[3]!.data).toMatchObject({ messageId: ready.id, conversationId: conversation.id, status: 'delivered' })
    expect(frames[5]!.data).toMatchObject({
      messageId: lost.id,
      conversationId: conversation.id,
      error: { code: 131026, title: 'Message undeliverable' },
    })
    expect(frames[6]!.data).toEqual({
      conversationId: conversation.id,
      status: 'closed',
      assigneeUserId: owner.id,
      changed: ['status', 'assignee'],
    })
    // The bubble for an announced message, with the same cookie-only GET.
    const bubble = await t.request(
      `/api/v1/workspaces/${ws}/messages/${frames[1]!.data.messageId}`,
      eventSource({ accept: 'application/json' }),
    )
    expect(bubble.status).toBe(200)
    expect(await bubble.json()).toMatchObject({
      id: inbound.id,
      conversationId: conversation.id,
      direction: 'in',
      text: 'Is my order ready?',
      quoted: null,
    })
    await sse.cancel()

    // The connection drops after the third frame; EventSource reconnects with Last-Event-ID: the rest, nothing twice.
    const resumed = sseReader(
      await t.request(`/api/v1/workspaces/${ws}/events/stream`, eventSource({ 'last-event-id': frames[2]!.id })),
    )
    await resumed.until(() => resumed.events().length >= 4)
    expect(resumed.frames[0] as Record<string, string>).toEqual({ retry: '2000' })
    expect(resumed.events().map((f) => f.id)).toEqual(frames.slice(3).map((f) => f.id))
    await resumed.cancel()
    // Without a cookie it is a 401 (EventSource then gives up; the UI signs in again).
    expect(
      (
        await t.request(`/api/v1/workspaces/${ws}/events/stream`, {
          method: 'GET',
          headers: { accept: 'text/event-stream' },
        })
      ).status,
    ).toBe(401)
    await t.close()
  })

  test("a removed member's stream ends, a revoked key's, and a signed-out session's", async () => {
    const { t, clock, owner, ws } = await setup({ clock: manualClock(Date.now()), config: { sseHeartbeat: 1 } })
    const agent = await makeUser(t, 'agent@example.com')
    await addMember(t, ws, agent, 'agent')
    const key = await makeKey(t, ws, owner, 'analyst')
    const member = sseReader(await api(t, agent, 'GET', `/api/v1/workspaces/${ws}/events/stream`))
    const keyed = sseReader(await api(t, key, 'GET', `/api/v1/workspaces/${ws}/events/stream`))
    const signedOut = sseReader(await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/events/stream`))
    await membershipsRepo.deleteMembership(t.db.db, ws, agent.id)
    expect((await api(t, owner, 'DELETE', `/api/v1/workspaces/${ws}/api-keys/${key.id}`)).status).toBe(200)
    expect((await api(t, owner, 'POST', '/api/v1/auth/logout')).status).toBe(204)
    // Each stream checks again at its next wake-up: an event, or else its heartbeat.
    const ended = (stream: typeof member) => () => {
      clock.advance(1_000)
      return stream.ended
    }
    await member.until(ended(member))
    await keyed.until(ended(keyed))
    await signedOut.until(ended(signedOut))
    for (const stream of [member, keyed, signedOut]) expect(stream.frames.at(-1)).toMatchObject({ event: 'stream.end' })
    await t.close()
  })
})

describe('retention', () => {
  test('old events and finished deliveries are pruned; pending deliveries and the events they need stay', async () => {
    const receiver = startReceiver({ respond: (_, r) => (r.json.data.note === 'keep' ? 500 : 200) })
    const clock = manualClock(NOW)
    const { t, owner, admin, ws } = await setup({ clock, config: { eventRetention: 30 } })
    const { endpoint } = await addEndpoint(t, owner, ws, receiver.url)
    await api(t, admin, 'POST', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}/test`)
    await t.runtime.dispatcher.drain()
    // A pending delivery (failing) whose event must survive.
    await t.db.db
      .transaction()
      .execute((trx) =>
        emit(
          trx,
          ws,
          'contact.updated',
          { contactId: 'ct_x', waId: null, profileName: null, name: null, optedOut: false, changed: ['name'] },
          new Date(NOW).toISOString(),
        ),
      )
    await t.db.db
      .updateTable('events')
      .set({ data: JSON.stringify({ note: 'keep' }) })
      .where('type', '=', 'contact.updated')
      .execute()
    await t.runtime.dispatcher.drain()
    clock.advance(31 * 86_400_000)
    await t.db.db
      .transaction()
      .execute((trx) =>
        emit(trx, ws, 'webhook.test', { endpointId: endpoint.id, note: 'recent' }, new Date(clock.now()).toISOString()),
      )
    await eventRetentionJob(t.services, '* * * * *').run()
    const events = await t.db.db.selectFrom('events').select(['type', 'data']).orderBy('seq').execute()
    expect(events.map((e) => e.type)).toEqual(['contact.updated', 'webhook.test'])
    const deliveries = await t.db.db.selectFrom('webhook_deliveries').select(['event_type', 'state']).execute()
    expect(deliveries).toEqual([{ event_type: 'contact.updated', state: 'pending' }])
    // An endpoint left disabled does not hold history forever: its old pending deliveries expire (failed) and go
    // with the rest, and so do the events they held.
    await api(t, admin, 'PATCH', `/api/v1/workspaces/${ws}/webhooks/${endpoint.id}`, { enabled: false })
    await eventRetentionJob(t.services, '* * * * *').run()
    expect(await t.db.db.selectFrom('webhook_deliveries').select('id').execute()).toEqual([])
    expect((await t.db.db.selectFrom('events').select('type').execute()).map((e) => e.type)).toEqual(['webhook.test'])
    expect(
      await t.db.db
        .selectFrom('webhook_attempts')
        .select('id')
        .where(
          'delivery_id',
          'not in',
          (await t.db.db.selectFrom('webhook_deliveries').select('id').execute()).map((d) => d.id),
        )
        .execute(),
    ).toEqual([])
    receiver.stop()
    await t.close()
  })
})
