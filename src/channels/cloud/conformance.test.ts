/**
 * The Cloud API as Meta runs it (issue 14, Cloud API item 1): the Graph double refuses what Meta refuses, with
 * Meta's codes and `error_data.details` (graph-rules.ts, written from Meta's pages and independent SDKs), and
 * wabox copes with what Meta answers beyond a plain `accepted`: normalised wa_ids, messages held for quality
 * assessment, statuses past `sent` with pricing by category, failures with their details, registered templates,
 * media URLs that expire and belong to a number.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { startGraphDouble } from '../../testing/graph-double.ts'
import { call, deliver, makeChannel, makeUser, makeWorkspace, manualClock } from '../../testing/fixtures.ts'
import { createTestApp, type TestApp } from '../../testing/test-app.ts'
import { inboundText } from '../../testing/webhooks.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

const NOW = Date.parse('2025-06-08T21:00:00Z')

/** wabox on loopback HTTP, so Meta's (the double's) status webhooks reach it as they would in production. */
function listen(t: TestApp) {
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: async (req) => {
      const url = new URL(req.url)
      return t.request(url.pathname + url.search, {
        method: req.method,
        headers: req.headers,
        body: req.method === 'GET' ? undefined : await req.arrayBuffer(),
      })
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) }
}

async function setup() {
  const clock = manualClock(NOW)
  const t = await createTestApp({ graph, clock })
  const owner = await makeUser(t, 'owner@example.com')
  const ws = await makeWorkspace(t, 'Acme', owner)
  const channel = await makeChannel(t, ws, graph)
  const http = listen(t)
  graph.deliverStatusesTo(channel.phoneNumberId, `${http.url}/webhooks/whatsapp/${channel.id}`, channel.appSecret)
  const send = async (body: Record<string, unknown>) => {
    const res = await t.request(`/api/v1/workspaces/${ws}/messages`, call(owner.who, 'POST', body))
    expect({ status: res.status, body: res.status === 202 ? null : await res.json() }).toEqual({
      status: 202,
      body: null,
    })
    const { id } = (await res.json()) as { id: string }
    clock.advance(50)
    await t.runtime.sender.drain()
    return id
  }
  const message = (id: string) =>
    t.db.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  /** Meta's later status for a message, posted to wabox's webhook and processed. */
  const status = async (id: string, kind: Parameters<typeof graph.postStatus>[1], errorCode?: number) => {
    const { wamid } = await message(id)
    expect(await graph.postStatus(wamid!, kind, { errorCode })).toBe(200)
    await t.runtime.processor.drain()
  }
  const close = async () => {
    http.stop()
    await t.close()
  }
  return { t, clock, owner, ws, channel, send, message, status, close }
}

