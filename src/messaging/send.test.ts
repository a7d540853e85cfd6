import { afterAll, describe, expect, test } from 'bun:test'
import { createTestApp, type TestApp } from '../testing/test-app.ts'
import { startGraphDouble } from '../testing/graph-double.ts'
import { waitUntil } from '../testing/wait.ts'
import {
  call,
  deliver,
  makeChannel,
  makeKey,
  makeUser,
  makeWorkspace,
  manualClock,
  type FixtureChannel,
  type FixtureUser,
} from '../testing/fixtures.ts'
import { inboundText } from '../testing/webhooks.ts'
import { Pacer } from '../channels/cloud/pacer.ts'
import { MAX_SEND_ATTEMPTS } from './sender.ts'
import { mostInAnyWindow } from '../testing/windows.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

const NOW = Date.parse('2025-06-08T21:00:00Z') // shortly after the fixtures' inbound messages (2025-06-08T20:59:43Z)

async function setup(
  opts: {
    clock?: ReturnType<typeof manualClock>
    config?: Parameters<typeof createTestApp>[0] extends infer O ? (O extends { config?: infer C } ? C : never) : never
  } = {},
) {
  const clock = opts.clock ?? manualClock(NOW)
  const t = await createTestApp({ graph, clock, config: opts.config })
  const owner = await makeUser(t, 'owner@example.com')
  const ws = await makeWorkspace(t, 'Acme', owner)
  const channel = await makeChannel(t, ws, graph)
  // The customer wrote first: the 24-hour window is open.
  const inbound = inboundText(channel.phoneNumberId, 'Hi, is my order ready?', {
    from: '4915112345678',
    timestamp: 1749416383,
  })
  await deliver(t, channel, inbound.body)
  const conversation = await t.db.db.selectFrom('conversations').selectAll().executeTakeFirstOrThrow()
  const inboundMessage = await t.db.db
    .selectFrom('messages')
    .selectAll()
    .where('wamid', '=', inbound.id)
    .executeTakeFirstOrThrow()
  return {
    t,
    clock,
    owner,
    ws,
    channel,
    conversationId: conversation.id,
    inboundWamid: inbound.id,
    inboundMessageId: inboundMessage.id,
  }
}

const send = (
  t: TestApp,
  who: FixtureUser | { who: { headers: Record<string, string> } },
  ws: string,
  body: unknown,
  headers: Record<string, string> = {},
) => t.request(`/api/v1/workspaces/${ws}/messages`, call(who.who, 'POST', body, headers))

const callsTo = (channel: FixtureChannel) =>
  graph.calls.filter((c) => c.method === 'POST' && c.path === `/v24.0/${channel.phoneNumberId}/messages`)
const lastBody = (channel: FixtureChannel) => JSON.parse(callsTo(channel).at(-1)!.body)

