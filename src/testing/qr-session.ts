/**
 * A test app with QR-linked channels on scripted sockets (qr-socket.ts), and the steps most QR tests take: link a
 * channel through the API (QR shown, 515 restart, open), let a session's events settle, a customer writing first.
 */
import { expect } from 'bun:test'
import type { SocketFactory } from '../channels/qr/socket.ts'
import { call, makeUser, makeWorkspace, manualClock, type FixtureUser } from './fixtures.ts'
import type { GraphDouble } from './graph-double.ts'
import { scriptedSockets, type ScriptedSocket } from './qr-socket.ts'
import { createTestApp, type TestApp } from './test-app.ts'

export const QR_PARTNER = '4917612345678'
export const QR_PARTNER_JID = `${QR_PARTNER}@s.whatsapp.net`
/** Pacing that sends a message every 500 ms without "typing…" first. */
export const QR_NO_TYPING = { pacing: { typing: false, minDelayMs: 500, maxDelayMs: 500 } }

export async function qrTestApp(
  graph: GraphDouble,
  opts: { factory?: SocketFactory; clock?: ReturnType<typeof manualClock>; config?: Record<string, unknown> } = {},
) {
  const sockets = scriptedSockets()
  // Time moves only when a test moves it: reconnect backoff, pacing and heartbeats without waiting for them.
  const clock = opts.clock ?? manualClock(Date.now())
  const t = await createTestApp({ graph, clock, qrSocketFactory: opts.factory ?? sockets.factory, config: opts.config })
  const owner = await makeUser(t, 'owner@example.com')
  const ws = await makeWorkspace(t, 'Acme', owner)
  return { t, clock, owner, ws, sockets }
}

export const qrApi = (t: TestApp, who: FixtureUser, method: string, path: string, body?: unknown) =>
  t.request(path, call(who.who, method, body))

/** Every event the channel's session received so far handled, stored, and processed into the inbox. */
export async function settleQr(t: TestApp, channelId: string): Promise<void> {
  await t.runtime.qr.get(channelId)?.idle()
  await t.runtime.writer.flush()
  await t.runtime.processor.drain()
}

/** Creates a QR channel through the API and takes it through a scan: QR shown, 515 restart, open. */
export async function linkQrChannel(
  t: TestApp,
  owner: FixtureUser,
  ws: string,
  sockets: ReturnType<typeof scriptedSockets>,
  qr: Record<string, unknown> = QR_NO_TYPING,
): Promise<string> {
  const res = await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/channels`, { kind: 'qr', name: 'Shop phone', qr })
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

type MessageKey = { remoteJid: string; fromMe: boolean; id: string; participant?: string; remoteJidAlt?: string }

/** A Baileys message (WAMessage) as messages.upsert carries it. */
export const qrIncoming = (
  id: string,
  text: string,
  key: Partial<MessageKey> = {},
  ts = Math.floor(Date.now() / 1000),
) => ({
  key: { remoteJid: QR_PARTNER_JID, fromMe: false, id, ...key },
  message: { conversation: text },
  messageTimestamp: ts,
  pushName: 'Jonas',
})

/** The customer writes first: the conversation to answer in. */
export async function qrCustomerWrote(
  t: TestApp,
  channelId: string,
  socket: ScriptedSocket,
  text: string,
  id = '3EB0IN01',
): Promise<string> {
  socket.emit('messages.upsert', { type: 'notify', messages: [qrIncoming(id, text)] })
  await settleQr(t, channelId)
  return (
    await t.db.db.selectFrom('conversations').select('id').where('channel_id', '=', channelId).executeTakeFirstOrThrow()
  ).id
}
