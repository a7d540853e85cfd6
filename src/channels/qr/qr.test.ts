import { afterAll, describe, expect, test } from 'bun:test'
import type { WAMessage } from 'baileys'
import { createTestApp, type TestApp } from '../../testing/test-app.ts'
import { startGraphDouble } from '../../testing/graph-double.ts'
import { auditRows, call, makeUser, makeWorkspace, manualClock, type FixtureUser } from '../../testing/fixtures.ts'
import { scriptedSockets, type ScriptedSocket } from '../../testing/qr-socket.ts'
import { baileysSocketFactory, isIgnoredJid, type SocketFactory } from './socket.ts'
import { BAD_SESSION_LIMIT, channelStatusFor, classifyClose, RECONNECT_CAP_MS, reconnectDelay } from './session.ts'
import { qrMessageId } from './outbound.ts'
import { mostInAnyWindow } from '../../testing/windows.ts'
import { MEDIA_REFUSED } from './qr.provider.ts'
import { decryptWhatsAppMedia, whatsAppMediaUrl } from './media.ts'
import { encryptedStream } from 'baileys'
import { createHash } from 'node:crypto'
import type { ProviderError } from '../provider.ts'
import { waitUntil } from '../../testing/wait.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

const PARTNER = '4917612345678'
const NO_TYPING = { pacing: { typing: false, minDelayMs: 500, maxDelayMs: 500 } }

async function setup(
  opts: { factory?: SocketFactory; clock?: ReturnType<typeof manualClock>; config?: Record<string, unknown> } = {},
) {
  const sockets = scriptedSockets()
  // Time moves only when a test moves it: reconnect backoff, pacing and heartbeats without waiting for them.
  const clock = opts.clock ?? manualClock(Date.now())
  const t = await createTestApp({
    graph,
    clock,
    qrSocketFactory: opts.factory ?? sockets.factory,
    config: opts.config,
  })
  const owner = await makeUser(t, 'owner@example.com')
  const ws = await makeWorkspace(t, 'Acme', owner)
  return { t, clock, owner, ws, sockets }
}

const api = (t: TestApp, who: FixtureUser, method: string, path: string, body?: unknown) =>
  t.request(path, call(who.who, method, body))
const settle = async (t: TestApp, channelId: string) => {
  await t.runtime.qr.get(channelId)?.idle()
  await t.runtime.writer.flush()
  await t.runtime.processor.drain()
}
const channelRow = (t: TestApp, id: string) =>
  t.db.db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
const authRows = (t: TestApp, id: string) =>
  t.db.db.selectFrom('qr_auth_state').selectAll().where('channel_id', '=', id).execute()

/** Creates a QR channel through the API and takes it through a scan: QR shown, 515 restart, open. */
async function linked(
  t: TestApp,
  owner: FixtureUser,
  ws: string,
  sockets: ReturnType<typeof scriptedSockets>,
  qr: Record<string, unknown> = NO_TYPING,
) {
  const res = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, { kind: 'qr', name: 'Shop phone', qr })
  expect(res.status).toBe(201)
  const id = (await res.json()).channel.id as string
  sockets.last().showQr('2@first-qr,noise,identity,adv')
  sockets.last().emit('creds.update', {})
  sockets.last().close(515, 'Stream Errored (restart required)')
  await t.runtime.qr.get(id)!.idle()
  sockets.last().open()
  await t.runtime.qr.get(id)!.idle()
  return id
}

/** A Baileys message as messages.upsert carries it. */
const incoming = (
  id: string,
  text: string,
  key: Partial<WAMessage['key']> = {},
  ts = Math.floor(Date.now() / 1000),
): WAMessage => ({
  key: { remoteJid: `${PARTNER}@s.whatsapp.net`, fromMe: false, id, ...key },
  message: { conversation: text },
  messageTimestamp: ts,
  pushName: 'Jonas',
})

/** The customer writes first (message 3EB0IN01): the conversation to answer in. */
async function customerWrote(t: TestApp, channelId: string, socket: ScriptedSocket, text: string): Promise<string> {
  socket.emit('messages.upsert', { type: 'notify', messages: [incoming('3EB0IN01', text)] })
  await settle(t, channelId)
  return (
    await t.db.db.selectFrom('conversations').select('id').where('channel_id', '=', channelId).executeTakeFirstOrThrow()
  ).id
}

/** Reads SSE frames from a response until `count` data frames arrived (or the stream ended). */
async function readFrames(res: Response, count: number, until: () => Promise<void> = async () => {}) {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  const frames: { event: string; data: Record<string, unknown> }[] = []
  let actions = until()
  const deadline = Date.now() + 5000
  // One read outstanding at a time: a read given up on would take the next chunk with it.
  let reading: ReturnType<typeof reader.read> | null = null
  while (frames.length < count && Date.now() < deadline) {
    reading ??= reader.read()
    const r = await Promise.race([reading, Bun.sleep(25).then(() => null)])
    if (r) reading = null
    if (r?.done) break
    if (r?.value) buffer += decoder.decode(r.value, { stream: true })
    let i: number
    while ((i = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, i)
      buffer = buffer.slice(i + 2)
      const event = block.match(/^event: (.*)$/m)?.[1]
      const data = block.match(/^data: (.*)$/m)?.[1]
      if (event && data) frames.push({ event, data: JSON.parse(data) })
    }
    await actions
    actions = Promise.resolve()
  }
  await reader.cancel().catch(() => {})
  return frames
}

