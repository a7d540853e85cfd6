/**
 * The WhatsApp Web version and pairing codes (issue 14, QR items 4 and 6): a retired version is refused with 405
 * (baileys.md: "A retired revision is refused with 405"), which no retry of the same version fixes; the current
 * one is read from WhatsApp Web's service worker (`client_revision`, as Baileys' fetchLatestWaWebVersion reads it,
 * Utils/generics.js); a pairing code the phone never confirms ends in silence (Baileys PR #2769), so wabox
 * notices by itself.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { parseInvocation } from '../../config.ts'
import { startGraphDouble } from '../../testing/graph-double.ts'
import { linkQrChannel, qrApi, qrTestApp, settleQr } from '../../testing/qr-session.ts'
import type { TestApp } from '../../testing/test-app.ts'
import { PAIRING_TIMEOUT_MS } from './session.ts'
import { LINKED_BROWSER } from './socket.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

const warnings = async (t: TestApp) =>
  (await t.db.db.selectFrom('events').select('data').where('type', '=', 'channel.warning').execute()).map(
    (e) => JSON.parse(e.data) as { warning: string; detail: string },
  )
const channelRow = (t: TestApp, id: string) =>
  t.db.db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirstOrThrow()

/**
 * WhatsApp Web's service worker as it serves it: a script with the revision inside an escaped JSON string
 * (`\"client_revision\":1029000001`). `revision` null answers 500.
 */
function serviceWorker() {
  const state = { revision: 1_029_000_001 as number | null, requests: 0 }
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (req) => {
      state.requests++
      if (new URL(req.url).pathname !== '/sw.js') return new Response('not found', { status: 404 })
      if (state.revision === null) return new Response('oops', { status: 500 })
      const data = JSON.stringify({ dynamic_data: { SiteData: { client_revision: state.revision } } })
      return new Response(`self.__swData=JSON.parse(/*BTDS*/${JSON.stringify(data)});importScripts("x.js");`, {
        headers: { 'content-type': 'application/javascript' },
      })
    },
  })
  return { url: `http://127.0.0.1:${server.port}/sw.js`, state, stop: () => server.stop(true) }
}

describe('the WhatsApp Web version', () => {
  test('a 405 stops the session as outdated_version with a warning, once: no reconnect loop, the link kept', async () => {
    const { t, clock, owner, ws, sockets } = await qrTestApp(graph)
    const id = await linkQrChannel(t, owner, ws, sockets)
    const made = sockets.sockets.length
    sockets.last().close(405, 'Connection Failure')
    await settleQr(t, id)
    clock.advance(30 * 60_000)
    await settleQr(t, id)
    expect(sockets.sockets.length).toBe(made)
    const row = await channelRow(t, id)
    // The link is intact: messages wait (status active) for a person to change the version and reconnect.
    expect(row).toMatchObject({
      connection_state: 'outdated_version',
      status: 'active',
      last_error: '405: Connection Failure',
    })
    const warned = (await warnings(t)).filter((w) => w.warning === 'outdated_version')
    expect(warned).toHaveLength(1)
    expect(warned[0]!.detail).toContain("Baileys' bundled version")
    expect(warned[0]!.detail).toContain('qr-wa-version')
    const view = await (await qrApi(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${id}`)).json()
    expect(view.connection.state).toBe('outdated_version')
    // Reconnecting starts a new socket with the sealed session (no new scan).
    expect((await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels/${id}/link`)).status).toBeLessThan(300)
    await settleQr(t, id)
    expect(sockets.sockets.length).toBe(made + 1)
    expect(sockets.last().auth.creds.me?.id).toBe('4915100000001:7@s.whatsapp.net')
    await t.close()
  })

  test('a fixed qr-wa-version is what every socket announces; bundled announces none of its own', async () => {
    const fixed = await qrTestApp(graph, { config: { qrWaVersion: [2, 3000, 1_029_000_777] } })
    await linkQrChannel(fixed.t, fixed.owner, fixed.ws, fixed.sockets)
    expect(fixed.sockets.sockets.map((s) => s.version)).toEqual(
      fixed.sockets.sockets.map(() => [2, 3000, 1_029_000_777]),
    )
    await fixed.t.close()
    const bundled = await qrTestApp(graph)
    await linkQrChannel(bundled.t, bundled.owner, bundled.ws, bundled.sockets)
    expect(bundled.sockets.last().version).toBeUndefined()
    await bundled.t.close()
  })

  test('latest reads the current revision from WhatsApp Web; after a 405 it reads again and retries once with a newer one', async () => {
    const sw = serviceWorker()
    const { t, owner, ws, sockets } = await qrTestApp(graph, {
      config: { qrWaVersion: 'latest', qrWaVersionUrl: sw.url },
    })
    const id = await linkQrChannel(t, owner, ws, sockets)
    expect(sockets.last().version).toEqual([2, 3000, 1_029_000_001])
    // Read once for the process (cached), not at every socket: linking made two sockets.
    expect(sw.state.requests).toBe(1)
    // WhatsApp retires the revision and Web moves on: the 405 reads the new one and connects with it.
    sw.state.revision = 1_029_000_555
    const made = sockets.sockets.length
    sockets.last().close(405, 'Connection Failure')
    await settleQr(t, id)
    expect(sockets.sockets.length).toBe(made + 1)
    expect(sockets.last().version).toEqual([2, 3000, 1_029_000_555])
    sockets.last().open()
    await settleQr(t, id)
    expect((await channelRow(t, id)).connection_state).toBe('connected')
    // Refused again with nothing newer to try: it stops and says so, instead of looping.
    sockets.last().close(405, 'Connection Failure')
    await settleQr(t, id)
    expect(sockets.sockets.length).toBe(made + 1)
    expect((await channelRow(t, id)).connection_state).toBe('outdated_version')
    expect((await warnings(t)).find((w) => w.warning === 'outdated_version')?.detail).toContain('2.3000.1029000555')
    await t.close()
    sw.stop()
  })

  test("latest falls back to Baileys' bundled version when WhatsApp Web cannot be read", async () => {
    const sw = serviceWorker()
    sw.state.revision = null
    const { t, owner, ws, sockets } = await qrTestApp(graph, {
      config: { qrWaVersion: 'latest', qrWaVersionUrl: sw.url },
    })
    await linkQrChannel(t, owner, ws, sockets)
    expect(sockets.last().version).toBeUndefined()
    expect(t.logLines.some((l) => l.includes("could not read WhatsApp Web's current version"))).toBe(true)
    await t.close()
    sw.stop()
  })

  test('the setting is checked at start: bundled, latest or a version number, nothing else', () => {
    const parse = (v: string) => parseInvocation(['serve', '--qr-wa-version', v], {})
    expect(parse('2.3000.1029000001').config.qrWaVersion).toEqual([2, 3000, 1_029_000_001])
    expect(parse('latest').config.qrWaVersion).toBe('latest')
    expect(parseInvocation(['serve'], {}).config.qrWaVersion).toBe('bundled')
    expect(() => parse('newest')).toThrow(/qr-wa-version.*bundled, latest, or a version/)
  })
})

