import { afterAll, describe, expect, test } from 'bun:test'
import { createTestApp } from '../testing/test-app.ts'
import { startGraphDouble } from '../testing/graph-double.ts'
import { auditRows, call, deliver, makeChannel, makeUser, makeWorkspace, seedConversation } from '../testing/fixtures.ts'
import { contact, envelope, inboundText, messagesChange, wamid } from '../testing/webhooks.ts'

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
      await deliver(t, channel, inboundText(channel.phoneNumberId, `hello from ${i}`, { from: `4930000000${i}`, timestamp: 1749416000 + i * 60, name: `Person ${i}` }).body)
    }
    const page1 = await get('/conversations?limit=2')
    expect(page1.items.map((c: { contact: { displayName: string } }) => c.contact.displayName)).toEqual(['Person 4', 'Person 3'])
    expect(page1.items[0]).toMatchObject({ unreadCount: 1, lastMessagePreview: 'hello from 4', status: 'open', channelId: channel.id, assigneeUserId: null })
    const page2 = await get(`/conversations?limit=2&cursor=${page1.nextCursor}`)
    const page3 = await get(`/conversations?limit=2&cursor=${page2.nextCursor}`)
    expect([...page2.items, ...page3.items].map((c: { contact: { displayName: string } }) => c.contact.displayName)).toEqual(['Person 2', 'Person 1', 'Person 0'])
    expect(page3.nextCursor).toBeNull()

    const first = page1.items[0].id
    const read = await t.request(`/api/v1/workspaces/${ws}/conversations/${first}/read`, call(owner.who, 'POST'))
    expect((await read.json()).unreadCount).toBe(0)
    expect((await get('/conversations?unread=true')).items).toHaveLength(4)
    expect((await get('/conversations?unread=false')).items.map((c: { id: string }) => c.id)).toEqual([first])
    expect((await get(`/conversations?channelId=${channel.id}&status=open&assignee=none`)).items).toHaveLength(5)
    expect((await get('/conversations?assignee=me')).items).toHaveLength(0)
    expect((await get('/conversations?status=closed')).items).toHaveLength(0)
    const bad = await t.request(`/api/v1/workspaces/${ws}/conversations?unread=maybe`, call(owner.who, 'GET'))
    expect(bad.status).toBe(400)
    expect((await bad.json()).errors[0].field).toBe('unread')

    // Messages of one conversation, newest first, paged.
    for (let i = 0; i < 3; i++) await deliver(t, channel, inboundText(channel.phoneNumberId, `more ${i}`, { from: '49300000004', timestamp: 1749417000 + i, name: 'Person 4' }).body)
    const one = await get(`/conversations/${first}`)
    expect(one.contact).toMatchObject({ waId: '49300000004', phone: '+49300000004', profileName: 'Person 4', optedOut: false })
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
    expect(c).toMatchObject({ lastMessagePreview: 'newer', lastMessageAt: new Date(1749416500_000).toISOString(), unreadCount: 2 })
  })
})