describe('linking', () => {
  test('create → QR (SVG, rotating on the stream) → scan → 515 restart → connected with number and name; audited and announced', async () => {
    const { t, owner, ws, sockets } = await setup()
    const res = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, { kind: 'qr', name: 'Shop phone' })
    expect(res.status).toBe(201)
    const { channel } = await res.json()
    // Not linked yet is not a lost link: pending, not needs_reauth.
    expect(channel).toMatchObject({
      provider: 'qr',
      status: 'pending',
      webhookUrl: null,
      connection: { state: 'linking', reconnectCount: 0, linkedAt: null },
    })
    expect(channel.qr.pacing).toMatchObject({ warmup: true, typing: true })
    expect(sockets.sockets).toHaveLength(1)
    expect(sockets.last().websocketUrl).toBe(t.config.qrWebsocketUrl)
    // No QR yet → 409; then the socket shows one.
    expect((await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${channel.id}/qr`)).status).toBe(409)
    sockets.last().showQr('2@first-qr,noise,identity,adv')
    await t.runtime.qr.get(channel.id)!.idle()
    const svg = await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${channel.id}/qr`)
    expect(svg.headers.get('content-type')).toBe('image/svg+xml')
    const first = await svg.text()
    expect(first).toStartWith('<svg')

    // The stream: current state and QR, then each rotation, then the end of linking.
    const stream = await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${channel.id}/qr/stream`)
    const frames = await readFrames(stream, 4, async () => {
      await Bun.sleep(50)
      sockets.last().showQr('2@second-qr,noise,identity,adv')
      await t.runtime.qr.get(channel.id)!.idle()
      sockets.last().emit('creds.update', {})
      sockets.last().close(515, 'Stream Errored (restart required)')
      await t.runtime.qr.get(channel.id)!.idle()
      // A new socket with the same (saved) creds comes up at once; it opens.
      expect(sockets.sockets).toHaveLength(2)
      sockets.last().open()
      await t.runtime.qr.get(channel.id)!.idle()
    })
    expect(frames.map((f) => f.event)).toEqual(['state', 'qr', 'qr', 'state'])
    expect(frames[1]!.data.svg).toBe(first)
    expect(frames[2]!.data.svg).not.toBe(first)
    expect(frames.at(-1)!.data).toEqual({ state: 'connected', lastError: null })

    const view = await (await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${channel.id}`)).json()
    expect(view).toMatchObject({
      status: 'active',
      displayPhoneNumber: '4915100000001',
      verifiedName: 'Acme Bakery',
      connection: { state: 'connected', lastError: null },
    })
    expect(view.connection.linkedAt).toBeTruthy()
    expect((await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${channel.id}/qr`)).status).toBe(409)
    expect((await auditRows(t)).map((a) => a.action).filter((a) => a.startsWith('channel.'))).toEqual([
      'channel.created',
      'channel.linked',
    ])
    const events = await t.db.db.selectFrom('events').selectAll().where('type', '=', 'channel.status').execute()
    expect(events.map((e) => JSON.parse(e.data))).toEqual([
      { channelId: channel.id, status: 'pending', reason: 'created; waiting for the QR scan' },
      { channelId: channel.id, status: 'active', reason: 'connected' },
    ])
    // The session is in the database, sealed: creds with the identity, and nothing readable.
    const rows = await authRows(t, channel.id)
    expect(rows.map((r) => r.type)).toContain('creds')
    expect(JSON.stringify(rows)).not.toContain('4915100000001')
    await t.close()
  })

  test('the QR stream keeps itself open with a heartbeat every sseHeartbeat of the clock, and stops it when it ends', async () => {
    const { t, clock, owner, ws, sockets } = await setup({ config: { sseHeartbeat: 15 } })
    const res = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, { kind: 'qr', name: 'Shop phone' })
    const { channel } = await res.json()
    const stream = await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${channel.id}/qr/stream`)
    const reader = stream.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    let ended = false
    // One read outstanding at a time (a read given up on would take the next chunk with it).
    let reading: Promise<void> | null = null
    const read = async () => {
      reading ??= reader.read().then((r) => {
        reading = null
        if (r.value) text += decoder.decode(r.value, { stream: true })
        if (r.done) ended = true
      })
      await Promise.race([reading, Bun.sleep(25)])
    }
    const heartbeats = () => text.split(': heartbeat\n\n').length - 1
    const readUntil = (what: string, ok: () => boolean) =>
      waitUntil(what, async () => {
        await read()
        return ok()
      })
    await readUntil('the first state', () => text.includes('event: state'))
    await clock.advanceAsync(14_999)
    await read()
    expect(heartbeats()).toBe(0)
    await clock.advanceAsync(1)
    await readUntil('a heartbeat', () => heartbeats() === 1)
    await clock.advanceAsync(15_000)
    await readUntil('the next heartbeat', () => heartbeats() === 2)
    // Linked: the stream ends, and no heartbeat is left waiting on the clock.
    sockets.last().close(515, 'Stream Errored (restart required)')
    await t.runtime.qr.get(channel.id)!.idle()
    sockets.last().open()
    await t.runtime.qr.get(channel.id)!.idle()
    await readUntil('the end of the stream', () => ended)
    const pending = clock.pending()
    await clock.advanceAsync(60_000)
    expect(heartbeats()).toBe(2)
    expect(clock.pending()).toBeLessThanOrEqual(pending)
    await t.close()
  })

  test('pairing code instead of a QR; only while linking; bad numbers refused', async () => {
    const { t, owner, ws, sockets } = await setup()
    const { channel } = await (
      await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, { kind: 'qr', name: 'Shop phone' })
    ).json()
    sockets.last().showQr('2@qr,noise,identity,adv')
    await t.runtime.qr.get(channel.id)!.idle()
    const code = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels/${channel.id}/pairing-code`, {
      phoneNumber: '4915112345678',
    })
    expect(await code.json()).toEqual({ code: 'PAIR5678', phoneNumber: '4915112345678', expiresInSeconds: 60 })
    const bad = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels/${channel.id}/pairing-code`, {
      phoneNumber: '+49 151 1234',
    })
    expect(bad.status).toBe(422)
    expect((await bad.json()).errors[0].field).toBe('phoneNumber')
    sockets.last().open()
    await t.runtime.qr.get(channel.id)!.idle()
    expect(
      (
        await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels/${channel.id}/pairing-code`, {
          phoneNumber: '4915112345678',
        })
      ).status,
    ).toBe(409)
    expect((await auditRows(t)).some((a) => a.action === 'channel.pairing_code_requested')).toBe(true)
    await t.close()
  })

  test('a Cloud channel has no QR; another workspace sees 404', async () => {
    const { t, owner, ws } = await setup()
    const other = await makeUser(t, 'other@example.com')
    const otherWs = await makeWorkspace(t, 'Other', other)
    const { channel } = await (
      await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, { kind: 'qr', name: 'Shop phone' })
    ).json()
    expect((await api(t, other, 'GET', `/api/v1/workspaces/${otherWs}/channels/${channel.id}/qr`)).status).toBe(404)
    expect((await api(t, other, 'GET', `/api/v1/workspaces/${ws}/channels/${channel.id}/qr`)).status).toBe(404)
    const missingName = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, { kind: 'qr' })
    expect(missingName.status).toBe(422)
    expect((await missingName.json()).errors[0].field).toBe('name')
    const badPacing = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, {
      kind: 'qr',
      name: 'x',
      qr: { pacing: { perMinute: 0 } },
    })
    expect(badPacing.status).toBe(422)
    expect((await badPacing.json()).errors[0].field).toBe('qr.pacing.perMinute')
    expect(
      (await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, { kind: 'telegram', name: 'x' })).status,
    ).toBe(422)
    await t.close()
  })
})

describe('channel status', () => {
  test('pending until the first connection, whatever happens while linking; then active; needs_reauth only once a link is lost', async () => {
    const { t, owner, ws, sockets } = await setup()
    const { channel } = await (
      await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, { kind: 'qr', name: 'Shop phone' })
    ).json()
    const status = async () =>
      (await (await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${channel.id}`)).json()) as {
        status: string
        connection: { state: string }
      }
    expect(await status()).toMatchObject({ status: 'pending', connection: { state: 'linking' } })
    // A pending channel cannot send yet, and says why.
    const send = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
      channelId: channel.id,
      to: PARTNER,
      type: 'text',
      text: { body: 'hi' },
    })
    expect(send.status).toBe(409)
    expect(await send.json()).toMatchObject({
      code: 'channel_unavailable',
      detail: expect.stringContaining('must be linked'),
    })

    // Nobody scans: the QR codes run out. Still nothing lost: pending.
    sockets.last().showQr('2@qr,noise,identity,adv')
    sockets.last().close(408, 'QR refs attempts ended')
    await t.runtime.qr.get(channel.id)!.idle()
    expect(await status()).toMatchObject({ status: 'pending', connection: { state: 'qr_expired' } })
    // Linking again; WhatsApp refuses this attempt (401): still never linked, still pending.
    expect((await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels/${channel.id}/link`)).status).toBe(200)
    sockets.last().close(401, 'Connection Failure')
    await t.runtime.qr.get(channel.id)!.idle()
    expect(await status()).toMatchObject({ status: 'pending', connection: { state: 'logged_out' } })

    // Linked at last: active, on the list too.
    expect((await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels/${channel.id}/link`)).status).toBe(200)
    sockets.last().showQr('2@qr-2,noise,identity,adv')
    sockets.last().close(515, 'Stream Errored (restart required)')
    await t.runtime.qr.get(channel.id)!.idle()
    sockets.last().open()
    await t.runtime.qr.get(channel.id)!.idle()
    expect(await status()).toMatchObject({ status: 'active', connection: { state: 'connected' } })
    const list = await (await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels`)).json()
    expect(list.items.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([[channel.id, 'active']])

    // The phone unlinks it: now a link was lost.
    sockets.last().close(401, 'Connection Failure')
    await t.runtime.qr.get(channel.id)!.idle()
    expect(await status()).toMatchObject({ status: 'needs_reauth', connection: { state: 'logged_out' } })
    const events = await t.db.db
      .selectFrom('events')
      .selectAll()
      .where('type', '=', 'channel.status')
      .orderBy('seq')
      .execute()
    expect(events.map((e) => JSON.parse(e.data).status)).toEqual(['pending', 'active', 'needs_reauth'])
    // Every connection change is its own event (the channel list follows the phone live), once per change.
    const connection = await t.db.db
      .selectFrom('events')
      .selectAll()
      .where('type', '=', 'channel.connection')
      .where('workspace_id', '=', ws)
      .orderBy('seq')
      .execute()
    const states = connection.map((e) => JSON.parse(e.data) as { channelId: string; state: string; since: string })
    expect(states.every((e) => e.channelId === channel.id && !Number.isNaN(Date.parse(e.since)))).toBe(true)
    expect(states.map((e) => e.state)).toEqual(expect.arrayContaining(['qr_expired', 'logged_out', 'connected']))
    expect(states.at(-1)?.state).toBe('logged_out')
    for (let i = 1; i < states.length; i++) expect(states[i]!.state).not.toBe(states[i - 1]!.state)
    await t.close()
  })

  test('every connection state maps to the status its history implies', () => {
    const linked = { linked_at: '2026-11-22T10:00:00.000Z' }
    const never = { linked_at: null }
    expect(channelStatusFor('connected', { status: 'pending', ...never })).toBe('active')
    expect(channelStatusFor('connected', { status: 'needs_reauth', ...never })).toBe('active')
    for (const state of ['linking', 'connecting', 'reconnecting', 'logged_out', 'replaced', 'qr_expired'] as const) {
      expect({ state, status: channelStatusFor(state, { status: 'pending', ...never }) }).toEqual({
        state,
        status: 'pending',
      })
      expect({ state, status: channelStatusFor(state, { status: 'disconnected', ...linked }) }).toEqual({
        state,
        status: 'disconnected',
      })
    }
    // Linked: a dropped connection waits (active); a lost link needs a new one.
    expect(channelStatusFor('reconnecting', { status: 'active', ...linked })).toBe('active')
    expect(channelStatusFor('connecting', { status: 'active', ...linked })).toBe('active')
    for (const state of ['linking', 'logged_out', 'replaced', 'qr_expired'] as const) {
      expect({ state, status: channelStatusFor(state, { status: 'active', ...linked }) }).toEqual({
        state,
        status: 'needs_reauth',
      })
    }
    // Relinking after a logout (linked_at was cleared): needs_reauth until a scan connects.
    expect(channelStatusFor('linking', { status: 'needs_reauth', ...never })).toBe('needs_reauth')
    expect(channelStatusFor('connecting', { status: 'needs_reauth', ...never })).toBe('needs_reauth')
  })
})

describe('lifecycle', () => {
  test('transient closes reconnect with backoff; loggedOut erases the session; replaced and expired QRs stop without a loop', async () => {
    const { t, clock, owner, ws, sockets } = await setup()
    const id = await linked(t, owner, ws, sockets)
    const session = t.runtime.qr.get(id)!
    expect((await authRows(t, id)).length).toBeGreaterThan(0)

    // Connection lost: reconnecting, counted, then back (the first wait is 1–2 s).
    sockets.last().close(428, 'Connection Terminated')
    await session.idle()
    expect(await channelRow(t, id)).toMatchObject({
      connection_state: 'reconnecting',
      status: 'active',
      reconnect_count: 1,
      last_error: '428: Connection Terminated',
    })
    const before = sockets.sockets.length
    await clock.advanceAsync(999)
    await session.idle()
    expect(sockets.sockets.length).toBe(before)
    await clock.advanceAsync(1_001)
    await session.idle()
    expect(sockets.sockets.length).toBe(before + 1)
    // The resumed session uses the saved identity: no QR.
    expect(sockets.last().auth.creds.me?.id).toBe('4915100000001:7@s.whatsapp.net')
    sockets.last().open()
    await session.idle()
    expect(await channelRow(t, id)).toMatchObject({ connection_state: 'connected', last_error: null })

    // Logged out from the phone: the sealed session is erased, the channel needs a new link; no reconnect.
    sockets.last().close(401, 'Connection Failure')
    await session.idle()
    expect(await channelRow(t, id)).toMatchObject({
      connection_state: 'logged_out',
      status: 'needs_reauth',
      linked_at: null,
    })
    expect(await authRows(t, id)).toEqual([])
    const afterLogout = sockets.sockets.length
    await clock.advanceAsync(RECONNECT_CAP_MS)
    await session.idle()
    expect(sockets.sockets.length).toBe(afterLogout)
    expect((await auditRows(t)).map((a) => a.action)).toContain('channel.logged_out')
    const statuses = (
      await t.db.db.selectFrom('events').selectAll().where('type', '=', 'channel.status').execute()
    ).map((e) => JSON.parse(e.data).status)
    expect(statuses).toEqual(['pending', 'active', 'needs_reauth'])
    expect((await (await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${id}`)).json()).status).toBe(
      'needs_reauth',
    )

    // Linking again starts from a fresh session (new QR).
    const relink = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels/${id}/link`)
    expect(relink.status).toBe(200)
    expect(sockets.last().auth.creds.me).toBeUndefined()
    sockets.last().showQr('2@qr-after-logout,noise,identity,adv')
    await t.runtime.qr.get(id)!.idle()
    // Showing a new QR is not the link restored: still needs_reauth until a scan connects.
    expect(await channelRow(t, id)).toMatchObject({ connection_state: 'linking', status: 'needs_reauth' })

    // Nobody scanned: the QR refs run out → qr_expired, no loop.
    sockets.last().close(408, 'QR refs attempts ended')
    await t.runtime.qr.get(id)!.idle()
    expect((await channelRow(t, id)).connection_state).toBe('qr_expired')
    const afterExpiry = sockets.sockets.length
    await clock.advanceAsync(RECONNECT_CAP_MS)
    await t.runtime.qr.get(id)!.idle()
    expect(sockets.sockets.length).toBe(afterExpiry)
    await t.close()
  })

  test('connection replaced stops (two sockets would keep replacing each other); the state survives a restart', async () => {
    const { t, clock, owner, ws, sockets } = await setup()
    const id = await linked(t, owner, ws, sockets)
    sockets.last().close(440, 'Stream Errored (conflict)')
    await t.runtime.qr.get(id)!.idle()
    expect(await channelRow(t, id)).toMatchObject({
      connection_state: 'replaced',
      status: 'needs_reauth',
      last_error: '440: Stream Errored (conflict)',
    })
    const count = sockets.sockets.length
    await clock.advanceAsync(RECONNECT_CAP_MS)
    await t.runtime.qr.get(id)!.idle()
    expect(sockets.sockets.length).toBe(count)
    // A restart does not start a replaced session by itself (that would replace the other one).
    await t.runtime.qr.stopAll()
    await t.runtime.qr.startAll()
    expect(sockets.sockets.length).toBe(count)
    await t.close()
  })

  test('four network drops then one 500 keep the link; only five 500s in a row stop it — as needs_attention, session kept, reconnectable', async () => {
    const { t, clock, owner, ws, sockets } = await setup()
    const id = await linked(t, owner, ws, sockets)
    const session = t.runtime.qr.get(id)!
    const stored = (await authRows(t, id)).length
    expect(stored).toBeGreaterThan(0)
    const closeThenReconnect = async (code: number, message: string) => {
      const before = sockets.sockets.length
      sockets.last().close(code, message)
      await session.idle()
      await clock.advanceAsync(RECONNECT_CAP_MS)
      await session.idle()
      return sockets.sockets.length > before
    }
    // Baileys maps any unclassified stream error to 500: after four drops, one 500 is just another drop.
    for (let i = 0; i < 4; i++) expect(await closeThenReconnect(408, 'WebSocket Error (timed out)')).toBe(true)
    expect(await closeThenReconnect(500, 'Stream Errored (unknown)')).toBe(true)
    expect((await authRows(t, id)).length).toBe(stored)
    expect((await channelRow(t, id)).connection_state).toBe('reconnecting')

    // Three more 500s make four in a row: still retried. One other close starts the count again.
    for (let i = 0; i < BAD_SESSION_LIMIT - 2; i++)
      expect(await closeThenReconnect(500, 'Stream Errored (unknown)')).toBe(true)
    expect(await closeThenReconnect(428, 'Connection Terminated')).toBe(true)
    for (let i = 0; i < BAD_SESSION_LIMIT - 1; i++)
      expect(await closeThenReconnect(500, 'Stream Errored (unknown)')).toBe(true)
    // The fifth in a row: no more retries, the session is kept, the channel still counts as linked (messages wait).
    expect(await closeThenReconnect(500, 'Stream Errored (unknown)')).toBe(false)
    expect(await channelRow(t, id)).toMatchObject({
      connection_state: 'needs_attention',
      status: 'active',
      last_error: '500: Stream Errored (unknown)',
    })
    expect((await channelRow(t, id)).linked_at).not.toBeNull()
    expect((await authRows(t, id)).length).toBe(stored)
    expect((await auditRows(t)).map((a) => a.action)).toContain('channel.needs_attention')
    const view = await (await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${id}`)).json()
    expect(view.connection.state).toBe('needs_attention')

    // A person reconnects: the same identity comes back, without a QR.
    expect((await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels/${id}/link`)).status).toBe(200)
    expect(sockets.last().auth.creds.me?.id).toBe('4915100000001:7@s.whatsapp.net')
    sockets.last().open()
    await t.runtime.qr.get(id)!.idle()
    expect(await channelRow(t, id)).toMatchObject({ connection_state: 'connected', status: 'active' })
    await t.close()
  })

  test('the reconnect backoff grows exponentially with jitter, within its caps; close codes are classified', () => {
    const low = [1, 2, 3, 4, 5, 6, 7, 8, 12].map((n) => reconnectDelay(n, () => 0))
    const high = [1, 2, 3, 4, 5, 6, 7, 8, 12].map((n) => reconnectDelay(n, () => 1))
    expect(high).toEqual([2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, RECONNECT_CAP_MS])
    expect(low).toEqual(high.map((h) => h / 2))
    for (let n = 1; n < 30; n++) {
      const d = reconnectDelay(n)
      expect(d).toBeGreaterThanOrEqual(Math.min(RECONNECT_CAP_MS, 2000 * 2 ** (n - 1)) / 2)
      expect(d).toBeLessThanOrEqual(RECONNECT_CAP_MS)
    }
    // 503: never sooner than 30 s.
    expect(reconnectDelay(1, () => 0, 30_000)).toBe(15_000)
    expect(classifyClose(515, '', 1)).toEqual({ kind: 'restart' })
    for (const code of [401, 403, 419, 411])
      expect(classifyClose(code, '', 1)).toEqual({ kind: 'stop', state: 'logged_out', erase: true })
    expect(classifyClose(440, '', 1)).toEqual({ kind: 'stop', state: 'replaced', erase: false })
    expect(classifyClose(408, 'QR refs attempts ended', 1)).toEqual({ kind: 'stop', state: 'qr_expired', erase: false })
    expect(classifyClose(408, 'WebSocket Error (connect ECONNREFUSED 127.0.0.1:1)', 1)).toEqual({
      kind: 'reconnect',
      minimumMs: 0,
    })
    expect(classifyClose(428, '', 3)).toEqual({ kind: 'reconnect', minimumMs: 0 })
    expect(classifyClose(503, '', 1)).toEqual({ kind: 'reconnect', minimumMs: 30_000 })
    expect(classifyClose(500, '', 2)).toEqual({ kind: 'reconnect', minimumMs: 0 })
    // Five 500s in a row: stop and ask a person, but never erase the session.
    expect(classifyClose(500, '', BAD_SESSION_LIMIT)).toEqual({ kind: 'stop', state: 'needs_attention', erase: false })
  })

  test('unlinking logs the device out and erases the session; history stays', async () => {
    const { t, owner, ws, sockets } = await setup()
    const id = await linked(t, owner, ws, sockets)
    const socket = sockets.last()
    expect((await api(t, owner, 'DELETE', `/api/v1/workspaces/${ws}/channels/${id}`)).status).toBe(204)
    expect(socket.loggedOut).toBe(true)
    expect(await authRows(t, id)).toEqual([])
    expect((await channelRow(t, id)).status).toBe('disconnected')
    expect(t.runtime.qr.get(id)).toBeUndefined()
    expect((await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels/${id}/link`)).status).toBe(409)
    await t.close()
  })
})