describe('the Graph double refuses what Meta refuses', () => {
  const token = 'EAAconformance-token'
  const number = '208000000001'
  graph.addNumber(number)
  graph.addToken(token, [number])
  const post = (body: unknown) =>
    fetch(`${graph.url}/${graph.version}/${number}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: '16505551234' }

  test('send bodies: each broken rule is a 400 with the code and the field as Meta writes them', async () => {
    const template = (components: unknown[]) => ({
      ...base,
      type: 'template',
      template: { name: 'order_update', language: { code: 'en_US' }, components },
    })
    const cases: [string, unknown, number, string][] = [
      ['text too long', { ...base, type: 'text', text: { body: 'x'.repeat(4097) } }, 131009, "text['body']"],
      ['no messaging_product', { to: '16505551234', type: 'text', text: { body: 'hi' } }, 131008, 'messaging_product'],
      ['no recipient', { messaging_product: 'whatsapp', type: 'text', text: { body: 'hi' } }, 131008, 'to'],
      ['an unknown type', { ...base, type: 'telepathy', telepathy: {} }, 131051, 'telepathy'],
      ['caption on audio', { ...base, type: 'audio', audio: { id: '123', caption: 'no' } }, 100, "audio['caption']"],
      ['id and link', { ...base, type: 'image', image: { id: '1', link: 'https://a.example/i.jpg' } }, 100, 'image'],
      ['filename on an image', { ...base, type: 'image', image: { id: '1', filename: 'a' } }, 100, "image['filename']"],
      [
        'four reply buttons',
        {
          ...base,
          type: 'interactive',
          interactive: {
            type: 'button',
            body: { text: 'b' },
            action: { buttons: [1, 2, 3, 4].map((i) => ({ type: 'reply', reply: { id: `b${i}`, title: `t${i}` } })) },
          },
        },
        131009,
        "interactive['action']['buttons']",
      ],
      [
        'a list body over 1024',
        {
          ...base,
          type: 'interactive',
          interactive: {
            type: 'list',
            body: { text: 'x'.repeat(1025) },
            action: { button: 'Go', sections: [{ rows: [{ id: 'a', title: 'A' }] }] },
          },
        },
        131009,
        "interactive['body']['text']",
      ],
      [
        'eleven rows',
        {
          ...base,
          type: 'interactive',
          interactive: {
            type: 'list',
            body: { text: 'b' },
            action: {
              button: 'Go',
              sections: [{ title: 'A', rows: Array.from({ length: 11 }, (_, i) => ({ id: `r${i}`, title: 'x' })) }],
            },
          },
        },
        131009,
        'row count',
      ],
      [
        'a reaction without its message',
        { ...base, type: 'reaction', reaction: { emoji: '👍' } },
        131008,
        'message_id',
      ],
      [
        'two emoji',
        { ...base, type: 'reaction', reaction: { message_id: 'wamid.X', emoji: '👍👍' } },
        131009,
        "reaction['emoji']",
      ],
      [
        'a header text over 60',
        template([{ type: 'header', parameters: [{ type: 'text', text: 'x'.repeat(61) }] }]),
        131009,
        "template['components'][0]['parameters'][0]['text']",
      ],
      [
        'an image in the body',
        template([{ type: 'body', parameters: [{ type: 'image', image: { link: 'https://a.example/i.jpg' } }] }]),
        131009,
        "template['components'][0]['parameters'][0]['type']",
      ],
      [
        'a coupon over 15',
        template([
          {
            type: 'button',
            sub_type: 'copy_code',
            index: '0',
            parameters: [{ type: 'coupon_code', coupon_code: 'C'.repeat(16) }],
          },
        ]),
        131009,
        "['coupon_code']",
      ],
      [
        'an amount of 0',
        template([
          {
            type: 'body',
            parameters: [{ type: 'currency', currency: { fallback_value: '$0', code: 'USD', amount_1000: 0 } }],
          },
        ]),
        131009,
        'amount_1000',
      ],
      [
        'a flow button without an action',
        template([{ type: 'button', sub_type: 'flow', index: '0', parameters: [{ type: 'payload', payload: 'x' }] }]),
        131009,
        "must be 'action'",
      ],
    ]
    for (const [name, body, code, field] of cases) {
      const res = await post(body)
      const answer = await res.json()
      expect({ name, status: res.status, code: answer.error.code }).toEqual({ name, status: 400, code })
      expect({ name, message: answer.error.message }).toEqual({ name, message: expect.stringMatching(/^\(#\d+\) /) })
      expect({ name, details: answer.error.error_data.details }).toEqual({
        name,
        details: expect.stringContaining(field),
      })
    }
    // Meta's own examples go through: a keycap reaction, a long body alone, a named parameter, a flow button.
    for (const body of [
      { ...base, type: 'reaction', reaction: { message_id: 'wamid.X', emoji: '#️⃣' } },
      template([{ type: 'body', parameters: [{ type: 'text', text: 'y'.repeat(30_000) }] }]),
      template([{ type: 'body', parameters: [{ type: 'text', parameter_name: 'customer_name', text: 'John' }] }]),
      template([
        { type: 'button', sub_type: 'flow', index: '0', parameters: [{ type: 'action', action: { flow_token: 'T' } }] },
      ]),
    ]) {
      expect((await post(body)).status).toBe(200)
    }
    // A send to a business-scoped user id (no phone number) answers with the user id and no wa_id.
    const bsuid = await post({
      messaging_product: 'whatsapp',
      recipient: 'US.13491208655302741918',
      text: { body: 'hi' },
    })
    expect((await bsuid.json()).contacts).toEqual([
      { input: 'US.13491208655302741918', user_id: 'US.13491208655302741918' },
    ])
    // Brazil's ninth digit: Meta answers with WhatsApp's own id for the line.
    const brazil = await post({ ...base, to: '+55 11 98765-4321', type: 'text', text: { body: 'oi' } })
    expect((await brazil.json()).contacts).toEqual([{ input: '+55 11 98765-4321', wa_id: '551187654321' }])
  })

  test('read receipts need a wamid; uploads are checked by type and size, static stickers at 100 KB', async () => {
    const read = await post({ messaging_product: 'whatsapp', status: 'read', message_id: 'not-a-wamid' })
    expect(read.status).toBe(400)
    expect((await read.json()).error.code).toBe(131009)
    const upload = (bytes: Uint8Array, type: string) => {
      const form = new FormData()
      form.set('messaging_product', 'whatsapp')
      form.set('type', type)
      form.set('file', new File([bytes as Uint8Array<ArrayBuffer>], 'f', { type }))
      return fetch(`${graph.url}/${graph.version}/${number}/media`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      })
    }
    const exe = await upload(new Uint8Array([0x4d, 0x5a]), 'application/x-msdownload')
    expect({ status: exe.status, code: (await exe.json()).error.code }).toEqual({ status: 400, code: 100 })
    const staticWebp = new Uint8Array(100_001)
    staticWebp.set(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 '))
    const sticker = await upload(staticWebp, 'image/webp')
    const refused = await sticker.json()
    expect({ status: sticker.status, code: refused.error.code }).toEqual({ status: 400, code: 131053 })
    expect(refused.error.error_data.details).toContain('static sticker')
    expect((await upload(new Uint8Array([0xff, 0xd8, 0xff]), 'image/jpeg')).status).toBe(200)
  })

  test('media URLs are signed, expire, and open only for a token that can see the number', async () => {
    graph.addMedia('5550001', new TextEncoder().encode('photo'), 'image/jpeg', number)
    const other = 'EAAother-number-token'
    graph.addToken(other, ['208000000002'])
    const get = (path: string, bearer = token) =>
      fetch(path.startsWith('http') ? path : `${graph.url}/${graph.version}/${path}`, {
        headers: { authorization: `Bearer ${bearer}`, 'user-agent': 'conformance' },
      })
    expect((await get('5550001', other)).status).toBe(400)
    const { url } = await (await get('5550001')).json()
    expect(new URL(url).searchParams.get('ext')).toMatch(/^\d+$/)
    expect((await get(url)).status).toBe(200)
    expect((await get(url.replace(/hash=[^&]+/, 'hash=forged'))).status).toBe(404)
    graph.expireMediaUrls()
    expect((await get(url)).status).toBe(404)
    const fresh = (await (await get('5550001')).json()).url
    expect(await (await get(fresh)).text()).toBe('photo')
  })
})

describe('what Meta answers beyond "accepted"', () => {
  test("a Brazilian mobile comes back without its ninth digit: the contact takes WhatsApp's number, and replies land in the same conversation", async () => {
    const { t, owner, ws, channel, send, close } = await setup()
    await send({
      channelId: channel.id,
      to: '+55 11 98765-4321',
      type: 'template',
      template: { name: 'hello_world', language: 'en_US' },
    })
    const contacts = () =>
      t.db.db.selectFrom('contacts').select(['id', 'wa_id']).where('workspace_id', '=', ws).execute()
    expect((await contacts()).map((c) => c.wa_id)).toEqual(['551187654321'])
    // The customer answers from the number WhatsApp knows them by.
    await deliver(t, channel, inboundText(channel.phoneNumberId, 'Obrigado!', { from: '551187654321' }).body)
    expect(await contacts()).toHaveLength(1)
    const list = await (await t.request(`/api/v1/workspaces/${ws}/conversations`, call(owner.who, 'GET'))).json()
    expect(list.items).toHaveLength(1)
    const thread = await (
      await t.request(`/api/v1/workspaces/${ws}/conversations/${list.items[0].id}/messages`, call(owner.who, 'GET'))
    ).json()
    expect(thread.items.map((m: { direction: string }) => m.direction).sort()).toEqual(['in', 'out'])
    // Typed with the ninth digit again, the number finds the same contact: one person, one conversation.
    await send({
      channelId: channel.id,
      to: '+5511987654321',
      type: 'template',
      template: { name: 'hello_world', language: 'en_US' },
    })
    expect(await contacts()).toHaveLength(1)
    // A contact stored under the long form (imported, say) keeps it when another contact has WhatsApp's form.
    await deliver(t, channel, inboundText(channel.phoneNumberId, 'Oi', { from: '551187650001' }).body)
    const at = new Date(NOW).toISOString()
    await t.db.db
      .insertInto('contacts')
      .values({
        id: 'ct_imported',
        workspace_id: ws,
        wa_id: '5511987650001',
        bsuid: null,
        profile_name: null,
        username: null,
        name: 'Imported',
        labels: '[]',
        notes: '',
        opted_out: 0,
        opted_out_at: null,
        created_at: at,
        updated_at: at,
      })
      .execute()
    await send({
      channelId: channel.id,
      to: '5511987650001',
      type: 'template',
      template: { name: 'hello_world', language: 'en_US' },
    })
    expect((await contacts()).map((c) => c.wa_id).sort()).toEqual(['551187650001', '551187654321', '5511987650001'])
    await close()
  })

  test('delivered and read follow sent; a failure carries its code, reason and details; pricing by category is kept', async () => {
    const { t, channel, send, message, status, close } = await setup()
    graph.addTemplate({ name: 'spring_sale', language: 'en_US', category: 'MARKETING', bodyParams: 1 })
    const sale = await send({
      channelId: channel.id,
      to: '+4915112345678',
      type: 'template',
      template: {
        name: 'spring_sale',
        language: 'en_US',
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Pablo' }] }],
      },
    })
    await t.runtime.processor.drain()
    await status(sale, 'delivered')
    await status(sale, 'read')
    expect((await message(sale)).status).toBe('read')
    const statuses = await t.db.db
      .selectFrom('message_statuses')
      .select(['status', 'pricing'])
      .where('wamid', '=', (await message(sale)).wamid!)
      .orderBy('occurred_at')
      .execute()
    expect(statuses.map((s) => s.status).sort()).toEqual(['delivered', 'read', 'sent'])
    for (const s of statuses)
      expect(JSON.parse(s.pricing!)).toMatchObject({ category: 'marketing', billable: true, pricing_model: 'PMP' })

    const blocked = await send({
      channelId: channel.id,
      to: '+4915112345679',
      type: 'template',
      template: {
        name: 'spring_sale',
        language: 'en_US',
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }],
      },
    })
    await status(blocked, 'failed', 131049)
    expect(await message(blocked)).toMatchObject({
      status: 'failed',
      error_code: 131049,
      error_title: 'This message was not delivered to maintain healthy ecosystem engagement.',
      error_details: 'In order to maintain a healthy ecosystem engagement, the message failed to be delivered.',
    })
    await close()
  })

  test('a message held for quality assessment stays sent until Meta decides; then it fails with the reason', async () => {
    const { channel, send, message, status, close } = await setup()
    graph.holdForQuality('4915112345670')
    const held = await send({
      channelId: channel.id,
      to: '+4915112345670',
      type: 'template',
      template: { name: 'hello_world', language: 'en_US' },
    })
    expect(await message(held)).toMatchObject({ status: 'sent', wamid: expect.stringMatching(/^wamid\./) })
    await status(held, 'failed', 131026)
    expect(await message(held)).toMatchObject({ status: 'failed', error_code: 131026 })
    await close()
  })

  test("a registered template's parameter count and language are Meta's to check: the message fails with Meta's words", async () => {
    const { channel, send, message, close } = await setup()
    graph.addTemplate({ name: 'order_update', language: 'en_US', category: 'UTILITY', bodyParams: 2 })
    const short = await send({
      channelId: channel.id,
      to: '+4915112345678',
      type: 'template',
      template: {
        name: 'order_update',
        language: 'en_US',
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Pablo' }] }],
      },
    })
    expect(await message(short)).toMatchObject({
      status: 'failed',
      error_code: 132000,
      error_title: 'The template parameters do not match the template',
      error_details: expect.stringContaining('expected number of params (2)'),
    })
    const german = await send({
      channelId: channel.id,
      to: '+4915112345678',
      type: 'template',
      template: { name: 'order_update', language: 'de' },
    })
    expect(await message(german)).toMatchObject({ status: 'failed', error_code: 132001 })
    await close()
  })

  test('an upload Meta refuses for the file itself is a 422 with its details, not a gateway error', async () => {
    const { t, owner, ws, channel, close } = await setup()
    graph.failNext({
      path: new RegExp(`/${channel.phoneNumberId}/media$`),
      times: 1,
      status: 400,
      code: 131053,
      message: '(#131053) Media upload error',
      details: 'Audio files must be encoded with the OPUS codec.',
    })
    const form = new FormData()
    form.set('channelId', channel.id)
    form.set('file', new File([new Uint8Array([0x4f, 0x67, 0x67, 0x53])], 'voice.ogg', { type: 'audio/ogg' }))
    const res = await t.request(`/api/v1/workspaces/${ws}/media`, {
      method: 'POST',
      headers: owner.who.headers,
      body: form,
    })
    const problem = await res.json()
    expect({ status: res.status, code: problem.code }).toEqual({ status: 422, code: 'upload_refused' })
    expect(problem.errors).toEqual([{ field: 'file', message: 'Audio files must be encoded with the OPUS codec.' }])
    await close()
  })
})
