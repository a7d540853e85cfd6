/**
 * History sync (issue 14, QR item 2): with every history sync off, Baileys 7.0.0-rc14 warns "DANGER: DISABLING ALL
 * SYNC BY shouldSyncHistoryMsg PREVENTS BAILEYS FROM ACCESSING INITIAL LID MAPPINGS" (Socket/socket.js) and the LID
 * mappings, tctokens and first app-state sync never arrive. wabox keeps Baileys' default (all but FULL history) and
 * keeps history itself out of the inbox, taking only its LID mappings (Utils/process-message.js emits them in
 * messaging-history.set as lidPnMappings).
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { startGraphDouble } from '../../testing/graph-double.ts'
import { linkQrChannel, QR_PARTNER, qrCustomerWrote, qrTestApp, settleQr } from '../../testing/qr-session.ts'
import { waitUntil } from '../../testing/wait.ts'
import { baileysSocketFactory } from './socket.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

describe('history sync', () => {
  test("a real Baileys socket is made with history sync on (Baileys' default), so it never warns that LID mappings are cut off", async () => {
    let made = 0
    const { t, owner, ws } = await qrTestApp(graph, {
      factory: (opts) => {
        made++
        return baileysSocketFactory(opts)
      },
      // Debug: Baileys' own warnings reach the log (socket.ts baileysLevel).
      config: { qrWebsocketUrl: 'ws://127.0.0.1:1/ws/chat', logLevel: 'debug' },
    })
    const res = await t.request(`/api/v1/workspaces/${ws}/channels`, {
      method: 'POST',
      headers: { ...owner.who.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'qr', name: 'Shop phone' }),
    })
    expect(res.status).toBe(201)
    await waitUntil('the socket to be made', async () => made === 1)
    await waitUntil('Baileys to report the refused connection', async () =>
      t.logLines.some((l) => l.includes('QR session closed')),
    )
    expect(t.logLines.filter((l) => l.includes('DISABLING ALL SYNC'))).toEqual([])
    await t.close()
  })

  test('history is not put in the inbox, but its LID mappings are kept: a message from the LID reaches the known contact', async () => {
    const { t, owner, ws, sockets } = await qrTestApp(graph)
    const id = await linkQrChannel(t, owner, ws, sockets)
    const conversationId = await qrCustomerWrote(t, id, sockets.last(), 'Hallo')
    const lid = '118523097112345'
    // A RECENT history chunk as Baileys emits it: old messages, and the phone-number ↔ LID pairs it learned.
    sockets.last().emit('messaging-history.set', {
      syncType: 3,
      messages: [
        {
          key: { remoteJid: `${QR_PARTNER}@s.whatsapp.net`, fromMe: false, id: '3EB0HISTORY1' },
          message: { conversation: 'from last year' },
          messageTimestamp: 1_700_000_000,
        },
      ],
      lidPnMappings: [{ lid: `${lid}@lid`, pn: `${QR_PARTNER}@s.whatsapp.net` }],
    })
    await settleQr(t, id)
    const texts = async () =>
      (await t.db.db.selectFrom('messages').select('text').where('channel_id', '=', id).execute()).map((m) => m.text)
    expect(await texts()).toEqual(['Hallo'])
    expect(await t.db.db.selectFrom('lid_mappings').select(['lid', 'wa_id']).execute()).toEqual([
      { lid, wa_id: QR_PARTNER },
    ])
    // The same person writes from their LID only (no phone number alongside): same contact, same conversation.
    sockets.last().emit('messages.upsert', {
      type: 'notify',
      messages: [
        {
          key: { remoteJid: `${lid}@lid`, fromMe: false, id: '3EB0FROMLID' },
          message: { conversation: 'Bin wieder da' },
          messageTimestamp: Math.floor(Date.now() / 1000),
          pushName: 'Jonas',
        },
      ],
    })
    await settleQr(t, id)
    expect((await texts()).sort()).toEqual(['Bin wieder da', 'Hallo'])
    const conversations = await t.db.db.selectFrom('conversations').select('id').where('channel_id', '=', id).execute()
    expect(conversations).toEqual([{ id: conversationId }])
    await t.close()
  })
})