describe('workspace deletion', () => {
  test('logs linked devices out and leaves no session, events or LID mappings behind', async () => {
    const { t, owner, ws, sockets } = await setup()
    const id = await linked(t, owner, ws, sockets)
    const socket = sockets.last()
    socket.emit('messages.upsert', {
      type: 'notify',
      messages: [
        incoming('3EB0DEL1', 'Hallo', { remoteJid: '205829388888888@lid', remoteJidAlt: `${PARTNER}@s.whatsapp.net` }),
      ],
    })
    await settle(t, id)
    expect(
      (await t.db.db.selectFrom('events').select('id').where('workspace_id', '=', ws).execute()).length,
    ).toBeGreaterThan(0)
    expect((await api(t, owner, 'DELETE', `/api/v1/workspaces/${ws}`, { confirmName: 'Acme' })).status).toBe(204)
    expect(socket.loggedOut).toBe(true)
    expect(t.runtime.qr.get(id)).toBeUndefined()
    for (const table of ['events', 'lid_mappings', 'qr_auth_state', 'channels', 'messages'] as const) {
      expect({
        table,
        rows: (await t.db.db.selectFrom(table).select('workspace_id').where('workspace_id', '=', ws).execute()).length,
      }).toEqual({ table, rows: 0 })
    }
    await t.close()
  })
})