describe('sending each message type', () => {
  test('the exact Graph request body, and the message row it leaves', async () => {
    const { t, clock, owner, ws, channel, conversationId, inboundWamid, inboundMessageId } = await setup()
    const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
      [
        'text',
        { type: 'text', text: { body: 'Yes! Ready for pickup https://acme.example/o/1', previewUrl: true } },
        { type: 'text', text: { body: 'Yes! Ready for pickup https://acme.example/o/1', preview_url: true } },
      ],
      [
        'reply',
        { type: 'text', text: { body: 'Quoting you' }, replyTo: inboundMessageId },
        { type: 'text', text: { body: 'Quoting you' }, context: { message_id: inboundWamid } },
      ],
      [
        'template',
        {
          type: 'template',
          template: {
            name: 'order_confirmation',
            language: 'en_US',
            components: [
              {
                type: 'header',
                parameters: [
                  { type: 'document', link: 'https://example.com/invoice-860198.pdf', filename: 'invoice.pdf' },
                ],
              },
              {
                type: 'body',
                parameters: [
                  { type: 'text', text: 'Pablo' },
                  { type: 'currency', fallbackValue: '$100.99', code: 'USD', amount1000: 100990 },
                ],
              },
              {
                type: 'button',
                subType: 'quick_reply',
                index: 0,
                parameters: [{ type: 'payload', payload: 'STOP_UPDATES' }],
              },
            ],
          },
        },
        {
          type: 'template',
          template: {
            name: 'order_confirmation',
            language: { code: 'en_US' },
            components: [
              {
                type: 'header',
                parameters: [
                  {
                    type: 'document',
                    document: { link: 'https://example.com/invoice-860198.pdf', filename: 'invoice.pdf' },
                  },
                ],
              },
              {
                type: 'body',
                parameters: [
                  { type: 'text', text: 'Pablo' },
                  { type: 'currency', currency: { fallback_value: '$100.99', code: 'USD', amount_1000: 100990 } },
                ],
              },
              {
                type: 'button',
                sub_type: 'quick_reply',
                index: '0',
                parameters: [{ type: 'payload', payload: 'STOP_UPDATES' }],
              },
            ],
          },
        },
      ],
      [
        'image by id',
        { type: 'image', image: { mediaId: '1013859600285441', caption: 'The best succulent ever?' } },
        { type: 'image', image: { id: '1013859600285441', caption: 'The best succulent ever?' } },
      ],
      [
        'document by link',
        {
          type: 'document',
          document: { link: 'https://example.com/files/report.pdf', filename: 'report.pdf', caption: 'Q3 report' },
        },
        {
          type: 'document',
          document: { link: 'https://example.com/files/report.pdf', caption: 'Q3 report', filename: 'report.pdf' },
        },
      ],
      ['audio', { type: 'audio', audio: { mediaId: '77001' } }, { type: 'audio', audio: { id: '77001' } }],
      [
        'video',
        { type: 'video', video: { link: 'https://example.com/v.mp4', caption: 'clip' } },
        { type: 'video', video: { link: 'https://example.com/v.mp4', caption: 'clip' } },
      ],
      ['sticker', { type: 'sticker', sticker: { mediaId: '77002' } }, { type: 'sticker', sticker: { id: '77002' } }],
      [
        'location',
        {
          type: 'location',
          location: { latitude: 37.4611978, longitude: -122.2164385, name: 'Facebook HQ', address: '1 Hacker Way' },
        },
        {
          type: 'location',
          location: { latitude: 37.4611978, longitude: -122.2164385, name: 'Facebook HQ', address: '1 Hacker Way' },
        },
      ],
      [
        'buttons',
        {
          type: 'interactive',
          interactive: {
            type: 'button',
            header: { type: 'text', text: 'Delivery' },
            body: { text: 'Confirm delivery for tomorrow?' },
            footer: { text: 'Reply to choose' },
            buttons: [
              { id: 'confirm_yes', title: 'Yes' },
              { id: 'confirm_no', title: 'No' },
            ],
          },
        },
        {
          type: 'interactive',
          interactive: {
            type: 'button',
            header: { type: 'text', text: 'Delivery' },
            body: { text: 'Confirm delivery for tomorrow?' },
            footer: { text: 'Reply to choose' },
            action: {
              buttons: [
                { type: 'reply', reply: { id: 'confirm_yes', title: 'Yes' } },
                { type: 'reply', reply: { id: 'confirm_no', title: 'No' } },
              ],
            },
          },
        },
      ],
      [
        'list',
        {
          type: 'interactive',
          interactive: {
            type: 'list',
            body: { text: 'Choose a shipping option' },
            button: 'Options',
            sections: [
              {
                title: 'Speed',
                rows: [
                  { id: 'ship_std', title: 'Standard', description: '3-5 business days' },
                  { id: 'ship_exp', title: 'Express' },
                ],
              },
            ],
          },
        },
        {
          type: 'interactive',
          interactive: {
            type: 'list',
            body: { text: 'Choose a shipping option' },
            action: {
              button: 'Options',
              sections: [
                {
                  title: 'Speed',
                  rows: [
                    { id: 'ship_std', title: 'Standard', description: '3-5 business days' },
                    { id: 'ship_exp', title: 'Express' },
                  ],
                },
              ],
            },
          },
        },
      ],
      [
        'reaction',
        { type: 'reaction', reaction: { messageId: inboundWamid, emoji: '👍' } },
        { type: 'reaction', reaction: { message_id: inboundWamid, emoji: '👍' } },
      ],
      [
        'reaction removed',
        { type: 'reaction', reaction: { messageId: inboundMessageId, emoji: '' } },
        { type: 'reaction', reaction: { message_id: inboundWamid, emoji: '' } },
      ],
    ]
    for (const [name, input, expected] of cases) {
      const res = await send(t, owner, ws, { conversationId, ...input })
      expect({ name, status: res.status }).toEqual({ name, status: 202 })
      const queued = await res.json()
      expect(queued).toEqual({ id: expect.stringMatching(/^msg_/), conversationId, status: 'queued' })
      clock.advance(50) // the pace spreads sends: a few per 50 ms
      await t.runtime.sender.drain()
      expect({ name, body: lastBody(channel) }).toEqual({
        name,
        body: {
          messaging_product: 'whatsapp',
          recipient_type: 'individual',
          to: '4915112345678',
          biz_opaque_callback_data: `wabox:${queued.id}`,
          ...expected,
        },
      })
      const row = await t.db.db.selectFrom('messages').selectAll().where('id', '=', queued.id).executeTakeFirstOrThrow()
      expect({
        name,
        direction: row.direction,
        type: row.type,
        status: row.status,
        wamid: row.wamid?.startsWith('wamid.'),
      }).toEqual({ name, direction: 'out', type: input.type as string, status: 'sent', wamid: true })
    }
    // They appear in the conversation at once.
    const messages = await (
      await t.request(
        `/api/v1/workspaces/${ws}/conversations/${conversationId}/messages?limit=100`,
        call(owner.who, 'GET'),
      )
    ).json()
    expect(messages.items.filter((m: { direction: string }) => m.direction === 'out')).toHaveLength(cases.length)
  })

  test('to a new number through a channel: a template opens the conversation', async () => {
    const { t, owner, ws, channel } = await setup()
    const res = await send(t, owner, ws, {
      channelId: channel.id,
      to: '+44 20 7946 0958',
      type: 'template',
      template: { name: 'hello_world', language: 'en_US' },
    })
    expect(res.status).toBe(202)
    await t.runtime.sender.drain()
    expect(lastBody(channel)).toMatchObject({
      to: '442079460958',
      type: 'template',
      template: { name: 'hello_world', language: { code: 'en_US' } },
    })
    const contact = await t.db.db
      .selectFrom('contacts')
      .selectAll()
      .where('wa_id', '=', '442079460958')
      .executeTakeFirstOrThrow()
    expect(contact.workspace_id).toBe(ws)
    // Free-form to that number is refused: they never wrote.
    const text = await send(t, owner, ws, {
      channelId: channel.id,
      to: '442079460958',
      type: 'text',
      text: { body: 'hi' },
    })
    expect(text.status).toBe(422)
    expect((await text.json()).code).toBe('outside_service_window')
  })
})

