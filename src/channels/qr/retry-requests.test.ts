/**
 * Retry requests (issue 14, QR item 3): a recipient whose phone could not decrypt a message asks for it again, and
 * Baileys can answer after its five-minute memory only through getMessage (Socket/messages-recv.js; baileys.md
 * "Retries need getMessage"). wabox keeps what it sent for 14 days, sealed, across reconnects and restarts, and
 * keeps the retry counter with the channel, not the socket (Baileys' Example/example.ts).
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { call, makeKey } from '../../testing/fixtures.ts'
import { startGraphDouble } from '../../testing/graph-double.ts'
import { linkQrChannel, QR_PARTNER_JID, qrApi, qrCustomerWrote, qrTestApp, settleQr } from '../../testing/qr-session.ts'
import { RETRY_WINDOW_MS } from './sent-messages.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

describe('answering retry requests', () => {
  test('a message sent before a reconnect is still answered with exactly what was sent; unknown ids are not', async () => {
    const { t, clock, owner, ws, sockets } = await qrTestApp(graph)
    const id = await linkQrChannel(t, owner, ws, sockets)
    const conversationId = await qrCustomerWrote(t, id, sockets.last(), 'Hallo')
    const res = await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
      conversationId,
      type: 'text',
      text: { body: 'Your order is ready' },
    })
    expect(res.status).toBe(202)
    await t.runtime.sender.drain()
    const sentId = sockets.last().sent[0]!.options!.messageId as string
    // The network drops; a new socket comes up with the same session.
    const first = sockets.last()
    first.close(428, 'Connection Closed')
    await settleQr(t, id)
    clock.advance(10 * 60_000)
    await settleQr(t, id)
    sockets.last().open()
    await settleQr(t, id)
    expect(sockets.last()).not.toBe(first)
    expect(await sockets.last().retryRequested(QR_PARTNER_JID, sentId)).toEqual({
      extendedTextMessage: { text: 'Your order is ready' },
    })
    expect(await sockets.last().retryRequested(QR_PARTNER_JID, '3EB0NOTSENT')).toBeUndefined()
    // Asked for by someone else's chat, it is not handed over.
    expect(await sockets.last().retryRequested('4915199999999@s.whatsapp.net', sentId)).toBeUndefined()
    // Stored sealed: neither the text nor the ids of the content are readable in the database.
    const rows = await t.db.db.selectFrom('qr_sent_messages').selectAll().execute()
    expect(rows).toHaveLength(1)
    expect(rows[0]!.message).toMatch(/^v1\./)
    expect(rows[0]!.message).not.toContain('order')
    await t.close()
  })

  test('media keys survive the store byte for byte, and a restart of wabox (a new session) still answers', async () => {
    const { t, owner, ws, sockets } = await qrTestApp(graph)
    const id = await linkQrChannel(t, owner, ws, sockets)
    const conversationId = await qrCustomerWrote(t, id, sockets.last(), 'Hallo')
    const mediaKey = new Uint8Array(32).map((_, i) => (i * 7 + 3) % 256)
    // What Baileys returns for an image: the proto with its media key and hashes as bytes (what the store keeps is
    // what the socket returned, whatever the send's input was).
    sockets.last().nextMessages.push({
      imageMessage: {
        url: 'https://mmg.whatsapp.net/o1/v/t62.7118-24/abc',
        mimetype: 'image/jpeg',
        mediaKey,
        fileSha256: new Uint8Array([1, 2, 3]),
        fileLength: 5,
        caption: 'the cake',
      },
    })
    const res = await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
      conversationId,
      type: 'text',
      text: { body: 'the cake' },
    })
    expect(res.status).toBe(202)
    await t.runtime.sender.drain()
    const sent = sockets.last().sent.at(-1)!
    // wabox restarts: the session (and its socket) are new; the database is the same.
    await t.runtime.qr.stopAll()
    await t.runtime.qr.startAll()
    await settleQr(t, id)
    sockets.last().open()
    await settleQr(t, id)
    const again = (await sockets.last().retryRequested(QR_PARTNER_JID, sent.options!.messageId as string)) as {
      imageMessage: { mediaKey: Uint8Array; fileSha256: Uint8Array; caption: string }
    }
    expect(Buffer.from(again.imageMessage.mediaKey).equals(Buffer.from(mediaKey))).toBe(true)
    expect([...again.imageMessage.fileSha256]).toEqual([1, 2, 3])
    expect(again.imageMessage.caption).toBe('the cake')
    await t.close()
  })

  test('after 14 days a message is no longer answered and is pruned; logging out forgets every one', async () => {
    const { t, clock, owner, ws, sockets } = await qrTestApp(graph)
    const admin = await makeKey(t, ws, owner, 'admin')
    const id = await linkQrChannel(t, owner, ws, sockets)
    const conversationId = await qrCustomerWrote(t, id, sockets.last(), 'Hallo')
    const send = async (body: string) => {
      await qrApi(t, owner, 'POST', `/api/v1/workspaces/${ws}/messages`, {
        conversationId,
        type: 'text',
        text: { body },
      })
      clock.advance(1_000)
      await t.runtime.sender.drain()
      return sockets.last().sent.at(-1)!.options!.messageId as string
    }
    const old = await send('first')
    clock.advance(RETRY_WINDOW_MS - 60_000)
    expect(await sockets.last().retryRequested(QR_PARTNER_JID, old)).toEqual({ extendedTextMessage: { text: 'first' } })
    clock.advance(2 * 60_000)
    expect(await sockets.last().retryRequested(QR_PARTNER_JID, old)).toBeUndefined()
    // The customer writes again (the window reopens), and the next send prunes what is past the window.
    await qrCustomerWrote(t, id, sockets.last(), 'Noch da?')
    const recent = await send('second')
    const ids = async () =>
      (await t.db.db.selectFrom('qr_sent_messages').select('message_id').execute()).map((r) => r.message_id)
    expect(await ids()).toEqual([recent])
    // Unlinking: a new link is a new device, nothing of the old one is kept.
    // (Two weeks on, the owner's browser session has expired: an admin API key does it.)
    const unlinked = await t.request(`/api/v1/workspaces/${ws}/channels/${id}`, call(admin.who, 'DELETE'))
    expect(unlinked.status).toBeLessThan(300)
    expect(await ids()).toEqual([])
    await t.close()
  })

  test('the retry counter belongs to the channel: the same across its sockets, separate from another channel', async () => {
    const { t, clock, owner, ws, sockets } = await qrTestApp(graph)
    const a = await linkQrChannel(t, owner, ws, sockets)
    const firstOfA = sockets.last()
    await firstOfA.retryRequested(QR_PARTNER_JID, '3EB0COUNTED')
    firstOfA.close(408, 'Connection lost')
    await settleQr(t, a)
    clock.advance(10 * 60_000)
    await settleQr(t, a)
    const secondOfA = sockets.last()
    expect(secondOfA).not.toBe(firstOfA)
    expect(secondOfA.retry!.retryCounters).toBe(firstOfA.retry!.retryCounters)
    expect(secondOfA.retry!.retryCounters.get<number>(`3EB0COUNTED:${QR_PARTNER_JID}`)).toBe(1)
    await linkQrChannel(t, owner, ws, sockets)
    expect(sockets.last().retry!.retryCounters).not.toBe(firstOfA.retry!.retryCounters)
    expect(sockets.last().retry!.retryCounters.get(`3EB0COUNTED:${QR_PARTNER_JID}`)).toBeUndefined()
    await t.close()
  })
})