describe('inbound', () => {
  test('status updates, broadcast lists, channels and (unless included) groups are ignored before decryption; chats are not', async () => {
    for (const jid of ['status@broadcast', '1234567890@broadcast', '120363012345678901@newsletter'])
      expect({ jid, ignored: isIgnoredJid(jid, false) }).toEqual({ jid, ignored: true })
    expect(isIgnoredJid('120363012345678901@g.us', true)).toBe(true)
    expect(isIgnoredJid('120363012345678901@g.us', false)).toBe(false)
    for (const jid of ['4915112345678@s.whatsapp.net', '205829399999999@lid', 's.whatsapp.net'])
      expect({ jid, ignored: isIgnoredJid(jid, true) }).toEqual({ jid, ignored: false })
    // The session tells its socket the channel's setting as it is now, not as it was when the socket was made.
    const { t, owner, ws, sockets } = await setup()
    const id = await linked(t, owner, ws, sockets)
    const socket = sockets.last()
    expect(socket.ignoreGroups()).toBe(true)
    const patched = await api(t, owner, 'PATCH', `/api/v1/workspaces/${ws}/channels/${id}`, {
      qr: { includeGroups: true },
    })
    expect(patched.status).toBe(200)
    expect(socket.ignoreGroups()).toBe(false)
    await t.close()
  })

  test('messages go through the same inbox and processor: once per message key; @lid senders stay one contact; own phone messages are outbound', async () => {
    const { t, owner, ws, sockets } = await setup()
    const id = await linked(t, owner, ws, sockets)
    const socket = sockets.last()
    socket.emit('messages.upsert', { type: 'notify', messages: [incoming('3EB0AAA1', 'Hallo, habt ihr offen?')] })
    // The same message again (WhatsApp redelivers after a reconnect).
    socket.emit('messages.upsert', { type: 'append', messages: [incoming('3EB0AAA1', 'Hallo, habt ihr offen?')] })
    // The same person, addressed by LID with the phone number as the alternate.
    socket.emit('messages.upsert', {
      type: 'notify',
      messages: [
        incoming('3EB0AAA2', 'Bis 18 Uhr?', {
          remoteJid: '205829399999999@lid',
          remoteJidAlt: `${PARTNER}@s.whatsapp.net`,
        }),
      ],
    })
    // …and later by LID alone: the stored mapping resolves it.
    socket.emit('messages.upsert', {
      type: 'notify',
      messages: [incoming('3EB0AAA3', 'Danke!', { remoteJid: '205829399999999@lid' })],
    })
    // The owner answers from the phone.
    socket.emit('messages.upsert', {
      type: 'append',
      messages: [incoming('3EB0BBB1', 'Ja, bis 18 Uhr.', { fromMe: true })],
    })
    // A group message is not a customer conversation.
    socket.emit('messages.upsert', {
      type: 'notify',
      messages: [
        incoming('3EB0GGG1', 'group chatter', {
          remoteJid: '120363025246125486@g.us',
          participant: `${PARTNER}@s.whatsapp.net`,
        }),
      ],
    })
    await settle(t, id)

    const contacts = await t.db.db.selectFrom('contacts').selectAll().where('workspace_id', '=', ws).execute()
    expect(contacts.map((c) => ({ wa: c.wa_id, bsuid: c.bsuid, name: c.profile_name }))).toEqual([
      { wa: PARTNER, bsuid: 'lid:205829399999999', name: 'Jonas' },
    ])
    const messages = await t.db.db
      .selectFrom('messages')
      .selectAll()
      .where('channel_id', '=', id)
      .orderBy('created_at')
      .orderBy('id')
      .execute()
    expect(messages.map((m) => [m.wamid, m.direction, m.text]).sort()).toEqual(
      [
        ['3EB0AAA1', 'in', 'Hallo, habt ihr offen?'],
        ['3EB0AAA2', 'in', 'Bis 18 Uhr?'],
        ['3EB0AAA3', 'in', 'Danke!'],
        ['3EB0BBB1', 'out', 'Ja, bis 18 Uhr.'],
      ].sort(),
    )
    const conversation = await t.db.db
      .selectFrom('conversations')
      .selectAll()
      .where('channel_id', '=', id)
      .executeTakeFirstOrThrow()
    expect(conversation.unread_count).toBe(3)
    expect(await t.db.db.selectFrom('lid_mappings').select(['lid', 'wa_id']).execute()).toEqual([
      { lid: '205829399999999', wa_id: PARTNER },
    ])
    const types = (await t.db.db.selectFrom('events').select('type').where('workspace_id', '=', ws).execute()).map(
      (e) => e.type,
    )
    expect(types.filter((x) => x === 'message.received')).toHaveLength(3)
    expect(types.filter((x) => x === 'message.sent')).toHaveLength(1)
    await t.close()
  })
})