describe('pairing codes', () => {
  test('the linked device shows as a browser WhatsApp knows, never a custom name', () => {
    const [platform, browser] = LINKED_BROWSER
    expect(['Chrome', 'Firefox', 'Safari', 'Edge', 'Opera']).toContain(browser)
    expect(platform).not.toMatch(/wabox/i)
  })

  test('a code the phone never confirms is reported after the timeout; the QR code goes on; a new code starts over', async () => {
    const { t, clock, owner, ws, sockets } = await qrTestApp(graph)
    const res = await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, { kind: 'qr', name: 'Shop phone' })
    const id = (await res.json()).channel.id as string
    sockets.last().showQr('2@first-qr,noise,identity,adv')
    await settleQr(t, id)
    const pair = () =>
      qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels/${id}/pairing-code`, { phoneNumber: '4915100000001' })
    expect((await pair()).status).toBe(200)
    clock.advance(PAIRING_TIMEOUT_MS - 1_000)
    await settleQr(t, id)
    expect(await warnings(t)).toEqual([])
    // A second request restarts the wait.
    expect((await pair()).status).toBe(200)
    clock.advance(PAIRING_TIMEOUT_MS - 1_000)
    await settleQr(t, id)
    expect(await warnings(t)).toEqual([])
    clock.advance(2_000)
    await settleQr(t, id)
    const row = await channelRow(t, id)
    expect(row.connection_state).toBe('linking')
    expect(row.status).toBe('pending')
    expect(row.last_error).toContain('did not confirm the pairing code')
    expect((await warnings(t)).map((w) => w.warning)).toEqual(['pairing_failed'])
    const view = await (await qrApi(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${id}`)).json()
    expect(view.connection.lastError).toContain('request a new code, or scan the QR code')
    // The QR code is still there to scan.
    expect((await qrApi(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${id}/qr`)).status).toBe(200)
    await t.close()
  })

  test('a code the phone confirms links the number, and no failure is reported afterwards', async () => {
    const { t, clock, owner, ws, sockets } = await qrTestApp(graph)
    const res = await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, { kind: 'qr', name: 'Shop phone' })
    const id = (await res.json()).channel.id as string
    sockets.last().showQr('2@first-qr,noise,identity,adv')
    await settleQr(t, id)
    expect(
      (
        await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels/${id}/pairing-code`, {
          phoneNumber: '4915100000001',
        })
      ).status,
    ).toBe(200)
    // Pair success: creds, then WhatsApp's 515 restart, then open.
    sockets.last().emit('creds.update', {})
    sockets.last().close(515, 'Stream Errored (restart required)')
    await settleQr(t, id)
    sockets.last().open()
    await settleQr(t, id)
    clock.advance(PAIRING_TIMEOUT_MS * 2)
    await settleQr(t, id)
    expect(await warnings(t)).toEqual([])
    expect((await channelRow(t, id)).connection_state).toBe('connected')
    await t.close()
  })
})
