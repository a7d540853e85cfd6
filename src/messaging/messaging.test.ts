import { afterAll, describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { MAX_MEDIA_ATTEMPTS, mediaPathFor } from './media.service.ts'
import { createTestApp } from '../testing/test-app.ts'
import { startGraphDouble } from '../testing/graph-double.ts'
import {
  auditRows,
  call,
  deliver,
  makeChannel,
  makeUser,
  makeWorkspace,
  seedConversation,
} from '../testing/fixtures.ts'
import { contact, envelope, inboundText, messagesChange, signed, textMessage, wamid } from '../testing/webhooks.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

async function setup() {
  const t = await createTestApp({ graph })
  const owner = await makeUser(t, 'owner@example.com')
  const ws = await makeWorkspace(t, 'Acme', owner)
  const channel = await makeChannel(t, ws, graph)
  const get = async (path: string) => {
    const res = await t.request(`/api/v1/workspaces/${ws}${path}`, call(owner.who, 'GET'))
    expect({ path, status: res.status }).toEqual({ path, status: 200 })
    return res.json()
  }
  return { t, owner, ws, channel, get }
}

describe('conversations and messages', () => {
  test('listed most recent first with filters and cursor pages; messages newest first; mark read', async () => {
    const { t, owner, ws, channel, get } = await setup()
    for (let i = 0; i < 5; i++) {
      await deliver(
        t,
        channel,
        inboundText(channel.phoneNumberId, `hello from ${i}`, {
          from: `4930000000${i}`,
          timestamp: 1749416000 + i * 60,
          name: `Person ${i}`,
        }).body,
      )
    }
    const page1 = await get('/conversations?limit=2')
    expect(page1.items.map((c: { contact: { displayName: string } }) => c.contact.displayName)).toEqual([
      'Person 4',
      'Person 3',
    ])
    expect(page1.items[0]).toMatchObject({
      unreadCount: 1,
      lastMessagePreview: 'hello from 4',
      status: 'open',
      channelId: channel.id,
      assigneeUserId: null,
    })
    const page2 = await get(`/conversations?limit=2&cursor=${page1.nextCursor}`)
    const page3 = await get(`/conversations?limit=2&cursor=${page2.nextCursor}`)
    expect(
      [...page2.items, ...page3.items].map((c: { contact: { displayName: string } }) => c.contact.displayName),
    ).toEqual(['Person 2', 'Person 1', 'Person 0'])
    expect(page3.nextCursor).toBeNull()

    const first = page1.items[0].id
    const read = await t.request(`/api/v1/workspaces/${ws}/conversations/${first}/read`, call(owner.who, 'POST'))
    expect((await read.json()).unreadCount).toBe(0)
    // Other agents see it read live: one conversation.updated (changed: read); reading it again emits nothing.
    const readEvents = async () =>
      (
        await t.db.db
          .selectFrom('events')
          .selectAll()
          .where('workspace_id', '=', ws)
          .where('type', '=', 'conversation.updated')
          .execute()
      ).map((e) => JSON.parse(e.data))
    expect(await readEvents()).toEqual([
      { conversationId: first, status: 'open', assigneeUserId: null, changed: ['read'] },
    ])
    await t.request(`/api/v1/workspaces/${ws}/conversations/${first}/read`, call(owner.who, 'POST'))
    expect(await readEvents()).toHaveLength(1)
    expect((await get('/conversations?unread=true')).items).toHaveLength(4)
    expect((await get('/conversations?unread=false')).items.map((c: { id: string }) => c.id)).toEqual([first])
    expect((await get(`/conversations?channelId=${channel.id}&status=open&assignee=none`)).items).toHaveLength(5)
    expect((await get('/conversations?assignee=me')).items).toHaveLength(0)
    expect((await get('/conversations?status=closed')).items).toHaveLength(0)
    const bad = await t.request(`/api/v1/workspaces/${ws}/conversations?unread=maybe`, call(owner.who, 'GET'))
    expect(bad.status).toBe(400)
    expect((await bad.json()).errors[0].field).toBe('unread')

    // Messages of one conversation, newest first, paged.
    for (let i = 0; i < 3; i++)
      await deliver(
        t,
        channel,
        inboundText(channel.phoneNumberId, `more ${i}`, {
          from: '49300000004',
          timestamp: 1749417000 + i,
          name: 'Person 4',
        }).body,
      )
    const one = await get(`/conversations/${first}`)
    expect(one.contact).toMatchObject({
      waId: '49300000004',
      phone: '+49300000004',
      profileName: 'Person 4',
      optedOut: false,
    })
    const msgs = await get(`/conversations/${first}/messages?limit=3`)
    expect(msgs.items.map((m: { text: string }) => m.text)).toEqual(['more 2', 'more 1', 'more 0'])
    const rest = await get(`/conversations/${first}/messages?limit=3&cursor=${msgs.nextCursor}`)
    expect(rest.items.map((m: { text: string }) => m.text)).toEqual(['hello from 4'])
    expect(rest.items[0]).toMatchObject({ direction: 'in', type: 'text', status: 'received', media: null })
  })

  test('an older message arriving late does not move the conversation backwards', async () => {
    const { t, channel, get } = await setup()
    await deliver(t, channel, inboundText(channel.phoneNumberId, 'newer', { timestamp: 1749416500 }).body)
    await deliver(t, channel, inboundText(channel.phoneNumberId, 'older', { timestamp: 1749416000 }).body)
    const [c] = (await get('/conversations')).items
    expect(c).toMatchObject({
      lastMessagePreview: 'newer',
      lastMessageAt: new Date(1749416500_000).toISOString(),
      unreadCount: 2,
    })
  })
})

describe('conversation search', () => {
  test('q finds the contact by name, profile name, username or phone (partial, with or without +); combines with filters and the cursor', async () => {
    const { t, owner, ws, channel, get } = await setup()
    const ids = async (path: string) =>
      (await get(path)).items.map((c: { contact: { displayName: string } }) => c.contact.displayName)
    await deliver(
      t,
      channel,
      inboundText(channel.phoneNumberId, 'hi', { from: '4915112345678', timestamp: 1749416000, name: 'Greta Weber' })
        .body,
    )
    await deliver(
      t,
      channel,
      inboundText(channel.phoneNumberId, 'hi', { from: '4417000000000', timestamp: 1749416060, name: 'Oliver_%' }).body,
    )
    // A username user: Meta sends the handle in the profile.
    const kim = { from: '4420700000000', id: wamid(), timestamp: '1749416120', type: 'text', text: { body: 'hi' } }
    await deliver(
      t,
      channel,
      envelope([
        messagesChange(channel.phoneNumberId, {
          contacts: [{ profile: { name: 'Kim', username: 'kim.bakes' }, wa_id: kim.from, user_id: 'US.kim' }],
          messages: [kim],
        }),
      ]),
    )
    for (let i = 0; i < 3; i++)
      await deliver(
        t,
        channel,
        inboundText(channel.phoneNumberId, 'hi', {
          from: `4930000000${i}`,
          timestamp: 1749416200 + i * 60,
          name: `Person ${i}`,
        }).body,
      )

    expect(await ids('/conversations?q=greta')).toEqual(['Greta Weber'])
    expect(await ids('/conversations?q=WEBER')).toEqual(['Greta Weber'])
    expect(await ids('/conversations?q=kim.bakes')).toEqual(['Kim'])
    expect(await ids(`/conversations?q=${encodeURIComponent('@kim')}`)).toEqual(['Kim'])
    // Phone numbers: whole, with +, partial, with the spaces people type.
    expect(await ids('/conversations?q=4915112345678')).toEqual(['Greta Weber'])
    expect(await ids(`/conversations?q=${encodeURIComponent('+4915112345678')}`)).toEqual(['Greta Weber'])
    expect(await ids('/conversations?q=12345')).toEqual(['Greta Weber'])
    expect(await ids(`/conversations?q=${encodeURIComponent('+49 151 123')}`)).toEqual(['Greta Weber'])
    expect(await ids(`/conversations?q=${encodeURIComponent('+44')}`)).toEqual(['Kim', 'Oliver_%'])
    // LIKE wildcards are taken literally.
    expect(await ids(`/conversations?q=${encodeURIComponent('_%')}`)).toEqual(['Oliver_%'])
    expect(await ids(`/conversations?q=${encodeURIComponent('%')}`)).toEqual(['Oliver_%'])
    expect(await ids('/conversations?q=nobody')).toEqual([])
    // An empty q is no filter.
    expect(await ids('/conversations?q=')).toHaveLength(6)
    // The name agents give a contact is searched too.
    const greta = (await get('/conversations?q=greta')).items[0]
    expect(greta.contact).toEqual({
      id: expect.any(String),
      waId: '4915112345678',
      displayName: 'Greta Weber',
      phone: '+4915112345678',
      username: null,
    })
    expect((await get('/conversations?q=kim')).items[0].contact).toMatchObject({
      phone: '+4420700000000',
      username: 'kim.bakes',
    })
    await t.request(
      `/api/v1/workspaces/${ws}/contacts/${greta.contact.id}`,
      call(owner.who, 'PATCH', { name: 'Bakery supplier' }),
    )
    expect(await ids('/conversations?q=supplier')).toEqual(['Bakery supplier'])

    // With the other filters, and paged in the usual order (most recent first).
    await t.request(
      `/api/v1/workspaces/${ws}/conversations/${greta.id}`,
      call(owner.who, 'PATCH', { status: 'closed', assigneeUserId: owner.id }),
    )
    expect(await ids('/conversations?q=4915&status=open')).toEqual([])
    expect(await ids('/conversations?q=4915&status=closed&assignee=me')).toEqual(['Bakery supplier'])
    expect(await ids(`/conversations?q=person&channelId=${channel.id}&unread=true&assignee=none`)).toEqual([
      'Person 2',
      'Person 1',
      'Person 0',
    ])
    expect(await ids('/conversations?q=person&channelId=ch_other')).toEqual([])
    const page1 = await get('/conversations?q=person&limit=2')
    expect(page1.items.map((c: { contact: { displayName: string } }) => c.contact.displayName)).toEqual([
      'Person 2',
      'Person 1',
    ])
    const page2 = await get(`/conversations?q=person&limit=2&cursor=${page1.nextCursor}`)
    expect(page2.items.map((c: { contact: { displayName: string } }) => c.contact.displayName)).toEqual(['Person 0'])
    expect(page2.nextCursor).toBeNull()

    // Bad input: a 400 naming the field.
    const long = await t.request(`/api/v1/workspaces/${ws}/conversations?q=${'x'.repeat(101)}`, call(owner.who, 'GET'))
    expect(long.status).toBe(400)
    expect(long.headers.get('content-type')).toStartWith('application/problem+json')
    expect((await long.json()).errors[0].field).toBe('q')

    // Another workspace: its own (empty) results; A's workspace is not there for it.
    const other = await makeUser(t, 'other@example.com')
    const otherWs = await makeWorkspace(t, 'Other', other)
    const theirs = await t.request(`/api/v1/workspaces/${otherWs}/conversations?q=greta`, call(other.who, 'GET'))
    expect((await theirs.json()).items).toEqual([])
    expect((await t.request(`/api/v1/workspaces/${ws}/conversations?q=greta`, call(other.who, 'GET'))).status).toBe(404)
  })
})

describe('one message, and quoted replies', () => {
  /** An inbound text that quotes (replies to) `quotedWamid`. */
  const reply = (phoneNumberId: string, text: string, quotedWamid: string, o: { from?: string; timestamp: number }) => {
    const m = { ...textMessage(text, o), context: { from: '15550783881', id: quotedWamid } }
    return { body: envelope([messagesChange(phoneNumberId, { contacts: [contact(m.from)], messages: [m] })]), id: m.id }
  }

  test('quoted resolves within the conversation, also when the original is on an older page; one message by id is the same view', async () => {
    const { t, owner, ws, channel, get } = await setup()
    const from = '4915112345678'
    const original = inboundText(channel.phoneNumberId, 'Do you have rye bread?', { from, timestamp: 1749416000 })
    await deliver(t, channel, original.body)
    for (let i = 0; i < 3; i++)
      await deliver(
        t,
        channel,
        inboundText(channel.phoneNumberId, `filler ${i}`, { from, timestamp: 1749416100 + i }).body,
      )
    const answer = reply(channel.phoneNumberId, 'And two baguettes', original.id, { from, timestamp: 1749416200 })
    await deliver(t, channel, answer.body)
    // A reply to something wabox never saw, and one quoting another person's conversation.
    await deliver(
      t,
      channel,
      reply(channel.phoneNumberId, 'About that…', 'wamid.UNKNOWN', { from, timestamp: 1749416300 }).body,
    )
    const otherOriginal = inboundText(channel.phoneNumberId, 'Someone else', {
      from: '4930000000001',
      timestamp: 1749416000,
    })
    await deliver(t, channel, otherOriginal.body)
    await deliver(
      t,
      channel,
      reply(channel.phoneNumberId, 'Quoting across', otherOriginal.id, { from, timestamp: 1749416400 }).body,
    )

    const conversation = (await get('/conversations?q=4915112345678')).items[0]
    const originalRow = await t.db.db
      .selectFrom('messages')
      .selectAll()
      .where('wamid', '=', original.id)
      .executeTakeFirstOrThrow()
    // The newest three only: the original is four pages back.
    const page = await get(`/conversations/${conversation.id}/messages?limit=3`)
    expect(page.items.map((m: { text: string }) => m.text)).toEqual([
      'Quoting across',
      'About that…',
      'And two baguettes',
    ])
    expect(page.items.map((m: { replyTo: string | null }) => m.replyTo)).toEqual([
      otherOriginal.id,
      'wamid.UNKNOWN',
      original.id,
    ])
    expect(page.items.map((m: { quoted: unknown }) => m.quoted)).toEqual([
      null,
      null,
      { id: originalRow.id, direction: 'in', type: 'text', text: 'Do you have rye bread?' },
    ])
    const rest = await get(`/conversations/${conversation.id}/messages?limit=50&cursor=${page.nextCursor}`)
    expect(rest.items.every((m: { quoted: unknown }) => m.quoted === null)).toBe(true)

    // One message: the same view as in the list, quote included.
    const listed = page.items[2]
    expect(await get(`/messages/${listed.id}`)).toEqual(listed)
    expect(await get(`/messages/${originalRow.id}`)).toEqual(rest.items.at(-1))
    expect((await get(`/messages/${originalRow.id}`)).quoted).toBeNull()

    // Unknown, another workspace's, malformed.
    const missing = await t.request(`/api/v1/workspaces/${ws}/messages/msg_nothing`, call(owner.who, 'GET'))
    expect(missing.status).toBe(404)
    expect((await missing.json()).code).toBe('not_found')
    const other = await makeUser(t, 'other@example.com')
    const otherWs = await makeWorkspace(t, 'Other', other)
    const otherChannel = await makeChannel(t, otherWs, graph)
    await deliver(t, otherChannel, inboundText(otherChannel.phoneNumberId, 'their secret', { from }).body)
    const theirs = await t.db.db
      .selectFrom('messages')
      .select('id')
      .where('workspace_id', '=', otherWs)
      .executeTakeFirstOrThrow()
    const cross = await t.request(`/api/v1/workspaces/${ws}/messages/${theirs.id}`, call(owner.who, 'GET'))
    expect(cross.status).toBe(404)
    expect(await cross.text()).not.toContain('their secret')
    expect((await t.request(`/api/v1/workspaces/${ws}/messages/${listed.id}`, call(other.who, 'GET'))).status).toBe(404)
    const malformed = await t.request(`/api/v1/workspaces/${ws}/messages/${'m'.repeat(65)}`, call(owner.who, 'GET'))
    expect(malformed.status).toBe(400)
    expect((await malformed.json()).errors[0].field).toBe('messageId')
  })

  test('a page quoting many messages costs one lookup, not one per message', async () => {
    const { t, channel, get } = await setup()
    const from = '4915112345678'
    const originals = []
    for (let i = 0; i < 5; i++) {
      const o = inboundText(channel.phoneNumberId, `question ${i}`, { from, timestamp: 1749416000 + i })
      await deliver(t, channel, o.body)
      originals.push(o.id)
    }
    for (let i = 0; i < 5; i++)
      await deliver(
        t,
        channel,
        reply(channel.phoneNumberId, `answer ${i}`, originals[i]!, { from, timestamp: 1749417000 + i }).body,
      )
    const conversation = (await get('/conversations')).items[0]
    // Every query the services run goes through this executor: count the ones that read messages.
    const executor = t.db.db.getExecutor()
    const execute = executor.executeQuery
    const statements: string[] = []
    executor.executeQuery = ((query, options) => {
      statements.push(query.sql)
      return execute.call(executor, query, options)
    }) as typeof execute
    let page: { items: { text: string; quoted: { text: string } | null }[] }
    try {
      page = await get(`/conversations/${conversation.id}/messages?limit=5`)
    } finally {
      executor.executeQuery = execute
    }
    expect(page.items.map((m) => [m.text, m.quoted?.text])).toEqual(
      [4, 3, 2, 1, 0].map((i) => [`answer ${i}`, `question ${i}`]),
    )
    // The page itself, and one lookup of the five quoted messages.
    expect(statements.filter((s) => /from "messages"/i.test(s))).toHaveLength(2)
  })
})

describe('media', () => {
  test('downloaded in the background, sha256-checked, stored content-addressed, served as an attachment', async () => {
    const { t, owner, ws, channel, get } = await setup()
    const seeded = await seedConversation(t, ws, channel, graph)
    const msg = (await get(`/conversations/${seeded.conversationId}/messages`)).items.find(
      (m: { type: string }) => m.type === 'image',
    )
    expect(msg.media).toMatchObject({ mimeType: 'image/jpeg', state: 'stored' })
    const res = await t.request(`/api/v1/workspaces/${ws}/messages/${seeded.messageId}/media`, call(owner.who, 'GET'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/jpeg')
    expect(res.headers.get('content-disposition')).toStartWith('attachment;')
    expect(await res.text()).toStartWith('fake jpeg ')
    const row = await t.db.db
      .selectFrom('messages')
      .selectAll()
      .where('id', '=', seeded.messageId)
      .executeTakeFirstOrThrow()
    expect(row.media_path).toMatch(/^media\/[0-9a-f]{2}\/[0-9a-f]{64}$/)
    // The download carried the Bearer token and a User-Agent, as Meta requires.
    const download = graph.calls.filter((c) => c.path.startsWith('/media-download/')).at(-1)!
    expect(download.authorization).toBe(`Bearer ${channel.accessToken}`)
    expect(download.userAgent).toBeTruthy()
  })

  test('a document with a non-Latin filename downloads with an RFC 6266 disposition', async () => {
    const { t, owner, ws, channel } = await setup()
    const bytes = new TextEncoder().encode('%PDF-1.4 invoice')
    graph.addMedia('99001', bytes, 'application/pdf')
    const id = wamid()
    await deliver(
      t,
      channel,
      envelope([
        messagesChange(channel.phoneNumberId, {
          contacts: [contact()],
          messages: [
            {
              from: '16505551234',
              id,
              timestamp: '1749416383',
              type: 'document',
              document: { filename: 'Счёт №5.pdf', mime_type: 'application/pdf', id: '99001' },
            },
          ],
        }),
      ]),
    )
    const row = await t.db.db.selectFrom('messages').selectAll().where('wamid', '=', id).executeTakeFirstOrThrow()
    const res = await t.request(`/api/v1/workspaces/${ws}/messages/${row.id}/media`, call(owner.who, 'GET'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="____ _5.pdf"; filename*=UTF-8''${encodeURIComponent('Счёт №5.pdf')}`,
    )
    expect(await res.text()).toBe('%PDF-1.4 invoice')
  })

  test('a file that does not match its sha256 is refused and never served', async () => {
    const { t, owner, ws, channel } = await setup()
    graph.addMedia('445566', new TextEncoder().encode('tampered bytes'), 'image/png')
    const id = wamid()
    await deliver(
      t,
      channel,
      envelope([
        messagesChange(channel.phoneNumberId, {
          contacts: [contact()],
          messages: [
            {
              from: '16505551234',
              id,
              timestamp: '1749416383',
              type: 'image',
              image: { mime_type: 'image/png', sha256: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', id: '445566' },
            },
          ],
        }),
      ]),
    )
    const row = await t.db.db.selectFrom('messages').selectAll().where('wamid', '=', id).executeTakeFirstOrThrow()
    expect(row.media_state).toBe('failed')
    const res = await t.request(`/api/v1/workspaces/${ws}/messages/${row.id}/media`, call(owner.who, 'GET'))
    expect(res.status).toBe(409)
    expect((await res.json()).code).toBe('media_not_ready')
  })

  test('a media type with CR/LF is stored and served as application/octet-stream, and the download works', async () => {
    const { t, owner, ws, channel } = await setup()
    const bytes = new TextEncoder().encode('bytes from a stranger')
    graph.addMedia('77001', bytes, 'image/jpeg')
    const id = wamid()
    const sha256 = new Bun.CryptoHasher('sha256').update(bytes).digest('base64')
    const image = { mime_type: 'image/jpeg\r\nSet-Cookie: wabox_session=stolen', sha256, id: '77001' }
    await deliver(
      t,
      channel,
      envelope([
        messagesChange(channel.phoneNumberId, {
          contacts: [contact()],
          messages: [{ from: '16505551234', id, timestamp: '1749416383', type: 'image', image }],
        }),
      ]),
    )
    const row = await t.db.db.selectFrom('messages').selectAll().where('wamid', '=', id).executeTakeFirstOrThrow()
    // Sanitised on the way in: the stored value is a plain media type.
    expect(row).toMatchObject({ media_state: 'stored', media_mime: 'application/octet-stream' })
    const res = await t.request(`/api/v1/workspaces/${ws}/messages/${row.id}/media`, call(owner.who, 'GET'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/octet-stream')
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(await res.text()).toBe('bytes from a stranger')

    // And on the way out: a row stored before values were checked (or by anything else) still downloads.
    await t.db.db
      .updateTable('messages')
      .set({ media_mime: 'text/plain\r\nX-Injected: 1' })
      .where('id', '=', row.id)
      .execute()
    const again = await t.request(`/api/v1/workspaces/${ws}/messages/${row.id}/media`, call(owner.who, 'GET'))
    expect(again.status).toBe(200)
    expect(again.headers.get('content-type')).toBe('application/octet-stream')
    expect(again.headers.get('x-injected')).toBeNull()
    const view = await t.request(`/api/v1/workspaces/${ws}/messages/${row.id}`, call(owner.who, 'GET'))
    expect((await view.json()).media.mimeType).toBe('application/octet-stream')
    // Well-formed types keep their parameters (WhatsApp's voice notes).
    const { safeMimeType } = await import('./mime.ts')
    expect(safeMimeType('Audio/OGG; codecs=opus')).toBe('audio/ogg; codecs=opus')
    expect(safeMimeType(null)).toBeNull()
  })

  test('transient Graph failures are retried on the next pass', async () => {
    const { t, ws, channel } = await setup()
    graph.addMedia('889900', new TextEncoder().encode('eventually'), 'image/jpeg')
    graph.failNext({ path: /^\/v24\.0\/889900$/, times: 1, status: 500, code: 131000, message: 'Something went wrong' })
    const id = wamid()
    await deliver(
      t,
      channel,
      envelope([
        messagesChange(channel.phoneNumberId, {
          contacts: [contact()],
          messages: [
            {
              from: '16505551234',
              id,
              timestamp: '1749416383',
              type: 'image',
              image: { mime_type: 'image/jpeg', id: '889900' },
            },
          ],
        }),
      ]),
    )
    await t.runtime.media.drain()
    const row = await t.db.db.selectFrom('messages').selectAll().where('wamid', '=', id).executeTakeFirstOrThrow()
    // The first attempt failed (and was counted); a later pass stored it.
    expect(row).toMatchObject({ media_state: 'stored', media_attempts: 1 })
    expect(graph.calls.filter((c) => c.path.startsWith('/v24.0/889900?')).length).toBe(2)
    expect(row.workspace_id).toBe(ws)
  })

  test('a full disk while storing a download uses up none of its attempts; once there is room it is stored', async () => {
    const { t, channel } = await setup()
    const bytes = new TextEncoder().encode('a picture on a full disk')
    graph.addMedia('556677', bytes, 'image/jpeg')
    const full = join(t.config.dataDir, mediaPathFor(createHash('sha256').update(bytes).digest('hex')))
    const temp = `${full}.${process.pid}.tmp`
    mkdirSync(dirname(full), { recursive: true })
    // Writing the download's temporary file fails with ENOSPC, as on a full disk.
    const diskFull = () => existsSync(temp) || symlinkSync('/dev/full', temp)
    diskFull()
    const id = wamid()
    // Delivered without draining the downloader (deliver() would): the processor's own wake is the only pass until
    // the loop below, and it meets the full disk. A drain after that pass had failed (and removed the temporary
    // file) would download onto a free disk before the loop starts.
    const webhook = signed(
      envelope([
        messagesChange(channel.phoneNumberId, {
          contacts: [contact()],
          messages: [
            {
              from: '16505551234',
              id,
              timestamp: '1749416383',
              type: 'image',
              image: { mime_type: 'image/jpeg', id: '556677' },
            },
          ],
        }),
      ]),
      channel.appSecret,
    )
    const posted = await t.request(`/webhooks/whatsapp/${channel.id}`, {
      method: 'POST',
      headers: webhook.headers,
      body: webhook.body,
    })
    expect(posted.status).toBe(200)
    await t.runtime.processor.drain()
    const media = () =>
      t.db.db
        .selectFrom('messages')
        .select(['media_state', 'media_attempts'])
        .where('wamid', '=', id)
        .executeTakeFirstOrThrow()
    // The processor wakes the downloader when it applies the message; on a loaded machine that can come after
    // deliver() returned. Let it finish first, so no pass runs between a failed one and the disk filling again.
    for (
      const until = Date.now() + 5000;
      !(await t.db.db.selectFrom('messages').select('id').where('wamid', '=', id).executeTakeFirst());
    ) {
      if (Date.now() > until) throw new Error('the message was never applied')
      await Bun.sleep(10)
    }
    await t.runtime.processor.drain()
    diskFull()
    await t.runtime.media.drain()
    for (let i = 0; i < MAX_MEDIA_ATTEMPTS + 2; i++) {
      diskFull()
      await t.runtime.media.drain()
      expect(await media()).toEqual({ media_state: 'pending', media_attempts: 0 })
      expect(existsSync(temp)).toBe(false) // the partial file is removed
    }
    expect((await (await t.request('/readyz')).json()).checks.writes.detail).toContain(
      'media downloads: disk full (ENOSPC)',
    )
    await t.runtime.media.drain()
    expect(await media()).toEqual({ media_state: 'stored', media_attempts: 0 })
    expect(readFileSync(full, 'utf8')).toBe('a picture on a full disk')
    expect((await t.request('/readyz')).status).toBe(200)
  })
})

describe('contacts', () => {
  test('search, edit name/labels/notes, opt out (audited)', async () => {
    const { t, owner, ws, channel, get } = await setup()
    await deliver(t, channel, inboundText(channel.phoneNumberId, 'hi', { from: '4915112345678', name: 'Greta' }).body)
    await deliver(
      t,
      channel,
      inboundText(channel.phoneNumberId, 'hi', { from: '4417000000000', name: 'Oliver_%' }).body,
    )
    expect((await get('/contacts?q=greta')).items.map((c: { profileName: string }) => c.profileName)).toEqual(['Greta'])
    expect((await get('/contacts?q=49151')).items).toHaveLength(1)
    expect((await get('/contacts?q=_%25')).items.map((c: { profileName: string }) => c.profileName)).toEqual([
      'Oliver_%',
    ])
    const greta = (await get('/contacts?q=greta')).items[0]
    const res = await t.request(
      `/api/v1/workspaces/${ws}/contacts/${greta.id}`,
      call(owner.who, 'PATCH', {
        name: 'Greta (VIP)',
        labels: ['vip', 'vip', 'de'],
        notes: 'Prefers mornings',
        optedOut: true,
      }),
    )
    expect(await res.json()).toMatchObject({
      displayName: 'Greta (VIP)',
      labels: ['vip', 'de'],
      notes: 'Prefers mornings',
      optedOut: true,
    })
    expect((await get('/contacts?optedOut=true')).items).toHaveLength(1)
    expect((await auditRows(t)).filter((r) => r.action === 'contact.opted_out').map((r) => r.target_id)).toEqual([
      greta.id,
    ])
    const empty = await t.request(`/api/v1/workspaces/${ws}/contacts/${greta.id}`, call(owner.who, 'PATCH', {}))
    expect(empty.status).toBe(422)
  })
})