describe('media', () => {
  test('downloaded in the background, sha256-checked, stored content-addressed, served as an attachment', async () => {
    const { t, owner, ws, channel, get } = await setup()
    const seeded = await seedConversation(t, ws, channel, graph)
    const msg = (await get(`/conversations/${seeded.conversationId}/messages`)).items.find((m: { type: string }) => m.type === 'image')
    expect(msg.media).toMatchObject({ mimeType: 'image/jpeg', state: 'stored' })
    const res = await t.request(`/api/v1/workspaces/${ws}/messages/${seeded.messageId}/media`, call(owner.who, 'GET'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/jpeg')
    expect(res.headers.get('content-disposition')).toStartWith('attachment;')
    expect(await res.text()).toStartWith('fake jpeg ')
    const row = await t.db.db.selectFrom('messages').selectAll().where('id', '=', seeded.messageId).executeTakeFirstOrThrow()
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
    await deliver(t, channel, envelope([messagesChange(channel.phoneNumberId, { contacts: [contact()], messages: [{ from: '16505551234', id, timestamp: '1749416383', type: 'document', document: { filename: 'Счёт №5.pdf', mime_type: 'application/pdf', id: '99001' } }] })]))
    const row = await t.db.db.selectFrom('messages').selectAll().where('wamid', '=', id).executeTakeFirstOrThrow()
    const res = await t.request(`/api/v1/workspaces/${ws}/messages/${row.id}/media`, call(owner.who, 'GET'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="____ _5.pdf"; filename*=UTF-8''${encodeURIComponent('Счёт №5.pdf')}`)
    expect(await res.text()).toBe('%PDF-1.4 invoice')
  })

  test('a file that does not match its sha256 is refused and never served', async () => {
    const { t, owner, ws, channel } = await setup()
    graph.addMedia('445566', new TextEncoder().encode('tampered bytes'), 'image/png')
    const id = wamid()
    await deliver(t, channel, envelope([messagesChange(channel.phoneNumberId, { contacts: [contact()], messages: [{ from: '16505551234', id, timestamp: '1749416383', type: 'image', image: { mime_type: 'image/png', sha256: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', id: '445566' } }] })]))
    const row = await t.db.db.selectFrom('messages').selectAll().where('wamid', '=', id).executeTakeFirstOrThrow()
    expect(row.media_state).toBe('failed')
    const res = await t.request(`/api/v1/workspaces/${ws}/messages/${row.id}/media`, call(owner.who, 'GET'))
    expect(res.status).toBe(409)
    expect((await res.json()).code).toBe('media_not_ready')
  })

  test('transient Graph failures are retried on the next pass', async () => {
    const { t, ws, channel } = await setup()
    graph.addMedia('889900', new TextEncoder().encode('eventually'), 'image/jpeg')
    graph.failNext({ path: /^\/v24\.0\/889900$/, times: 1, status: 500, code: 131000, message: 'Something went wrong' })
    const id = wamid()
    await deliver(t, channel, envelope([messagesChange(channel.phoneNumberId, { contacts: [contact()], messages: [{ from: '16505551234', id, timestamp: '1749416383', type: 'image', image: { mime_type: 'image/jpeg', id: '889900' } }] })]))
    await t.runtime.media.drain()
    const row = await t.db.db.selectFrom('messages').selectAll().where('wamid', '=', id).executeTakeFirstOrThrow()
    // The first attempt failed (and was counted); a later pass stored it.
    expect(row).toMatchObject({ media_state: 'stored', media_attempts: 1 })
    expect(graph.calls.filter((c) => c.path.startsWith('/v24.0/889900?')).length).toBe(2)
    expect(row.workspace_id).toBe(ws)
  })
})

describe('contacts', () => {
  test('search, edit name/labels/notes, opt out (audited)', async () => {
    const { t, owner, ws, channel, get } = await setup()
    await deliver(t, channel, inboundText(channel.phoneNumberId, 'hi', { from: '4915112345678', name: 'Greta' }).body)
    await deliver(t, channel, inboundText(channel.phoneNumberId, 'hi', { from: '4417000000000', name: 'Oliver_%' }).body)
    expect((await get('/contacts?q=greta')).items.map((c: { profileName: string }) => c.profileName)).toEqual(['Greta'])
    expect((await get('/contacts?q=49151')).items).toHaveLength(1)
    expect((await get('/contacts?q=_%25')).items.map((c: { profileName: string }) => c.profileName)).toEqual(['Oliver_%'])
    const greta = (await get('/contacts?q=greta')).items[0]
    const res = await t.request(`/api/v1/workspaces/${ws}/contacts/${greta.id}`, call(owner.who, 'PATCH', { name: 'Greta (VIP)', labels: ['vip', 'vip', 'de'], notes: 'Prefers mornings', optedOut: true }))
    expect(await res.json()).toMatchObject({ displayName: 'Greta (VIP)', labels: ['vip', 'de'], notes: 'Prefers mornings', optedOut: true })
    expect((await get('/contacts?optedOut=true')).items).toHaveLength(1)
    expect((await auditRows(t)).filter((r) => r.action === 'contact.opted_out').map((r) => r.target_id)).toEqual([greta.id])
    const empty = await t.request(`/api/v1/workspaces/${ws}/contacts/${greta.id}`, call(owner.who, 'PATCH', {}))
    expect(empty.status).toBe(422)
  })
})