describe('outbound', () => {
  test('text, reply, location and reaction go out through the socket with the id fixed at queue time; its echo is not a second message; receipts move the status', async () => {
    const { t, clock, owner, ws, sockets } = await setup()
    const id = await linked(t, owner, ws, sockets)
    const socket = sockets.last()
    socket.emit('messages.upsert', { type: 'notify', messages: [incoming('3EB0IN01', 'Was kostet die Torte?')] })
    await settle(t, id)
    const conversation = await t.db.db
      .selectFrom('conversations')
      .selectAll()
      .where('channel_id', '=', id)
      .executeTakeFirstOrThrow()
    const send = async (body: Record<string, unknown>) => {
      const res = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
        conversationId: conversation.id,
        ...body,
      })
      return { status: res.status, body: await res.json() }
    }
    const text = await send({ type: 'text', text: { body: '25 Euro.' }, replyTo: '3EB0IN01' })
    expect(text.status).toBe(202)
    await t.runtime.sender.drain()
    expect(socket.sent).toHaveLength(1)
    const first = socket.sent[0]!
    expect(first.jid).toBe(`${PARTNER}@s.whatsapp.net`)
    expect(first.content).toEqual({ text: '25 Euro.', linkPreview: null })
    expect(first.options).toEqual({
      messageId: qrMessageId(text.body.id),
      quoted: {
        key: { remoteJid: `${PARTNER}@s.whatsapp.net`, id: '3EB0IN01', fromMe: false },
        message: { conversation: 'Was kostet die Torte?' },
      },
    })
    const row = await t.db.db
      .selectFrom('messages')
      .selectAll()
      .where('id', '=', text.body.id)
      .executeTakeFirstOrThrow()
    expect({ wamid: row.wamid, status: row.status }).toEqual({ wamid: qrMessageId(text.body.id), status: 'sent' })
    // The device echoes our own send back: still one message.
    socket.emit('messages.upsert', { type: 'append', messages: [incoming(row.wamid!, '25 Euro.', { fromMe: true })] })
    // Receipts: delivered, then read.
    socket.emit('messages.update', [
      { key: { remoteJid: `${PARTNER}@s.whatsapp.net`, id: row.wamid!, fromMe: true }, update: { status: 3 } },
    ])
    socket.emit('messages.update', [
      { key: { remoteJid: `${PARTNER}@s.whatsapp.net`, id: row.wamid!, fromMe: true }, update: { status: 4 } },
    ])
    await settle(t, id)
    expect(
      (await t.db.db.selectFrom('messages').select('status').where('id', '=', text.body.id).executeTakeFirstOrThrow())
        .status,
    ).toBe('read')
    expect(
      await t.db.db
        .selectFrom('messages')
        .select('id')
        .where('channel_id', '=', id)
        .where('direction', '=', 'out')
        .execute(),
    ).toHaveLength(1)

    // The pace spreads sends (500 ms here): each drain after the delay sends the next.
    const later = async () => {
      clock.advance(550)
      await t.runtime.sender.drain()
    }
    expect(
      (
        await send({
          type: 'location',
          location: { latitude: 52.52, longitude: 13.405, name: 'Bakery', address: 'Main St 1' },
        })
      ).status,
    ).toBe(202)
    await later()
    expect(socket.sent.at(-1)!.content).toEqual({
      location: { degreesLatitude: 52.52, degreesLongitude: 13.405, name: 'Bakery', address: 'Main St 1' },
    })
    expect((await send({ type: 'reaction', reaction: { messageId: '3EB0IN01', emoji: '👍' } })).status).toBe(202)
    await later()
    expect(socket.sent.at(-1)!.content).toEqual({
      react: { text: '👍', key: { remoteJid: `${PARTNER}@s.whatsapp.net`, id: '3EB0IN01', fromMe: false } },
    })
    await t.close()
  })

  test('media links are fetched by wabox (never by Baileys), every redirect hop checked; a link that leads somewhere private fails the message', async () => {
    const cake = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4])
    let port = 0
    const files = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (req): Response => {
        const path = new URL(req.url).pathname
        if (path === '/cake.jpg') return new Response(cake, { headers: { 'content-type': 'image/jpeg' } })
        if (path === '/moved') return Response.redirect(`http://127.0.0.1:${port}/cake.jpg`, 302)
        if (path === '/sneaky') return Response.redirect('http://10.0.0.5/latest/meta-data', 302)
        return new Response('no', { status: 404 })
      },
    })
    port = files.port!
    // The operator allows http and loopback for this test (the receiver of the link is local).
    const { t, owner, ws, sockets } = await setup({
      config: { webhookAllowHttp: true, webhookAllowedNetworks: ['127.0.0.0/8'] },
    })
    const id = await linked(t, owner, ws, sockets, { pacing: { typing: false, minDelayMs: 500, maxDelayMs: 500 } })
    const socket = sockets.last()
    // The API only takes https links; the provider is driven directly here with the plain-http loopback server.
    const provider = t.services.providers.qr
    const target = { workspaceId: ws, channelId: id, recipient: PARTNER, credentials: null }
    const request = (path: string, messageId: string) => ({
      to: PARTNER,
      messageId,
      content: { image: { url: `http://127.0.0.1:${port}${path}` }, caption: 'Unsere Torte' },
      quoted: null,
    })
    expect(await provider.send(target, request('/moved', '3EB0MEDIA1'))).toEqual({
      providerMessageId: '3EB0MEDIA1',
      recipient: PARTNER,
    })
    expect(socket.sent.at(-1)!.content).toEqual({
      image: Buffer.from(cake),
      caption: 'Unsere Torte',
      mimetype: 'image/jpeg',
    })
    const refused = await provider.send(target, request('/sneaky', '3EB0MEDIA2')).then(
      () => null,
      (e: ProviderError) => e,
    )
    expect({ code: refused?.code, retryable: refused?.retryable, reason: refused?.reason }).toEqual({
      code: MEDIA_REFUSED,
      retryable: false,
      reason: expect.stringContaining('10.0.0.5'),
    })
    const missing = await provider.send(target, request('/gone', '3EB0MEDIA3')).then(
      () => null,
      (e: ProviderError) => e,
    )
    expect({ code: missing?.code, reason: missing?.reason }).toEqual({
      code: MEDIA_REFUSED,
      reason: 'The media link cannot be used: the link answered HTTP 404',
    })
    expect(socket.sent).toHaveLength(1)
    files.stop(true)
    await t.close()
  })

  test("a send a crash interrupted on its first attempt is settled by WhatsApp's receipt, not sent again", async () => {
    const { t, clock, owner, ws, sockets } = await setup({ config: { sendRecoveryGrace: 1 } })
    const id = await linked(t, owner, ws, sockets)
    const socket = sockets.last()
    const conversationId = await customerWrote(t, id, socket, 'Hallo')
    const { id: messageId } = await (
      await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
        conversationId,
        type: 'text',
        text: { body: 'Einmal bitte' },
      })
    ).json()
    await t.runtime.sender.drain()
    expect(socket.sent).toHaveLength(1)
    // As a crash right after the send leaves it: claimed, first attempt, nothing recorded.
    await t.db.db
      .updateTable('outbox')
      .set({ state: 'sending', attempts: 0, claimed_at: new Date(0).toISOString() })
      .where('message_id', '=', messageId)
      .execute()
    await t.db.db.updateTable('messages').set({ status: 'queued' }).where('id', '=', messageId).execute()
    expect(await t.runtime.sender.recoverInterrupted()).toBe(1)
    expect(
      await t.db.db
        .selectFrom('outbox')
        .select(['state', 'attempts'])
        .where('message_id', '=', messageId)
        .executeTakeFirstOrThrow(),
    ).toEqual({ state: 'queued', attempts: 0 })
    socket.emit('messages.update', [
      {
        key: { remoteJid: `${PARTNER}@s.whatsapp.net`, id: qrMessageId(messageId), fromMe: true },
        update: { status: 3 },
      },
    ])
    await settle(t, id)
    expect(
      (await t.db.db.selectFrom('outbox').select('state').where('message_id', '=', messageId).executeTakeFirstOrThrow())
        .state,
    ).toBe('sent')
    clock.advance(1_100)
    await t.runtime.sender.drain()
    expect(socket.sent).toHaveLength(1)
    expect(
      (await t.db.db.selectFrom('messages').select('status').where('id', '=', messageId).executeTakeFirstOrThrow())
        .status,
    ).toBe('delivered')
    await t.close()
  })

  test('what a QR number cannot send is refused with a clear 422; nothing is queued', async () => {
    const { t, owner, ws, sockets } = await setup()
    const id = await linked(t, owner, ws, sockets)
    const conversationId = await customerWrote(t, id, sockets.last(), 'Hallo')
    const refused = async (body: Record<string, unknown>, field: string, detail: string) => {
      const res = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, { conversationId, ...body })
      const problem = await res.json()
      expect({
        status: res.status,
        field: problem.errors?.[0]?.field,
        detail: problem.detail.includes(detail),
      }).toEqual({ status: 422, field, detail: true })
    }
    await refused(
      { type: 'template', template: { name: 'hello_world', language: 'en_US' } },
      'type',
      'not available on QR-linked channels',
    )
    await refused(
      {
        type: 'interactive',
        interactive: { type: 'button', body: { text: 'Ok?' }, buttons: [{ id: 'y', title: 'Yes' }] },
      },
      'type',
      'not available on QR-linked channels',
    )
    await refused({ type: 'image', image: { mediaId: '12345' } }, 'image.mediaId', 'send a link')
    await refused({ type: 'document', document: { link: 'https://10.0.0.5/invoice.pdf' } }, 'document.link', 'private')
    await refused({ type: 'image', image: { link: 'https://169.254.169.254/latest' } }, 'image.link', 'link-local')
    expect(await t.db.db.selectFrom('outbox').selectAll().execute()).toEqual([])
    // sendRate is a Cloud setting; QR pacing is validated.
    expect((await api(t, owner, 'PATCH', `/api/v1/workspaces/${ws}/channels/${id}`, { sendRate: 10 })).status).toBe(422)
    const wrong = await api(t, owner, 'PATCH', `/api/v1/workspaces/${ws}/channels/${id}`, {
      qr: { pacing: { minDelayMs: 10_000, maxDelayMs: 5_000 } },
    })
    expect(wrong.status).toBe(422)
    const ok = await api(t, owner, 'PATCH', `/api/v1/workspaces/${ws}/channels/${id}`, {
      qr: { pacing: { perDay: 300 }, includeGroups: true },
    })
    expect((await ok.json()).qr).toMatchObject({ includeGroups: true, pacing: { perDay: 300, typing: false } })
    await t.close()
  })

  test('while the device is offline messages wait (the answer says so) and go out when it is back; caps defer, never drop', async () => {
    const { t, clock, owner, ws, sockets } = await setup()
    const id = await linked(t, owner, ws, sockets, {
      pacing: { typing: false, minDelayMs: 500, maxDelayMs: 500, perMinute: 1 },
    })
    const conversationId = await customerWrote(t, id, sockets.last(), 'Hallo')
    const send = async (body: string) =>
      (
        await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
          conversationId,
          type: 'text',
          text: { body },
        })
      ).json()

    sockets.last().close(428)
    await t.runtime.qr.get(id)!.idle()
    const offline = await send('while offline')
    expect(offline.deferred).toEqual({
      until: null,
      reason: 'the linked device is reconnecting; the message waits for it',
    })
    await t.runtime.sender.drain()
    expect(sockets.last().sent).toHaveLength(0)
    expect((await t.db.db.selectFrom('outbox').select('state').executeTakeFirstOrThrow()).state).toBe('queued')
    await clock.advanceAsync(2_000)
    await t.runtime.qr.get(id)!.idle()
    sockets.last().open()
    await t.runtime.qr.get(id)!.idle()
    await t.runtime.sender.drain()
    expect(sockets.last().sent.map((s) => s.content.text)).toEqual(['while offline'])

    // One per minute: the next one is deferred by the cap, and waits in the queue.
    const capped = await send('second')
    expect(capped.deferred.reason).toBe('per-minute cap reached; the message waits')
    expect(Date.parse(capped.deferred.until)).toBeGreaterThan(Date.now() + 50_000)
    clock.advance(600)
    await t.runtime.sender.drain()
    expect(sockets.last().sent).toHaveLength(1)
    expect((await t.db.db.selectFrom('outbox').select('state').where('state', '=', 'queued').execute()).length).toBe(1)
    await t.close()
  })

  test('typing presence before a send when the channel asks for it', async () => {
    const { t, owner, ws, sockets } = await setup()
    const id = await linked(t, owner, ws, sockets, { pacing: { typing: true, minDelayMs: 500, maxDelayMs: 500 } })
    const conversationId = await customerWrote(t, id, sockets.last(), 'Hallo')
    await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
      conversationId,
      type: 'text',
      text: { body: 'Hi' },
    })
    await t.runtime.sender.drain()
    expect(sockets.last().presence).toEqual([
      { type: 'composing', jid: `${PARTNER}@s.whatsapp.net` },
      { type: 'paused', jid: `${PARTNER}@s.whatsapp.net` },
    ])
    expect(sockets.last().sent).toHaveLength(1)
    // Read receipts go through the socket too.
    const read = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/conversations/${conversationId}/read`)
    expect((await read.json()).readReceipt).toBe('sent')
    expect(sockets.last().reads).toEqual([{ remoteJid: `${PARTNER}@s.whatsapp.net`, id: '3EB0IN01', fromMe: false }])
    await t.close()
  })

  test('a QR channel that is not linked yet cannot take messages: 409 that says why', async () => {
    const { t, owner, ws } = await setup()
    const { channel } = await (
      await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, { kind: 'qr', name: 'Shop phone' })
    ).json()
    const res = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
      channelId: channel.id,
      to: PARTNER,
      type: 'text',
      text: { body: 'hi' },
    })
    expect(res.status).toBe(409)
    expect((await res.json()).detail).toBe('The number must be linked (scan the QR code) before it can send.')
    await t.close()
  })
})

describe('pacing in the sender (injected clock)', () => {
  test('30 queued messages: delays within the range, per-minute and daily warm-up caps never exceeded', async () => {
    const clock = manualClock(Date.now())
    const { t, owner, ws, sockets } = await setup({ clock })
    const id = await linked(t, owner, ws, sockets, {
      pacing: {
        typing: false,
        minDelayMs: 2_000,
        maxDelayMs: 6_000,
        perMinute: 4,
        perHour: 100,
        perDay: 1000,
        warmup: true,
      },
    })
    const socket = sockets.last()
    // Thirty customers wrote; thirty answers are queued at once.
    for (let i = 0; i < 30; i++)
      socket.emit('messages.upsert', {
        type: 'notify',
        messages: [
          incoming(`3EB0IN${i}`, 'Hallo', { remoteJid: `49176000000${String(i).padStart(2, '0')}@s.whatsapp.net` }),
        ],
      })
    await settle(t, id)
    const conversations = await t.db.db.selectFrom('conversations').select('id').where('channel_id', '=', id).execute()
    for (const c of conversations)
      expect(
        (
          await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
            conversationId: c.id,
            type: 'text',
            text: { body: 'Danke!' },
          })
        ).status,
      ).toBe(202)
    const sendTimes: number[] = []
    // Clock time in 1 s steps, skipping the hours in which the warm-up cap leaves nothing to do.
    for (let step = 0; step < 20_000 && sendTimes.length < 30; step++) {
      await t.runtime.sender.drain()
      while (sendTimes.length < socket.sent.length) sendTimes.push(clock.now())
      if (sendTimes.length === 20 && clock.now() < sendTimes[0]! + 24 * 3600_000 - 120_000)
        clock.set(sendTimes[0]! + 24 * 3600_000 - 120_000)
      clock.advance(1000)
    }
    // Warm-up: a number linked today sends at most 20 on its first day; the rest wait for the next.
    const firstDay = sendTimes.filter((at) => at < sendTimes[0]! + 24 * 3600_000)
    expect(firstDay).toHaveLength(20)
    expect(sendTimes).toHaveLength(30)
    for (let i = 1; i < sendTimes.length; i++) expect(sendTimes[i]! - sendTimes[i - 1]!).toBeGreaterThanOrEqual(2_000)
    expect(mostInAnyWindow(sendTimes, 60_000)).toBe(4)
    // Nothing was dropped: every message went out once.
    expect(new Set(socket.sent.map((s) => s.options!.messageId)).size).toBe(30)
    await t.close()
  })
})

describe('a real Baileys socket', () => {
  test('against an address that refuses connections: reconnecting with backoff, the server keeps serving, shutdown is clean', async () => {
    let made = 0
    const counting: SocketFactory = (opts) => {
      made++
      return baileysSocketFactory(opts)
    }
    const { t, clock, owner, ws } = await setup({
      factory: counting,
      config: { qrWebsocketUrl: 'ws://127.0.0.1:1/ws/chat' },
    })
    const res = await api(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, { kind: 'qr', name: 'Shop phone' })
    expect(res.status).toBe(201)
    const { channel } = await res.json()
    const deadline = Date.now() + 5000
    let row = await channelRow(t, channel.id)
    while (row.connection_state !== 'reconnecting' && Date.now() < deadline) {
      await Bun.sleep(50)
      row = await channelRow(t, channel.id)
    }
    expect(row.connection_state).toBe('reconnecting')
    expect(row.last_error).toContain('408')
    expect(row.last_error).toContain('ECONNREFUSED')
    // Not a tight loop: one socket, then a wait of at least a second.
    expect(made).toBe(1)
    expect((await t.request('/healthz')).status).toBe(200)
    expect((await api(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels`)).status).toBe(200)
    await clock.advanceAsync(999)
    expect(made).toBe(1)
    await clock.advanceAsync(1_001)
    await waitUntil('the second failed attempt', async () => (await channelRow(t, channel.id)).reconnect_count === 2)
    expect(made).toBe(2)
    await t.close()
    // Closed means closed: no socket after shutdown, however long one waits.
    await clock.advanceAsync(RECONNECT_CAP_MS)
    expect(made).toBe(2)
  })
})