describe('rules before queuing', () => {
  test('field errors for invalid messages; nothing queued', async () => {
    const { t, owner, ws, conversationId } = await setup()
    const cases: [Record<string, unknown>, string][] = [
      [{ type: 'text', text: { body: 'x'.repeat(4097) } }, 'text.body'],
      [{ type: 'text', text: { body: '' } }, 'text.body'],
      [{ type: 'image', image: { caption: 'no media' } }, 'image.mediaId'],
      [{ type: 'image', image: { mediaId: '1', link: 'https://x.example/a.jpg' } }, 'image.mediaId'],
      [{ type: 'image', image: { link: 'http://insecure.example/a.jpg' } }, 'image.link'],
      [{ type: 'audio', audio: { mediaId: '1', caption: 'no captions on audio' } }, 'audio.caption'],
      [{ type: 'location', location: { latitude: 91, longitude: 0 } }, 'location.latitude'],
      [
        {
          type: 'interactive',
          interactive: {
            type: 'button',
            body: { text: 'b' },
            buttons: [
              { id: 'a', title: 'x' },
              { id: 'b', title: 'x' },
            ],
          },
        },
        'interactive.buttons',
      ],
      [
        {
          type: 'interactive',
          interactive: {
            type: 'button',
            body: { text: 'b' },
            buttons: [1, 2, 3, 4].map((i) => ({ id: `b${i}`, title: `t${i}` })),
          },
        },
        'interactive.buttons',
      ],
      [
        {
          type: 'interactive',
          interactive: {
            type: 'button',
            body: { text: 'b' },
            buttons: [{ id: 'a', title: 'this title is far too long' }],
          },
        },
        'interactive.buttons.0.title',
      ],
      [
        {
          type: 'interactive',
          interactive: {
            type: 'list',
            body: { text: 'b' },
            button: 'Go',
            sections: [{ title: 'A', rows: Array.from({ length: 11 }, (_, i) => ({ id: `r${i}`, title: 'x' })) }],
          },
        },
        'interactive.sections',
      ],
      [
        {
          type: 'interactive',
          interactive: {
            type: 'list',
            body: { text: 'b' },
            button: 'Go',
            sections: [{ rows: [{ id: 'a', title: 'x' }] }, { rows: [{ id: 'b', title: 'y' }] }],
          },
        },
        'interactive.sections',
      ],
      [{ type: 'template', template: { name: 'Bad Name', language: 'en_US' } }, 'template.name'],
      [{ type: 'template', template: { name: 'ok', language: 'english' } }, 'template.language'],
      [
        {
          type: 'template',
          template: { name: 'ok', language: 'en', components: [{ type: 'button', parameters: [] }] },
        },
        'template.components.0.subType',
      ],
      [{ type: 'telepathy' }, 'type'],
    ]
    for (const [input, field] of cases) {
      const res = await send(t, owner, ws, { conversationId, ...input })
      const body = await res.json()
      expect({ field, status: res.status }).toEqual({ field, status: 422 })
      expect({ field, fields: body.errors.map((e: { field: string }) => e.field) }).toEqual({
        field,
        fields: expect.arrayContaining([field]),
      })
    }
    const noRecipient = await send(t, owner, ws, { type: 'text', text: { body: 'to whom?' } })
    expect(noRecipient.status).toBe(422)
    expect((await t.db.db.selectFrom('outbox').selectAll().execute()).length).toBe(0)
  })

  test('24-hour window, opt-out, unavailable channel, foreign ids', async () => {
    const clock = manualClock(NOW)
    const { t, owner, ws, channel, conversationId } = await setup({ clock })
    expect((await send(t, owner, ws, { conversationId, type: 'text', text: { body: 'in the window' } })).status).toBe(
      202,
    )
    clock.advance(24 * 3600_000)
    const late = await send(t, owner, ws, { conversationId, type: 'text', text: { body: 'too late' } })
    expect(late.status).toBe(422)
    expect((await late.json()).detail).toContain('template')
    expect(
      (await send(t, owner, ws, { conversationId, type: 'template', template: { name: 'follow_up', language: 'en' } }))
        .status,
    ).toBe(202)

    const contact = await t.db.db.selectFrom('contacts').selectAll().executeTakeFirstOrThrow()
    await t.request(`/api/v1/workspaces/${ws}/contacts/${contact.id}`, call(owner.who, 'PATCH', { optedOut: true }))
    const optedOut = await send(t, owner, ws, {
      conversationId,
      type: 'template',
      template: { name: 'follow_up', language: 'en' },
    })
    expect(optedOut.status).toBe(422)
    expect((await optedOut.json()).code).toBe('contact_opted_out')
    await t.request(`/api/v1/workspaces/${ws}/contacts/${contact.id}`, call(owner.who, 'PATCH', { optedOut: false }))

    await t.db.db.updateTable('channels').set({ status: 'needs_reauth' }).where('id', '=', channel.id).execute()
    const reauth = await send(t, owner, ws, {
      conversationId,
      type: 'template',
      template: { name: 'follow_up', language: 'en' },
    })
    expect(reauth.status).toBe(409)
    expect((await reauth.json()).code).toBe('channel_unavailable')
    await t.db.db.updateTable('channels').set({ status: 'active' }).where('id', '=', channel.id).execute()

    expect(
      (
        await send(t, owner, ws, {
          conversationId: 'cv_nope',
          type: 'template',
          template: { name: 'x', language: 'en' },
        })
      ).status,
    ).toBe(404)
    expect(
      (
        await send(t, owner, ws, {
          channelId: 'ch_nope',
          to: '4915112345678',
          type: 'template',
          template: { name: 'x', language: 'en' },
        })
      ).status,
    ).toBe(404)
    const badReply = await send(t, owner, ws, {
      conversationId,
      type: 'template',
      template: { name: 'x', language: 'en' },
      replyTo: 'msg_not_here',
    })
    expect(badReply.status).toBe(422)
  })

  test("another workspace's key cannot send through this workspace's conversation or channel", async () => {
    const { t, ws, channel, conversationId } = await setup()
    const ownerB = await makeUser(t, 'owner@b.example')
    const wsB = await makeWorkspace(t, 'B', ownerB)
    const keyB = await makeKey(t, wsB, ownerB, 'agent')
    for (const body of [
      { conversationId, type: 'template', template: { name: 'x', language: 'en' } },
      { channelId: channel.id, to: '4915112345678', type: 'template', template: { name: 'x', language: 'en' } },
    ]) {
      expect((await t.request(`/api/v1/workspaces/${wsB}/messages`, call(keyB.who, 'POST', body))).status).toBe(404)
      expect((await t.request(`/api/v1/workspaces/${ws}/messages`, call(keyB.who, 'POST', body))).status).toBe(404)
    }
    expect(callsTo(channel)).toHaveLength(0)
  })
})

describe('Idempotency-Key', () => {
  test('a replay answers the same and sends once; another body with the key is refused; concurrent duplicates send once', async () => {
    const { t, owner, ws, channel, conversationId } = await setup()
    const body = { conversationId, type: 'text', text: { body: 'exactly once' } }
    const first = await send(t, owner, ws, body, { 'idempotency-key': 'order-1234-confirmation' })
    const again = await send(t, owner, ws, body, { 'idempotency-key': 'order-1234-confirmation' })
    expect(first.status).toBe(202)
    expect(again.status).toBe(202)
    expect(await again.json()).toEqual(await first.json())
    const other = await send(
      t,
      owner,
      ws,
      { ...body, text: { body: 'something else' } },
      { 'idempotency-key': 'order-1234-confirmation' },
    )
    expect(other.status).toBe(422)
    expect((await other.json()).code).toBe('idempotency_key_reused')
    const burst = await Promise.all(
      Array.from({ length: 8 }, () =>
        send(t, owner, ws, { ...body, text: { body: 'burst' } }, { 'idempotency-key': 'burst-1' }),
      ),
    )
    expect(new Set(await Promise.all(burst.map(async (r) => (await r.json()).id))).size).toBe(1)
    await t.runtime.sender.drain()
    expect(callsTo(channel)).toHaveLength(2)
    const bad = await send(t, owner, ws, body, { 'idempotency-key': 'has spaces in it' })
    expect(bad.status).toBe(400)
  })
})

