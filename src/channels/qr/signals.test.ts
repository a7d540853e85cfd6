/**
 * Ban and loss signals of QR-linked numbers (issue 14, QR item 9), each shaped as Baileys 7.0.0-rc14 reports it
 * (node_modules/baileys/lib: Socket/messages-recv.js handleBadAck and handleReachoutTimelockNotification,
 * Utils/decode-wa-message.js CIPHERTEXT stubs, Utils/messages.js link previews).
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { encryptedStream, generateWAMessageContent } from 'baileys'
import { startGraphDouble } from '../../testing/graph-double.ts'
import {
  linkQrChannel,
  QR_PARTNER_JID,
  qrApi,
  qrCustomerWrote,
  qrIncoming,
  qrTestApp,
  settleQr,
} from '../../testing/qr-session.ts'
import type { TestApp } from '../../testing/test-app.ts'
import { openAuthStore } from './auth-store.ts'
import { RESTART_LIMIT, UNDECRYPTABLE_WARNING_COUNT, UNDECRYPTABLE_WINDOW_MS } from './session.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

const warnings = async (t: TestApp) =>
  (await t.db.db.selectFrom('events').select('data').where('type', '=', 'channel.warning').execute()).map(
    (e) => JSON.parse(e.data) as { channelId: string; warning: string; detail: string; until: string | null },
  )
const metrics = async (t: TestApp) => (await t.request('/metrics', { headers: { 'x-test-peer': '127.0.0.1' } })).text()
const messageRow = (t: TestApp, id: string) =>
  t.db.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
const outboxRow = (t: TestApp, messageId: string) =>
  t.db.db.selectFrom('outbox').selectAll().where('message_id', '=', messageId).executeTakeFirstOrThrow()

/** A Boom error as Baileys throws it from a send. */
const boom = (message: string, statusCode: number, data?: unknown) =>
  Object.assign(new Error(message), { isBoom: true, output: { statusCode }, data })

describe('send refusals that are about the number (463, 479)', () => {
  test('a NACK with 463 fails the message as "restricted", 479 as "stanza rejected" — distinct codes, never a generic failure', async () => {
    const { t, clock, owner, ws, sockets } = await qrTestApp(graph)
    const id = await linkQrChannel(t, owner, ws, sockets)
    const conversationId = await qrCustomerWrote(t, id, sockets.last(), 'Hallo')
    const send = async (body: string) =>
      (
        await (
          await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
            conversationId,
            type: 'text',
            text: { body },
          })
        ).json()
      ).id as string
    const first = await send('one')
    await t.runtime.sender.drain()
    const second = await send('two')
    clock.advance(600)
    await t.runtime.sender.drain()
    expect(sockets.last().sent).toHaveLength(2)
    const [a, b] = [await messageRow(t, first), await messageRow(t, second)]
    // What handleBadAck emits: status ERROR (0), the server's code first, Baileys' text for 463 after it.
    sockets.last().nack(QR_PARTNER_JID, a.wamid!, '463')
    sockets.last().nack(QR_PARTNER_JID, b.wamid!, '479')
    await settleQr(t, id)
    const [failedA, failedB] = [await messageRow(t, first), await messageRow(t, second)]
    expect(failedA).toMatchObject({
      status: 'failed',
      error_code: 463,
      error_details: 'Your account has been restricted',
    })
    expect(failedA.error_title).toContain('restricted')
    expect(failedB).toMatchObject({ status: 'failed', error_code: 479 })
    expect(failedB.error_title).toContain('479')
    await t.close()
  })

  test('a send the socket refuses with 463 fails at once (retrying would deepen the restriction); 479 and other errors are retried', async () => {
    const { t, clock, owner, ws, sockets } = await qrTestApp(graph)
    const id = await linkQrChannel(t, owner, ws, sockets)
    const conversationId = await qrCustomerWrote(t, id, sockets.last(), 'Hallo')
    const send = async (body: string) =>
      (
        await (
          await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
            conversationId,
            type: 'text',
            text: { body },
          })
        ).json()
      ).id as string
    sockets.last().sendErrors.push(boom('Your account has been restricted', 500, 463))
    const restricted = await send('restricted')
    await t.runtime.sender.drain()
    expect(await outboxRow(t, restricted)).toMatchObject({ state: 'failed', attempts: 1 })
    expect(await messageRow(t, restricted)).toMatchObject({ status: 'failed', error_code: 463 })

    clock.advance(600)
    sockets.last().sendErrors.push(boom('smax-invalid', 479))
    const stale = await send('stale device list')
    await t.runtime.sender.drain()
    expect(await outboxRow(t, stale)).toMatchObject({ state: 'queued', attempts: 1 })
    expect((await outboxRow(t, stale)).last_error).toStartWith('479:')
    await t.close()
  })
})