describe('inbound media references', () => {
  test('only WhatsApp media hosts are fetched: a sender cannot point wabox at another address', () => {
    expect(
      whatsAppMediaUrl({
        directPath: '/v/t62.7118-24/12345_678.enc?ccb=11-4&oh=01_Q5&oe=68B0&_nc_sid=5e03e0',
        url: null,
      }),
    ).toBe('https://mmg.whatsapp.net/v/t62.7118-24/12345_678.enc?ccb=11-4&oh=01_Q5&oe=68B0&_nc_sid=5e03e0')
    expect(whatsAppMediaUrl({ directPath: null, url: 'https://mmg.whatsapp.net/o1/v/t24/f2/m232/abc.enc' })).toBe(
      'https://mmg.whatsapp.net/o1/v/t24/f2/m232/abc.enc',
    )
    for (const bad of [
      { directPath: '@169.254.169.254/latest', url: null },
      { directPath: '//evil.example/x', url: null },
      { directPath: '/x@evil.example', url: null },
      { directPath: null, url: 'http://mmg.whatsapp.net/x' },
      { directPath: null, url: 'https://169.254.169.254/latest/meta-data' },
      { directPath: null, url: 'https://whatsapp.net.evil.example/x' },
      { directPath: null, url: 'https://user:pw@mmg.whatsapp.net/x' },
      { directPath: null, url: null },
    ]) {
      expect({ bad, url: whatsAppMediaUrl(bad) }).toEqual({ bad, url: null })
    }
  })
})