describe('retries and failures (reference §3.10)', () => {
  test('130429 twice, then accepted → one message, sent, after three calls', async () => {
    const clock = manualClock(NOW)
    const { t, owner, ws, channel, conversationId } = await setup({ clock })
    graph.failNext({
      path: new RegExp(`/${channel.phoneNumberId}/messages$`),
      times: 2,
      status: 429,
      code: 130429,
      message: '(#130429) Rate limit hit',
    })
    const { id } = await (await send(t, owner, ws, { conversationId, type: 'text', text: { body: 'busy day' } })).json()
    for (let i = 0; i < 3; i++) {
      await t.runtime.sender.drain()
      const row = await t.db.db.selectFrom('outbox').selectAll().where('message_id', '=', id).executeTakeFirstOrThrow()
      if (row.state === 'queued') clock.set(Date.parse(row.next_attempt_at))
    }
    expect(callsTo(channel)).toHaveLength(3)
    expect(
      await t.db.db
        .selectFrom('messages')
        .select(['status', 'error_code'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow(),
    ).toEqual({ status: 'sent', error_code: null })
  })

  test('131047 fails at once with the reason; 190 fails and marks the channel needs_reauth', async () => {
    const { t, owner, ws, channel, conversationId } = await setup()
    graph.failNext({
      path: new RegExp(`/${channel.phoneNumberId}/messages$`),
      times: 1,
      status: 400,
      code: 131047,
      message: 'Re-engagement message',
    })
    const a = await (await send(t, owner, ws, { conversationId, type: 'text', text: { body: 'late reply' } })).json()
    await t.runtime.sender.drain()
    expect(
      await t.db.db
        .selectFrom('messages')
        .select(['status', 'error_code', 'error_title'])
        .where('id', '=', a.id)
        .executeTakeFirstOrThrow(),
    ).toEqual({
      status: 'failed',
      error_code: 131047,
      error_title: 'More than 24 hours have passed since the customer last wrote: send a template',
    })
    expect(callsTo(channel)).toHaveLength(1)

    graph.failNext({
      path: new RegExp(`/${channel.phoneNumberId}/messages$`),
      times: 1,
      status: 401,
      code: 190,
      message: 'Invalid OAuth access token',
    })
    const b = await (await send(t, owner, ws, { conversationId, type: 'text', text: { body: 'token gone' } })).json()
    await t.runtime.sender.drain()
    expect(
      await t.db.db
        .selectFrom('messages')
        .select(['status', 'error_code'])
        .where('id', '=', b.id)
        .executeTakeFirstOrThrow(),
    ).toEqual({ status: 'failed', error_code: 190 })
    const view = await (
      await t.request(`/api/v1/workspaces/${ws}/channels/${channel.id}`, call(owner.who, 'GET'))
    ).json()
    expect(view.status).toBe('needs_reauth')
  })

  test("Meta's code decides, not the HTTP status: a 5xx with a permanent code fails at once; lost permissions warn like a dead token", async () => {
    // cloud-api-2026.md: "Error code 3 (capability/permission) comes back as HTTP 500 … Codes 10 and 200–299 mean
    // a permission was removed." Unknown codes on a 5xx are Meta's trouble, and worth another try.
    const cases = [
      { status: 500, code: 3, calls: 1, result: 'failed', channel: 'needs_reauth' },
      { status: 403, code: 10, calls: 1, result: 'failed', channel: 'needs_reauth' },
      { status: 403, code: 200, calls: 1, result: 'failed', channel: 'needs_reauth' },
      { status: 500, code: 100, calls: 1, result: 'failed', channel: 'active' },
      { status: 500, code: 131026, calls: 1, result: 'failed', channel: 'active' },
      { status: 502, code: 368, calls: 1, result: 'failed', channel: 'active' },
      { status: 503, code: 133004, calls: 2, result: 'sent', channel: 'active' },
      { status: 500, code: 99_999, calls: 2, result: 'sent', channel: 'active' },
    ] as const
    for (const c of cases) {
      const clock = manualClock(NOW)
      const { t, owner, ws, channel, conversationId } = await setup({ clock })
      graph.failNext({
        path: new RegExp(`/${channel.phoneNumberId}/messages$`),
        times: 1,
        status: c.status,
        code: c.code,
        message: `(#${c.code}) refused`,
      })
      const { id } = await (await send(t, owner, ws, { conversationId, type: 'text', text: { body: 'hello' } })).json()
      for (let i = 0; i < 3; i++) {
        await t.runtime.sender.drain()
        const row = await t.db.db
          .selectFrom('outbox')
          .selectAll()
          .where('message_id', '=', id)
          .executeTakeFirstOrThrow()
        if (row.state === 'queued') clock.set(Date.parse(row.next_attempt_at))
      }
      const message = await t.db.db
        .selectFrom('messages')
        .select(['status', 'error_title'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      const view = await (
        await t.request(`/api/v1/workspaces/${ws}/channels/${channel.id}`, call(owner.who, 'GET'))
      ).json()
      expect({ ...c, calls: callsTo(channel).length, result: message.status, channel: view.status }).toEqual(c)
      if (c.channel === 'needs_reauth') {
        expect(message.error_title).toContain('grant it again in Meta')
        const events = await t.db.db.selectFrom('events').selectAll().where('type', '=', 'channel.status').execute()
        expect(events.map((e) => JSON.parse(e.data).reason).at(-1)).toContain(
          `permission the app needs (code ${c.code})`,
        )
      }
      await t.close()
    }
  })

  test('a timeout is retried; after the last attempt the message fails', async () => {
    const clock = manualClock(NOW)
    const { t, owner, ws, channel, conversationId } = await setup({ clock, config: { graphTimeout: 100 } })
    // No answer until the sender has given up on it (graphTimeout) and recorded the attempt.
    const attempted = () => t.db.db.selectFrom('outbox').select('attempts').where('attempts', '=', 1).executeTakeFirst()
    graph.failNext({
      path: new RegExp(`/${channel.phoneNumberId}/messages$`),
      times: 1,
      holdUntil: () => waitUntil('the attempt to time out', attempted),
    })
    const a = await (await send(t, owner, ws, { conversationId, type: 'text', text: { body: 'slow network' } })).json()
    await t.runtime.sender.drain()
    let row = await t.db.db.selectFrom('outbox').selectAll().where('message_id', '=', a.id).executeTakeFirstOrThrow()
    expect(row).toMatchObject({ state: 'queued', attempts: 1 })
    clock.set(Date.parse(row.next_attempt_at))
    await t.runtime.sender.drain()
    expect(
      (await t.db.db.selectFrom('messages').select('status').where('id', '=', a.id).executeTakeFirstOrThrow()).status,
    ).toBe('sent')

    graph.failNext({
      path: new RegExp(`/${channel.phoneNumberId}/messages$`),
      times: MAX_SEND_ATTEMPTS,
      status: 503,
      code: 2,
      message: 'Service temporarily unavailable',
    })
    const b = await (await send(t, owner, ws, { conversationId, type: 'text', text: { body: 'never' } })).json()
    for (let i = 0; i < MAX_SEND_ATTEMPTS; i++) {
      await t.runtime.sender.drain()
      row = await t.db.db.selectFrom('outbox').selectAll().where('message_id', '=', b.id).executeTakeFirstOrThrow()
      if (row.state === 'queued') clock.set(Date.parse(row.next_attempt_at))
    }
    expect(row.state).toBe('failed')
    expect(
      await t.db.db
        .selectFrom('messages')
        .select(['status', 'error_code'])
        .where('id', '=', b.id)
        .executeTakeFirstOrThrow(),
    ).toEqual({ status: 'failed', error_code: 2 })
  })

  test('a pair-rate refusal (131056) delays that recipient only', async () => {
    const clock = manualClock(NOW)
    const { t, owner, ws, channel, conversationId } = await setup({ clock })
    // A second customer who also wrote.
    await deliver(
      t,
      channel,
      inboundText(channel.phoneNumberId, 'me too', { from: '4915199999999', timestamp: 1749416383 }).body,
    )
    graph.failNext({
      path: new RegExp(`/${channel.phoneNumberId}/messages$`),
      times: 1,
      status: 400,
      code: 131056,
      message: 'pair rate limit hit',
    })
    await send(t, owner, ws, { conversationId, type: 'text', text: { body: 'first to A' } })
    await t.runtime.sender.drain()
    await send(t, owner, ws, { conversationId, type: 'text', text: { body: 'second to A' } })
    await send(t, owner, ws, { channelId: channel.id, to: '4915199999999', type: 'text', text: { body: 'to B' } })
    await t.runtime.sender.drain()
    expect(callsTo(channel).map((c) => JSON.parse(c.body).text.body)).toEqual(['first to A', 'to B'])
    clock.advance(1100)
    await t.runtime.sender.drain()
    expect(
      callsTo(channel)
        .map((c) => JSON.parse(c.body).text.body)
        .sort(),
    ).toEqual(['first to A', 'first to A', 'second to A', 'to B'])
  })
})

describe('pacing', () => {
  test('1,000 queued messages at 80/s never exceed 80 sends in any second; two channels pace independently', async () => {
    const clock = manualClock(NOW)
    const { t, owner, ws, channel, conversationId } = await setup({ clock })
    const second = await makeChannel(t, ws, graph)
    const rate = await t.request(
      `/api/v1/workspaces/${ws}/channels/${second.id}`,
      call(owner.who, 'PATCH', { sendRate: 40 }),
    )
    expect((await rate.json()).sendRate).toBe(40)
    expect(
      (await t.request(`/api/v1/workspaces/${ws}/channels/${second.id}`, call(owner.who, 'PATCH', { sendRate: 5000 })))
        .status,
    ).toBe(422)
    await deliver(
      t,
      second,
      inboundText(second.phoneNumberId, 'hello', { from: '4915100000001', timestamp: 1749416383 }).body,
    )
    const secondConversation = (
      await t.db.db
        .selectFrom('conversations')
        .selectAll()
        .where('channel_id', '=', second.id)
        .executeTakeFirstOrThrow()
    ).id
    // Queued through the API, to many recipients (one message per person is in flight at a time): 1000 on
    // the first channel and 200 on the second.
    const template = (i: number) => ({
      type: 'template',
      template: {
        name: 'bulk_notice',
        language: 'en',
        components: [{ type: 'body', parameters: [{ type: 'text', text: `n${i}` }] }],
      },
    })
    const sendsAt: Record<string, number[]> = { [channel.phoneNumberId]: [], [second.phoneNumberId]: [] }
    let seen = graph.calls.length
    const record = () => {
      for (const c of graph.calls.slice(seen)) {
        const phone = c.path.split('/')[2]!
        if (c.method === 'POST' && sendsAt[phone]) sendsAt[phone]!.push(clock.now())
      }
      seen = graph.calls.length
    }
    // The sender already starts while they are being queued (at the queuing instant of the clock).
    for (let i = 0; i < 1000; i++)
      await send(t, owner, ws, { channelId: channel.id, to: `49160${String(i).padStart(6, '0')}`, ...template(i) })
    for (let i = 0; i < 200; i++)
      await send(t, owner, ws, { channelId: second.id, to: `49170${String(i).padStart(6, '0')}`, ...template(i) })
    expect(conversationId).toBeTruthy()
    expect(secondConversation).toBeTruthy()
    for (let tick = 0; tick < 600; tick++) {
      await t.runtime.sender.drain()
      record()
      clock.advance(50)
    }
    expect(sendsAt[channel.phoneNumberId]).toHaveLength(1000)
    expect(sendsAt[second.phoneNumberId]).toHaveLength(200)
    const first = mostInAnyWindow(sendsAt[channel.phoneNumberId]!)
    const slow = mostInAnyWindow(sendsAt[second.phoneNumberId]!)
    // Held at the rate: never above it, and using it.
    expect(first).toBe(80)
    expect(slow).toBe(40)
    // 1000 at 80/s take ~12.5 s of clock time, the 200 at 40/s ~5 s: they did not wait for each other.
    expect(sendsAt[second.phoneNumberId]!.at(-1)! - NOW).toBeLessThan(6000)
    expect(sendsAt[channel.phoneNumberId]!.at(-1)! - NOW).toBeLessThan(13_500)
  })
})

describe('read receipts', () => {
  test('marking a conversation read sends a read receipt for the last inbound message', async () => {
    const { t, owner, ws, channel, conversationId, inboundWamid } = await setup()
    const res = await t.request(
      `/api/v1/workspaces/${ws}/conversations/${conversationId}/read`,
      call(owner.who, 'POST'),
    )
    expect(await res.json()).toMatchObject({ unreadCount: 0, readReceipt: 'sent' })
    expect(JSON.parse(callsTo(channel).at(-1)!.body)).toEqual({
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: inboundWamid,
    })
  })
})

describe('media uploads', () => {
  test('an upload goes to Meta through the channel and its id sends; wrong types and sizes are refused first', async () => {
    const { t, owner, ws, channel, conversationId } = await setup()
    const upload = (file: File, channelId = channel.id) => {
      const form = new FormData()
      form.set('channelId', channelId)
      form.set('file', file)
      return t.request(`/api/v1/workspaces/${ws}/media`, { method: 'POST', headers: owner.who.headers, body: form })
    }
    const res = await upload(
      new File([new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3])], 'photo.jpg', { type: 'image/jpeg' }),
    )
    expect(res.status).toBe(201)
    const uploaded = await res.json()
    const mediaId: string = uploaded.mediaId
    expect(mediaId).toMatch(/^\d+$/)
    expect(uploaded).toEqual({ mediaId, kind: 'image', mimeType: 'image/jpeg', size: 6, channelId: channel.id })
    const call0 = graph.calls.filter((c) => c.path === `/v24.0/${channel.phoneNumberId}/media`)
    expect(call0).toHaveLength(1)
    expect(call0[0]!.authorization).toBe(`Bearer ${channel.accessToken}`)

    const sent = await send(t, owner, ws, { conversationId, type: 'image', image: { mediaId, caption: 'here' } })
    expect({ status: sent.status, body: sent.status === 202 ? null : await sent.json() }).toEqual({
      status: 202,
      body: null,
    })
    await t.runtime.sender.drain()
    expect(lastBody(channel).image).toEqual({ id: mediaId, caption: 'here' })

    const exe = await upload(new File([new Uint8Array([0x4d, 0x5a])], 'tool.exe', { type: 'application/x-msdownload' }))
    expect(exe.status).toBe(415)
    expect((await exe.json()).errors[0].field).toBe('file')
    const huge = await upload(new File([new Uint8Array(5_000_001)], 'big.png', { type: 'image/png' }))
    expect(huge.status).toBe(413)
    expect((await upload(new File([new Uint8Array([1])], 'a.jpg', { type: 'image/jpeg' }), 'ch_other')).status).toBe(
      404,
    )
    const noFile = await t.request(`/api/v1/workspaces/${ws}/media`, {
      method: 'POST',
      headers: owner.who.headers,
      body: (() => {
        const f = new FormData()
        f.set('channelId', channel.id)
        return f
      })(),
    })
    expect(noFile.status).toBe(422)
    expect(graph.calls.filter((c) => c.path === `/v24.0/${channel.phoneNumberId}/media`)).toHaveLength(1)
  })
})

describe('review fixes', () => {
  test('a status webhook that links a send while it is failing in flight wins: no second send', async () => {
    const { t, owner, ws, channel, conversationId } = await setup()
    let statusDelivered!: () => void
    const delivered = new Promise<void>((r) => (statusDelivered = r))
    // Meta's 502 answer comes only after its status webhook has linked the message.
    graph.failNext({
      path: new RegExp(`/${channel.phoneNumberId}/messages$`),
      times: 1,
      holdUntil: () => delivered,
      status: 502,
      code: 1,
      message: 'An unknown error occurred',
    })
    const { id } = await (
      await send(t, owner, ws, { conversationId, type: 'text', text: { body: 'lost answer' } })
    ).json()
    const sending = t.runtime.sender.drain()
    await waitUntil('the send to reach Meta', () => callsTo(channel).length === 1)
    // Meta accepted it after all and says so in a status webhook carrying our marker.
    const { statusUpdate } = await import('../testing/webhooks.ts')
    const body = statusUpdate(channel.phoneNumberId, 'wamid.LINKED123=', 'sent') as unknown as {
      entry: { changes: { value: { statuses: Record<string, unknown>[] } }[] }[]
    }
    body.entry[0]!.changes[0]!.value.statuses[0]!.biz_opaque_callback_data = `wabox:${id}`
    await deliver(t, channel, body)
    statusDelivered()
    await sending
    await t.runtime.sender.drain()
    const row = await t.db.db.selectFrom('outbox').selectAll().where('message_id', '=', id).executeTakeFirstOrThrow()
    expect(row.state).toBe('sent')
    expect(
      await t.db.db.selectFrom('messages').select(['wamid', 'status']).where('id', '=', id).executeTakeFirstOrThrow(),
    ).toEqual({ wamid: 'wamid.LINKED123=', status: 'sent' })
    expect(callsTo(channel)).toHaveLength(1)
  })

  test("the caller's callbackData stays with the message; Meta gets wabox's marker; 512 bytes at most", async () => {
    const { t, owner, ws, channel, conversationId } = await setup()
    const { id } = await (
      await send(t, owner, ws, { conversationId, type: 'text', text: { body: 'x' }, callbackData: 'order-77' })
    ).json()
    await t.runtime.sender.drain()
    expect(lastBody(channel).biz_opaque_callback_data).toBe(`wabox:${id}`)
    const row = await t.db.db.selectFrom('messages').select('content').where('id', '=', id).executeTakeFirstOrThrow()
    expect(JSON.parse(row.content).callbackData).toBe('order-77')
    const long = await send(t, owner, ws, {
      conversationId,
      type: 'text',
      text: { body: 'x' },
      callbackData: 'é'.repeat(257),
    })
    expect(long.status).toBe(422)
  })

  test('two first messages to a new number at once: both queued, one contact, one conversation', async () => {
    const { t, owner, ws, channel } = await setup()
    const body = {
      channelId: channel.id,
      to: '4917612345678',
      type: 'template',
      template: { name: 'hello', language: 'en' },
    }
    const results = await Promise.all([send(t, owner, ws, body), send(t, owner, ws, body), send(t, owner, ws, body)])
    expect(results.map((r) => r.status)).toEqual([202, 202, 202])
    expect(
      await t.db.db.selectFrom('contacts').selectAll().where('wa_id', '=', '4917612345678').execute(),
    ).toHaveLength(1)
    const contact = await t.db.db
      .selectFrom('contacts')
      .selectAll()
      .where('wa_id', '=', '4917612345678')
      .executeTakeFirstOrThrow()
    expect(
      await t.db.db.selectFrom('conversations').selectAll().where('contact_id', '=', contact.id).execute(),
    ).toHaveLength(1)
  })

  test('a slow number does not hold up another', async () => {
    const { t, owner, ws, channel, conversationId } = await setup({ clock: undefined })
    const other = await makeChannel(t, ws, graph)
    // The slow number's answer waits until the other number's send has gone out (or 3 s, were it held up).
    graph.failNext({
      path: new RegExp(`/${channel.phoneNumberId}/messages$`),
      times: 1,
      holdUntil: () => waitUntil('the other number to be sent to', () => callsTo(other).length > 0, 3_000),
    })
    await send(t, owner, ws, { conversationId, type: 'template', template: { name: 'slow', language: 'en' } })
    await send(t, owner, ws, {
      channelId: other.id,
      to: '4917699999999',
      type: 'template',
      template: { name: 'fast', language: 'en' },
    })
    const started = Date.now()
    const draining = t.runtime.sender.drain()
    while (callsTo(other).length === 0 && Date.now() - started < 3000) await Bun.sleep(10)
    expect(Date.now() - started).toBeLessThan(1000)
    await draining
  })

  test('reactions take one emoji; blank text and misplaced template fields are refused', async () => {
    const { t, owner, ws, conversationId, inboundWamid } = await setup()
    for (const [body, field] of [
      [{ type: 'reaction', reaction: { messageId: inboundWamid, emoji: 'ok' } }, 'reaction.emoji'],
      [{ type: 'reaction', reaction: { messageId: inboundWamid, emoji: '👍👍' } }, 'reaction.emoji'],
      [{ type: 'text', text: { body: '   ' } }, 'text.body'],
      [
        {
          type: 'template',
          template: {
            name: 'x',
            language: 'en',
            components: [{ type: 'body', subType: 'url', index: 0, parameters: [] }],
          },
        },
        'template.components.0.subType',
      ],
    ] as const) {
      const res = await send(t, owner, ws, { conversationId, ...body })
      expect({ field, status: res.status }).toEqual({ field, status: 422 })
      expect((await res.json()).errors.map((e: { field: string }) => e.field)).toContain(field)
    }
    expect(
      (
        await send(t, owner, ws, {
          conversationId,
          type: 'reaction',
          reaction: { messageId: inboundWamid, emoji: '🇩🇪' },
        })
      ).status,
    ).toBe(202)
  })
})

describe("Meta's limits per message part (issue 14, Cloud API items 2 and 3)", () => {
  const template = (components: unknown[]) => ({
    type: 'template',
    template: { name: 'order_update', language: 'en_US', components },
  })
  const bodyText = (text: string) => ({ type: 'body', parameters: [{ type: 'text', text }] })

  test('each component takes only its parameter types and caps; lists, coupons and amounts as Meta limits them', async () => {
    const { t, owner, ws, conversationId } = await setup()
    const at = 'template.components'
    const cases: [string, Record<string, unknown>, string][] = [
      [
        'list body over 1024',
        {
          type: 'interactive',
          interactive: {
            type: 'list',
            body: { text: 'x'.repeat(1025) },
            button: 'Go',
            sections: [{ rows: [{ id: 'a', title: 'A' }] }],
          },
        },
        'interactive.body.text',
      ],
      [
        'header text over 60',
        template([{ type: 'header', parameters: [{ type: 'text', text: 'x'.repeat(61) }] }]),
        `${at}.0.parameters.0.text`,
      ],
      [
        'body text over 1024 beside a header',
        template([{ type: 'header', parameters: [{ type: 'text', text: 'Hi' }] }, bodyText('x'.repeat(1025))]),
        `${at}.1.parameters.0.text`,
      ],
      ['body text over 32768 alone', template([bodyText('x'.repeat(32769))]), `${at}.0.parameters.0.text`],
      [
        'an image in the body',
        template([{ type: 'body', parameters: [{ type: 'image', link: 'https://example.com/a.jpg' }] }]),
        `${at}.0.parameters.0.type`,
      ],
      [
        'two header parameters',
        template([
          {
            type: 'header',
            parameters: [
              { type: 'text', text: 'a' },
              { type: 'text', text: 'b' },
            ],
          },
        ]),
        `${at}.0.parameters`,
      ],
      ['two bodies', template([bodyText('a'), bodyText('b')]), `${at}.1.type`],
      [
        'a quick reply with a text',
        template([{ type: 'button', subType: 'quick_reply', index: 0, parameters: [{ type: 'text', text: 'x' }] }]),
        `${at}.0.parameters.0.type`,
      ],
      [
        'a URL button with a payload',
        template([{ type: 'button', subType: 'url', index: 0, parameters: [{ type: 'payload', payload: 'x' }] }]),
        `${at}.0.parameters.0.type`,
      ],
      [
        'a flow button without its action',
        template([{ type: 'button', subType: 'flow', index: 0, parameters: [{ type: 'payload', payload: 'x' }] }]),
        `${at}.0.parameters.0.type`,
      ],
      [
        'an empty action',
        template([{ type: 'button', subType: 'flow', index: 0, parameters: [{ type: 'action', action: {} }] }]),
        `${at}.0.parameters.0.action`,
      ],
      [
        'one button index twice',
        template([
          { type: 'button', subType: 'quick_reply', index: 0, parameters: [{ type: 'payload', payload: 'a' }] },
          { type: 'button', subType: 'quick_reply', index: 0, parameters: [{ type: 'payload', payload: 'b' }] },
        ]),
        `${at}.1.index`,
      ],
      [
        'a coupon over 15',
        template([
          {
            type: 'button',
            subType: 'copy_code',
            index: 0,
            parameters: [{ type: 'coupon_code', couponCode: 'C'.repeat(16) }],
          },
        ]),
        `${at}.0.parameters.0.couponCode`,
      ],
      [
        'an amount of 0',
        template([
          {
            type: 'body',
            parameters: [{ type: 'currency', fallbackValue: '$0', code: 'USD', amount1000: 0 }],
          },
        ]),
        `${at}.0.parameters.0.amount1000`,
      ],
      [
        'a parameter name in capitals',
        template([{ type: 'body', parameters: [{ type: 'date_time', fallbackValue: 'May 1', parameterName: 'Day' }] }]),
        `${at}.0.parameters.0.parameterName`,
      ],
    ]
    for (const [name, input, field] of cases) {
      const res = await send(t, owner, ws, { conversationId, ...input })
      const body = await res.json()
      expect({ name, status: res.status }).toEqual({ name, status: 422 })
      expect({ name, fields: body.errors.map((e: { field: string }) => e.field) }).toEqual({
        name,
        fields: expect.arrayContaining([field]),
      })
    }
    expect((await t.db.db.selectFrom('outbox').selectAll().execute()).length).toBe(0)
  })

  test("what Meta's pages send is accepted and goes out exactly as their examples", async () => {
    const { t, clock, owner, ws, channel, conversationId, inboundWamid } = await setup()
    const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
      [
        // cloud-api-2026.md: "Reactions accept any single emoji, keycaps (1️⃣, #️⃣) included".
        'a keycap reaction',
        { type: 'reaction', reaction: { messageId: inboundWamid, emoji: '1️⃣' } },
        { reaction: { message_id: inboundWamid, emoji: '1️⃣' } },
      ],
      [
        // A body that is the only component may be 32768 long (whatsapp-api-js template.ts).
        'a long body alone',
        template([bodyText('y'.repeat(2000))]),
        {
          template: {
            name: 'order_update',
            language: { code: 'en_US' },
            components: [{ type: 'body', parameters: [{ type: 'text', text: 'y'.repeat(2000) }] }],
          },
        },
      ],
      [
        // Meta, "Send message templates" — named parameters: {"type":"text","parameter_name":"customer_name","text":"John"}.
        'named parameters',
        template([
          { type: 'header', parameters: [{ type: 'text', text: 'Order 1', parameterName: 'order_ref' }] },
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'John', parameterName: 'customer_name' },
              {
                type: 'currency',
                fallbackValue: '$100.99',
                code: 'USD',
                amount1000: 100990,
                parameterName: 'total',
              },
            ],
          },
        ]),
        {
          template: {
            name: 'order_update',
            language: { code: 'en_US' },
            components: [
              { type: 'header', parameters: [{ type: 'text', parameter_name: 'order_ref', text: 'Order 1' }] },
              {
                type: 'body',
                parameters: [
                  { type: 'text', parameter_name: 'customer_name', text: 'John' },
                  {
                    type: 'currency',
                    parameter_name: 'total',
                    currency: { fallback_value: '$100.99', code: 'USD', amount_1000: 100990 },
                  },
                ],
              },
            ],
          },
        },
      ],
      [
        // Meta, "Flows: sending a flow template": the button's action carries flow_token and flow_action_data.
        // Meta, "Copy code (coupon) templates": {"type":"coupon_code","coupon_code":"25OFF"}.
        // Meta, "URL buttons": the parameter is the URL's variable suffix as text.
        'flow, coupon and URL buttons',
        template([
          {
            type: 'button',
            subType: 'flow',
            index: 0,
            parameters: [
              { type: 'action', action: { flowToken: 'AQAAAAACS5FpgQ_cAAAAAD0QI3s.', flowActionData: { step: 1 } } },
            ],
          },
          {
            type: 'button',
            subType: 'copy_code',
            index: 1,
            parameters: [{ type: 'coupon_code', couponCode: '25OFF' }],
          },
          { type: 'button', subType: 'url', index: 2, parameters: [{ type: 'text', text: 'summer2023' }] },
        ]),
        {
          template: {
            name: 'order_update',
            language: { code: 'en_US' },
            components: [
              {
                type: 'button',
                sub_type: 'flow',
                index: '0',
                parameters: [
                  {
                    type: 'action',
                    action: { flow_token: 'AQAAAAACS5FpgQ_cAAAAAD0QI3s.', flow_action_data: { step: 1 } },
                  },
                ],
              },
              {
                type: 'button',
                sub_type: 'copy_code',
                index: '1',
                parameters: [{ type: 'coupon_code', coupon_code: '25OFF' }],
              },
              { type: 'button', sub_type: 'url', index: '2', parameters: [{ type: 'text', text: 'summer2023' }] },
            ],
          },
        },
      ],
      [
        // Meta, "Catalog templates" and "Multi-product message templates": thumbnail_product_retailer_id and
        // sections of product_items by product_retailer_id.
        'catalog and multi-product buttons',
        template([
          {
            type: 'button',
            subType: 'catalog',
            index: 0,
            parameters: [{ type: 'action', action: { thumbnailProductRetailerId: '2lc20305pt' } }],
          },
          {
            type: 'button',
            subType: 'mpm',
            index: 1,
            parameters: [
              {
                type: 'action',
                action: {
                  thumbnailProductRetailerId: '2lc20305pt',
                  sections: [{ title: 'Popular', productItems: [{ productRetailerId: '2lc20305pt' }] }],
                },
              },
            ],
          },
        ]),
        {
          template: {
            name: 'order_update',
            language: { code: 'en_US' },
            components: [
              {
                type: 'button',
                sub_type: 'catalog',
                index: '0',
                parameters: [{ type: 'action', action: { thumbnail_product_retailer_id: '2lc20305pt' } }],
              },
              {
                type: 'button',
                sub_type: 'mpm',
                index: '1',
                parameters: [
                  {
                    type: 'action',
                    action: {
                      thumbnail_product_retailer_id: '2lc20305pt',
                      sections: [{ title: 'Popular', product_items: [{ product_retailer_id: '2lc20305pt' }] }],
                    },
                  },
                ],
              },
            ],
          },
        },
      ],
    ]
    for (const [name, input, expected] of cases) {
      const res = await send(t, owner, ws, { conversationId, ...input })
      expect({ name, status: res.status, body: res.status === 202 ? null : await res.json() }).toEqual({
        name,
        status: 202,
        body: null,
      })
      clock.advance(50)
      await t.runtime.sender.drain()
      const { messaging_product, recipient_type, to, type, biz_opaque_callback_data, ...rest } = lastBody(channel)
      expect({ name, type, rest }).toEqual({ name, type: input.type, rest: expected })
    }
  })

  test('a static WebP sticker may be 100 KB, an animated one 500 KB', async () => {
    const { t, owner, ws, channel } = await setup()
    const upload = (bytes: Uint8Array) => {
      const form = new FormData()
      form.set('channelId', channel.id)
      form.set('file', new File([bytes as Uint8Array<ArrayBuffer>], 'sticker.webp', { type: 'image/webp' }))
      return t.request(`/api/v1/workspaces/${ws}/media`, { method: 'POST', headers: owner.who.headers, body: form })
    }
    // Google's WebP container: RIFF <size> WEBP, then a lossy VP8 chunk, or an extended VP8X header whose
    // flags byte (offset 20) has the animation bit 0x02, followed by an ANIM chunk.
    const webp = (size: number, animated: boolean) => {
      const bytes = new Uint8Array(size)
      const put = (at: number, text: string) => bytes.set(new TextEncoder().encode(text), at)
      put(0, 'RIFF')
      new DataView(bytes.buffer).setUint32(4, size - 8, true)
      put(8, 'WEBP')
      if (animated) {
        put(12, 'VP8X')
        bytes[16] = 10
        bytes[20] = 0x02
        put(30, 'ANIM')
      } else put(12, 'VP8 ')
      return bytes
    }
    const uploads = () => graph.calls.filter((c) => c.path === `/v24.0/${channel.phoneNumberId}/media`).length
    const before = uploads()
    const staticTooBig = await upload(webp(100_001, false))
    expect(staticTooBig.status).toBe(413)
    expect((await staticTooBig.json()).detail).toContain('Static stickers')
    expect(uploads()).toBe(before)
    expect((await upload(webp(100_000, false))).status).toBe(201)
    expect((await upload(webp(400_000, true))).status).toBe(201)
    expect((await upload(webp(500_001, true))).status).toBe(413)
    expect(uploads()).toBe(before + 2)
  })
})