describe('reach-out time lock', () => {
  test('while WhatsApp restricts new chats, a message that would start one waits until the end; replies go out; the channel shows it and a warning goes out', async () => {
    const { t, clock, owner, ws, sockets } = await qrTestApp(graph)
    const id = await linkQrChannel(t, owner, ws, sockets)
    const conversationId = await qrCustomerWrote(t, id, sockets.last(), 'Hallo')
    const ends = new Date(clock.now() + 3 * 60 * 60_000)
    // What Baileys emits after fetchAccountReachoutTimelock (Socket/socket.js) or the timelock notification.
    sockets.last().emit('connection.update', {
      reachoutTimeLock: { isActive: true, timeEnforcementEnds: ends, enforcementType: 'DEFAULT' },
    })
    await settleQr(t, id)
    expect(await warnings(t)).toEqual([
      {
        channelId: id,
        warning: 'reachout_locked',
        detail: expect.stringContaining('new chats'),
        until: ends.toISOString(),
      },
    ])
    const view = await (await qrApi(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${id}`)).json()
    expect(view.connection.reachoutLockedUntil).toBe(ends.toISOString())

    const newChat = await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
      channelId: id,
      to: '4915199999999',
      type: 'text',
      text: { body: 'Ihre Bestellung ist fertig' },
    })
    expect(newChat.status).toBe(202)
    const newChatId = (await newChat.json()).id as string
    await t.runtime.sender.drain()
    expect(sockets.last().sent).toHaveLength(0)
    const held = await outboxRow(t, newChatId)
    expect(held).toMatchObject({ state: 'queued', attempts: 0 })
    expect(held.last_error).toContain('starting new chats')

    // A reply to the customer who wrote is not a reach-out.
    clock.advance(600)
    const reply = await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
      conversationId,
      type: 'text',
      text: { body: 'Gern!' },
    })
    expect(reply.status).toBe(202)
    await t.runtime.sender.drain()
    expect(sockets.last().sent.map((s) => s.jid)).toEqual([QR_PARTNER_JID])

    // Looked at again within a minute while it holds, never sent, no attempt spent.
    await clock.advanceAsync(61_000)
    await t.runtime.sender.drain()
    expect(sockets.last().sent).toHaveLength(1)
    expect((await outboxRow(t, newChatId)).attempts).toBe(0)
    // Once it ends, the message goes.
    await clock.advanceAsync(ends.getTime() - clock.now() + 1_000)
    await t.runtime.sender.drain()
    expect(sockets.last().sent.map((s) => s.jid)).toEqual([QR_PARTNER_JID, '4915199999999@s.whatsapp.net'])
    expect((await outboxRow(t, newChatId)).state).toBe('sent')
    expect(await metrics(t)).toContain('wabox_qr_session_warnings_total{warning="reachout_locked"} 1')
    await t.close()
  })

  test('a lock lifted early frees the held message at its next look, without waiting for the planned end', async () => {
    const { t, clock, owner, ws, sockets } = await qrTestApp(graph)
    const id = await linkQrChannel(t, owner, ws, sockets)
    const ends = new Date(clock.now() + 24 * 60 * 60_000)
    sockets.last().emit('connection.update', { reachoutTimeLock: { isActive: true, timeEnforcementEnds: ends } })
    await settleQr(t, id)
    const res = await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
      channelId: id,
      to: '4915199999999',
      type: 'text',
      text: { body: 'Hallo' },
    })
    const messageId = (await res.json()).id as string
    await t.runtime.sender.drain()
    expect(sockets.last().sent).toHaveLength(0)
    sockets.last().emit('connection.update', { reachoutTimeLock: { isActive: false } })
    await settleQr(t, id)
    const view = await (await qrApi(t, owner, 'GET', `/api/v1/workspaces/${ws}/channels/${id}`)).json()
    expect(view.connection.reachoutLockedUntil).toBeNull()
    await clock.advanceAsync(61_000)
    await t.runtime.sender.drain()
    expect(sockets.last().sent).toHaveLength(1)
    expect((await outboxRow(t, messageId)).state).toBe('sent')
    await t.close()
  })
})

describe('what the session watches', () => {
  test('undecryptable messages are counted per channel; a burst within the window warns once, fewer do not', async () => {
    const { t, clock, owner, ws, sockets } = await qrTestApp(graph)
    const id = await linkQrChannel(t, owner, ws, sockets)
    // As decode-wa-message.js upserts a message it could not decrypt: no content, stub CIPHERTEXT (2).
    const broken = (n: number) => ({
      key: { remoteJid: QR_PARTNER_JID, fromMe: false, id: `3EB0BROKEN${n}` },
      messageStubType: 2,
      messageStubParameters: ['Message absent from node'],
      messageTimestamp: Math.floor(clock.now() / 1000),
    })
    const upsert = (from: number, count: number) =>
      sockets.last().emit('messages.upsert', {
        type: 'notify',
        messages: Array.from({ length: count }, (_, i) => broken(from + i)),
      })
    upsert(0, UNDECRYPTABLE_WARNING_COUNT - 1)
    await settleQr(t, id)
    expect(await warnings(t)).toEqual([])
    // Outside the window: the earlier ones no longer count toward a burst.
    await clock.advanceAsync(UNDECRYPTABLE_WINDOW_MS + 1)
    upsert(100, UNDECRYPTABLE_WARNING_COUNT - 1)
    await settleQr(t, id)
    expect(await warnings(t)).toEqual([])
    upsert(200, 1)
    await settleQr(t, id)
    expect((await warnings(t)).map((w) => w.warning)).toEqual(['undecryptable_messages'])
    expect(await metrics(t)).toContain(
      `wabox_qr_undecryptable_messages_total{channel_id="${id}"} ${2 * (UNDECRYPTABLE_WARNING_COUNT - 1) + 1}`,
    )
    // None of them is a message in the inbox.
    expect(await t.db.db.selectFrom('messages').select('id').where('channel_id', '=', id).execute()).toEqual([])
    await t.close()
  })

  test('515 restarts in a row without an open stop being immediate after the limit: backoff and a warning, not a tight loop', async () => {
    const { t, clock, owner, ws, sockets } = await qrTestApp(graph)
    const id = await linkQrChannel(t, owner, ws, sockets)
    const session = t.runtime.qr.get(id)!
    const before = sockets.sockets.length
    for (let i = 0; i < RESTART_LIMIT; i++) {
      sockets.last().close(515, 'Stream Errored (restart required)')
      await session.idle()
    }
    // Up to the limit, each restart is immediate (the normal end of linking, or a server request).
    expect(sockets.sockets.length).toBe(before + RESTART_LIMIT)
    sockets.last().close(515, 'Stream Errored (restart required)')
    await session.idle()
    expect(sockets.sockets.length).toBe(before + RESTART_LIMIT)
    expect(
      (await t.db.db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirstOrThrow())
        .connection_state,
    ).toBe('reconnecting')
    expect((await warnings(t)).map((w) => w.warning)).toEqual(['restart_loop'])
    await clock.advanceAsync(2_000)
    await session.idle()
    expect(sockets.sockets.length).toBe(before + RESTART_LIMIT + 1)
    // An open ends the loop: the next 515 restarts at once again.
    sockets.last().open()
    await session.idle()
    sockets.last().close(515, 'Stream Errored (restart required)')
    await session.idle()
    expect(sockets.sockets.length).toBe(before + RESTART_LIMIT + 2)
    await t.close()
  })

  test('a replaced connection (440) warns: event and counter, besides the state', async () => {
    const { t, owner, ws, sockets } = await qrTestApp(graph)
    const id = await linkQrChannel(t, owner, ws, sockets)
    sockets.last().close(440, 'Stream Errored (conflict)')
    await t.runtime.qr.get(id)!.idle()
    expect(await warnings(t)).toEqual([
      {
        channelId: id,
        warning: 'replaced',
        detail: expect.stringContaining('440: Stream Errored (conflict)'),
        until: null,
      },
    ])
    expect(await metrics(t)).toContain('wabox_qr_session_warnings_total{warning="replaced"} 1')
    await t.close()
  })

  test('creds changed while decrypting are stored before the messages are, even without a creds.update', async () => {
    const { t, owner, ws, sockets } = await qrTestApp(graph)
    const id = await linkQrChannel(t, owner, ws, sockets)
    const socket = sockets.last()
    // Baileys moves creds on while it decrypts (pre-key ids, counters) and may announce it after the upsert.
    socket.auth.creds.nextPreKeyId = 4242
    socket.auth.creds.firstUnuploadedPreKeyId = 4242
    socket.emit('messages.upsert', { type: 'notify', messages: [qrIncoming('3EB0CREDS', 'Hallo')] })
    await settleQr(t, id)
    expect(await t.db.db.selectFrom('messages').select('id').where('wamid', '=', '3EB0CREDS').execute()).toHaveLength(1)
    const stored = await openAuthStore(t.services, ws, id)
    expect(stored.state.creds.nextPreKeyId).toBe(4242)
    await t.close()
  })

  test('text goes out with linkPreview null: Baileys then never fetches the link itself (its fetch would bypass the URL guard)', async () => {
    const { t, owner, ws, sockets } = await qrTestApp(graph)
    const id = await linkQrChannel(t, owner, ws, sockets)
    const conversationId = await qrCustomerWrote(t, id, sockets.last(), 'Hallo')
    await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
      conversationId,
      type: 'text',
      text: { body: 'Unsere Karte: https://example.com/karte' },
    })
    await t.runtime.sender.drain()
    const content = sockets.last().sent[0]!.content
    expect(content).toMatchObject({ linkPreview: null })
    // Baileys' own message builder, as sendMessage calls it with a getUrlInfo.
    const fetched: string[] = []
    const getUrlInfo = async (url: string) => {
      fetched.push(url)
      return undefined
    }
    const options = { getUrlInfo, upload: async () => ({ mediaUrl: '', directPath: '' }) } as never
    const built = await generateWAMessageContent(content as never, options)
    expect(fetched).toEqual([])
    expect(built.extendedTextMessage?.text ?? built.conversation).toContain('Unsere Karte')
    // The control: without linkPreview, Baileys would have fetched it.
    await generateWAMessageContent({ text: content.text } as never, options)
    expect(fetched).toEqual(['https://example.com/karte'])
    await t.close()
  })
})

describe('media WhatsApp no longer has', () => {
  test('a 404 from the media host asks the phone to upload it again (with the message key) and fetches the new copy; without a copy it fails as before', async () => {
    const photo = Buffer.from('a photo of the order, in bytes '.repeat(30))
    const enc = await encryptedStream(photo, 'image')
    const file = Buffer.from(await Bun.file(enc.encFilePath).arrayBuffer())
    const served: string[] = []
    // WhatsApp's media host: the old path is gone (404), the path of the re-upload has the file.
    const host = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch(req) {
        const path = new URL(req.url).pathname
        served.push(path)
        return path === '/v/t62.7118-24/fresh.enc' ? new Response(file) : new Response('gone', { status: 404 })
      },
    })
    try {
      const { t, owner, ws, sockets } = await qrTestApp(graph, {
        config: { qrMediaUrl: `http://127.0.0.1:${host.port}` },
      })
      const id = await linkQrChannel(t, owner, ws, sockets)
      const image = (messageId: string) => ({
        key: { remoteJid: QR_PARTNER_JID, fromMe: false, id: messageId },
        message: {
          imageMessage: {
            url: 'https://mmg.whatsapp.net/v/t62.7118-24/old.enc',
            directPath: '/v/t62.7118-24/old.enc',
            mediaKey: enc.mediaKey,
            fileSha256: enc.fileSha256,
            mimetype: 'image/jpeg',
          },
        },
        messageTimestamp: Math.floor(Date.now() / 1000),
        pushName: 'Jonas',
      })
      sockets.last().reuploads.set('3EB0PHOTO', '/v/t62.7118-24/fresh.enc')
      sockets.last().emit('messages.upsert', { type: 'notify', messages: [image('3EB0PHOTO'), image('3EB0LOST')] })
      await settleQr(t, id)
      await t.runtime.media.drain()
      expect(sockets.last().mediaRequests.map((r) => r.key)).toContainEqual({
        remoteJid: QR_PARTNER_JID,
        id: '3EB0PHOTO',
        fromMe: false,
      })
      const rows = await t.db.db
        .selectFrom('messages')
        .select(['id', 'wamid', 'media_state', 'media_attempts'])
        .where('channel_id', '=', id)
        .orderBy('wamid')
        .execute()
      const found = rows.find((r) => r.wamid === '3EB0PHOTO')!
      expect(found.media_state).toBe('stored')
      const media = await qrApi(t, owner, 'GET', `/api/v1/workspaces/${ws}/messages/${found.id}/media`)
      expect(media.status).toBe(200)
      expect(Buffer.from(await media.arrayBuffer()).equals(photo)).toBe(true)
      // The phone has no copy of the other one: not stored, its attempt counted, nothing made up.
      const lost = rows.find((r) => r.wamid === '3EB0LOST')!
      expect(lost.media_state).not.toBe('stored')
      expect(lost.media_attempts).toBeGreaterThan(0)
      expect(served).toContain('/v/t62.7118-24/old.enc')
      await t.close()
    } finally {
      host.stop(true)
    }
  })
})