describe('inbound media decryption', () => {
  test('a file encrypted the way WhatsApp clients do (Baileys encryptedStream) decrypts; a tampered one is refused', async () => {
    const photo = Buffer.from('a photo of a cake, in bytes '.repeat(40))
    const enc = await encryptedStream(photo, 'image')
    const file = Buffer.from(await Bun.file(enc.encFilePath).arrayBuffer())
    const ref = { mediaKey: enc.mediaKey.toString('base64'), kind: 'image' as const }
    expect((await decryptWhatsAppMedia(file, ref)).equals(photo)).toBe(true)
    expect(createHash('sha256').update(photo).digest('base64')).toBe(enc.fileSha256.toString('base64'))
    const tampered = Buffer.from(file)
    tampered[5] = tampered[5]! ^ 0xff
    expect(
      await decryptWhatsAppMedia(tampered, ref).then(
        () => 'decrypted',
        (e: Error) => e.message,
      ),
    ).toBe('the media file does not match its key (sha256 mac)')
    // Another message's key does not open it either.
    const other = { mediaKey: Buffer.alloc(32, 7).toString('base64'), kind: 'image' as const }
    expect(
      await decryptWhatsAppMedia(file, other).then(
        () => 'decrypted',
        (e: Error) => e.message,
      ),
    ).toContain('does not match')
  })
})