describe('Pacer', () => {
  test('a send holds its slot until a second after its answer, so slow answers cannot bunch arrivals past the rate', () => {
    const pacer = new Pacer(80)
    // Starts are spread: 4 per 50 ms at 80/s.
    for (let i = 0; i < 4; i++) expect(pacer.take(0).ok).toBe(true)
    expect(pacer.take(0)).toEqual({ ok: false, waitMs: 50 })
    let now = 0
    let started = 4
    while (started < 80) {
      now += 50
      for (let i = 0; i < 4; i++) expect(pacer.take(now).ok).toBe(true)
      started += 4
    }
    // 80 in flight, no answer yet: nothing frees a slot but an answer.
    expect(pacer.take(now + 5000)).toEqual({ ok: false, waitMs: Number.POSITIVE_INFINITY })
    // Every answer comes back at 1,200: the slots free one second later, not one second after the start.
    for (let i = 0; i < 80; i++) pacer.done(1200)
    expect(pacer.take(2199)).toEqual({ ok: false, waitMs: 1 })
    expect(pacer.take(2200).ok).toBe(true)
    // A slot taken for a send that never started is given back at once.
    const other = new Pacer(1)
    expect(other.take(0).ok).toBe(true)
    other.cancel()
    expect(other.take(60).ok).toBe(true)
  })
})
