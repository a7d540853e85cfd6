import { afterAll, describe, expect, test } from 'bun:test'
import { createTestApp, type TestApp } from '../testing/test-app.ts'
import { startGraphDouble } from '../testing/graph-double.ts'
import {
  auditRows,
  call,
  deliver,
  makeChannel,
  makeUser,
  makeWorkspace,
  nextPhoneNumberId,
  seedConversation,
  type FixtureUser,
} from '../testing/fixtures.ts'
import { envelope, messagesChange, contact, wamid } from '../testing/webhooks.ts'
import { REAUTH_AFTER_FAILURES } from './channel-health.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

async function setup(plan = 'business') {
  const t = await createTestApp({ graph })
  const owner = await makeUser(t, 'owner@example.com')
  const ws = await makeWorkspace(t, 'Acme', owner, plan)
  return { t, owner, ws }
}

function newNumber() {
  const phoneNumberId = nextPhoneNumberId()
  const accessToken = `EAAG${crypto.randomUUID().replace(/-/g, '')}TOKEN`
  graph.addNumber(phoneNumberId, { display: '+44 20 7946 0958', verifiedName: 'Acme Ltd' })
  graph.addToken(accessToken, [phoneNumberId])
  return { phoneNumberId, accessToken }
}

const connect = (t: TestApp, who: FixtureUser, ws: string, body: Record<string, unknown>) =>
  t.request(`/api/v1/workspaces/${ws}/channels`, call(who.who, 'POST', body))

describe('connecting a Cloud API number', () => {
  test('checks the token with Meta, seals every credential, shows only the last 4, returns the verify token once', async () => {
    const { t, owner, ws } = await setup()
    const n = newNumber()
    const appSecret = 'appsecret-0123456789abcdef'
    const res = await connect(t, owner, ws, {
      name: 'Support',
      accessToken: n.accessToken,
      phoneNumberId: n.phoneNumberId,
      wabaId: '102290129340398',
      appSecret,
    })
    expect(res.status).toBe(201)
    const body = await res.json()
    expect(body.channel).toMatchObject({
      name: 'Support',
      status: 'active',
      phoneNumberId: n.phoneNumberId,
      displayPhoneNumber: '+44 20 7946 0958',
      verifiedName: 'Acme Ltd',
      credentials: {
        accessToken: `••••${n.accessToken.slice(-4)}`,
        appSecret: '••••cdef',
        verifyToken: `••••${body.webhook.verifyToken.slice(-4)}`,
      },
    })
    expect(body.webhook.url).toBe(`http://localhost:8080/webhooks/whatsapp/${body.channel.id}`)
    expect(body.webhook.verifyToken).toMatch(/^[A-Za-z0-9]{32}$/)
    // Meta was asked about this number with this token.
    const lookup = graph.calls.find((c) => c.path.startsWith(`/v24.0/${n.phoneNumberId}?`))!
    expect(lookup.authorization).toBe(`Bearer ${n.accessToken}`)

    // At rest: envelopes, not the values.
    const row = await t.db.db
      .selectFrom('channels')
      .selectAll()
      .where('id', '=', body.channel.id)
      .executeTakeFirstOrThrow()
    for (const [column, secret] of [
      ['access_token', n.accessToken],
      ['app_secret', appSecret],
      ['verify_token', body.webhook.verifyToken],
    ] as const) {
      expect(row[column]).toStartWith('v1.')
      expect(JSON.stringify(row)).not.toContain(secret)
    }
    // Afterwards, nobody sees the verify token again.
    const again = await (
      await t.request(`/api/v1/workspaces/${ws}/channels/${body.channel.id}`, call(owner.who, 'GET'))
    ).text()
    expect(again).not.toContain(body.webhook.verifyToken)
    expect(again).not.toContain(n.accessToken)
    // The handshake works with it.
    const hs = await t.request(
      `/webhooks/whatsapp/${body.channel.id}?hub.mode=subscribe&hub.challenge=42&hub.verify_token=${body.webhook.verifyToken}`,
    )
    expect(await hs.text()).toBe('42')
    const audit = (await auditRows(t)).find((r) => r.action === 'channel.connected')!
    expect(JSON.parse(audit.metadata)).toMatchObject({
      phoneNumberId: n.phoneNumberId,
      displayPhoneNumber: '+44 20 7946 0958',
    })
  })

  test('a bad token, an unknown number, an unreachable Meta, a duplicate number and the plan limit are clear 4xx/5xx answers', async () => {
    const { t, owner, ws } = await setup()
    const n = newNumber()
    const base = {
      name: 'X',
      phoneNumberId: n.phoneNumberId,
      wabaId: '102290129340398',
      appSecret: 'appsecret-value-1',
    }
    const badToken = await connect(t, owner, ws, { ...base, accessToken: 'EAAGnot-a-real-token' })
    expect(badToken.status).toBe(422)
    expect(await badToken.json()).toMatchObject({ code: 'invalid_access_token', errors: [{ field: 'accessToken' }] })
    const unknownNumber = await connect(t, owner, ws, {
      ...base,
      phoneNumberId: '55555555555',
      accessToken: n.accessToken,
    })
    expect(unknownNumber.status).toBe(422)
    expect((await unknownNumber.json()).code).toBe('phone_number_unavailable')
    graph.failNext({
      path: new RegExp(n.phoneNumberId),
      times: 1,
      status: 503,
      code: 2,
      message: 'Service temporarily unavailable',
    })
    const down = await connect(t, owner, ws, { ...base, accessToken: n.accessToken })
    expect(down.status).toBe(502)
    expect((await down.json()).code).toBe('graph_unavailable')
    const invalid = await connect(t, owner, ws, { ...base, phoneNumberId: 'abc', accessToken: 'short' })
    expect(invalid.status).toBe(422)
    expect((await invalid.json()).errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'accessToken',
      'phoneNumberId',
    ])
    expect(await t.db.db.selectFrom('channels').selectAll().execute()).toEqual([])

    expect((await connect(t, owner, ws, { ...base, accessToken: n.accessToken })).status).toBe(201)
    const dup = await connect(t, owner, ws, { ...base, accessToken: n.accessToken })
    expect(dup.status).toBe(409)
    // Secrets never echo in any of these answers.
    for (const res of [badToken, unknownNumber, dup]) expect(JSON.stringify(res)).not.toContain('appsecret-value-1')

    const free = await setup('free')
    await makeChannel(free.t, free.ws)
    const n2 = newNumber()
    const over = await connect(free.t, free.owner, free.ws, {
      ...base,
      phoneNumberId: n2.phoneNumberId,
      accessToken: n2.accessToken,
    })
    expect(over.status).toBe(402)
    expect((await over.json()).detail).toContain('allows 1 channels')
  })

  test('Meta unreachable → 502, not a 500', async () => {
    const t = await createTestApp({ config: { graphBaseUrl: 'http://127.0.0.1:1' } })
    const owner = await makeUser(t, 'owner@example.com')
    const ws = await makeWorkspace(t, 'Acme', owner)
    const res = await connect(t, owner, ws, {
      name: 'X',
      phoneNumberId: '123456789',
      wabaId: '102290129340398',
      appSecret: 'appsecret-value-1',
      accessToken: 'EAAGsomething-long',
    })
    expect(res.status).toBe(502)
    expect((await res.json()).code).toBe('graph_unreachable')
  })
})

describe('credentials and health', () => {
  test('rotate: a new token is checked; the app secret and verify token are replaced; audited without values', async () => {
    const { t, owner, ws } = await setup()
    const channel = await makeChannel(t, ws, graph)
    const newToken = `EAAGrotated${crypto.randomUUID().replace(/-/g, '')}`
    const rejected = await t.request(
      `/api/v1/workspaces/${ws}/channels/${channel.id}/credentials`,
      call(owner.who, 'POST', { accessToken: newToken }),
    )
    expect(rejected.status).toBe(422)
    graph.addToken(newToken, [channel.phoneNumberId])
    const res = await t.request(
      `/api/v1/workspaces/${ws}/channels/${channel.id}/credentials`,
      call(owner.who, 'POST', {
        accessToken: newToken,
        appSecret: 'brand-new-app-secret',
        regenerateVerifyToken: true,
      }),
    )
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.channel.credentials.accessToken).toBe(`••••${newToken.slice(-4)}`)
    expect(body.webhook.verifyToken).toMatch(/^[A-Za-z0-9]{32}$/)
    // Webhooks signed with the old app secret are refused at once; the new one works.
    const { signed } = await import('../testing/webhooks.ts')
    const payload = envelope([
      messagesChange(channel.phoneNumberId, {
        contacts: [contact()],
        messages: [{ from: '16505551234', id: wamid(), timestamp: '1749416383', type: 'text', text: { body: 'x' } }],
      }),
    ])
    const old = signed(payload, channel.appSecret)
    expect(
      (await t.request(`/webhooks/whatsapp/${channel.id}`, { method: 'POST', headers: old.headers, body: old.body }))
        .status,
    ).toBe(401)
    const fresh = signed(payload, 'brand-new-app-secret')
    expect(
      (
        await t.request(`/webhooks/whatsapp/${channel.id}`, {
          method: 'POST',
          headers: fresh.headers,
          body: fresh.body,
        })
      ).status,
    ).toBe(200)
    const audit = (await auditRows(t)).find((r) => r.action === 'channel.credentials_changed')!
    expect(JSON.parse(audit.metadata)).toEqual({ changed: ['accessToken', 'appSecret', 'verifyToken'] })
    expect(JSON.stringify(await auditRows(t))).not.toContain('brand-new-app-secret')
  })

  test(`${REAUTH_AFTER_FAILURES} authentication failures (code 190) flip the channel to needs_reauth, audited once; a new token clears it`, async () => {
    const { t, owner, ws } = await setup()
    const channel = await makeChannel(t, ws, graph)
    graph.revokeToken(channel.accessToken)
    for (let i = 0; i < REAUTH_AFTER_FAILURES + 1; i++) {
      const mediaId = `77${i}${Date.now()}`
      graph.addMedia(mediaId, new Uint8Array([1, 2, 3]), 'image/jpeg')
      await deliver(
        t,
        channel,
        envelope([
          messagesChange(channel.phoneNumberId, {
            contacts: [contact()],
            messages: [
              {
                from: '16505551234',
                id: wamid(),
                timestamp: '1749416383',
                type: 'image',
                image: { mime_type: 'image/jpeg', id: mediaId },
              },
            ],
          }),
        ]),
      )
    }
    const view = await (
      await t.request(`/api/v1/workspaces/${ws}/channels/${channel.id}`, call(owner.who, 'GET'))
    ).json()
    expect(view.status).toBe('needs_reauth')
    const flips = (await auditRows(t)).filter((r) => r.action === 'channel.needs_reauth')
    expect(flips).toHaveLength(1)
    expect(JSON.parse(flips[0]!.metadata)).toMatchObject({ code: 190 })
    expect(t.logLines.join('\n')).not.toContain(channel.accessToken)

    const fresh = `EAAGfresh${crypto.randomUUID().replace(/-/g, '')}`
    graph.addToken(fresh, [channel.phoneNumberId])
    const res = await t.request(
      `/api/v1/workspaces/${ws}/channels/${channel.id}/credentials`,
      call(owner.who, 'POST', { accessToken: fresh }),
    )
    expect((await res.json()).channel.status).toBe('active')
  })

  test('disconnect wipes the credentials and keeps the history', async () => {
    const { t, owner, ws } = await setup()
    const channel = await makeChannel(t, ws, graph)
    await seedConversation(t, ws, channel, graph)
    expect((await t.request(`/api/v1/workspaces/${ws}/channels/${channel.id}`, call(owner.who, 'DELETE'))).status).toBe(
      204,
    )
    const row = await t.db.db.selectFrom('channels').selectAll().where('id', '=', channel.id).executeTakeFirstOrThrow()
    expect(row).toMatchObject({ status: 'disconnected', access_token: null, app_secret: null, verify_token: null })
    const conversations = await (
      await t.request(`/api/v1/workspaces/${ws}/conversations`, call(owner.who, 'GET'))
    ).json()
    expect(conversations.items).toHaveLength(1)
    expect((await auditRows(t)).filter((r) => r.action === 'channel.disconnected')).toHaveLength(1)
    // The number can be connected again (here or elsewhere).
    graph.addToken('EAAGreconnect-token-1', [channel.phoneNumberId])
    const again = await connect(t, owner, ws, {
      name: 'Back',
      accessToken: 'EAAGreconnect-token-1',
      phoneNumberId: channel.phoneNumberId,
      wabaId: '102290129340398',
      appSecret: 'appsecret-value-2',
    })
    expect(again.status).toBe(201)
  })
})

describe('secrets never leak', () => {
  test('access token and app secret appear in no response, log line or audit row, whatever path they take', async () => {
    const { t, owner, ws } = await setup()
    const n = newNumber()
    const appSecret = 'SECRET-app-secret-zz9'
    const texts: string[] = []
    const keep = async (res: Response) => {
      texts.push(res.status === 204 ? '' : await res.clone().text())
      return res
    }
    await keep(
      await connect(t, owner, ws, {
        name: 'A',
        accessToken: 'EAAGwrong-token-SECRET1',
        phoneNumberId: n.phoneNumberId,
        wabaId: '102290129340398',
        appSecret,
      }),
    )
    const ok = await keep(
      await connect(t, owner, ws, {
        name: 'B',
        accessToken: n.accessToken,
        phoneNumberId: n.phoneNumberId,
        wabaId: '102290129340398',
        appSecret,
      }),
    )
    const id = (await ok.json()).channel.id
    await keep(await t.request(`/api/v1/workspaces/${ws}/channels`, call(owner.who, 'GET')))
    await keep(
      await t.request(
        `/api/v1/workspaces/${ws}/channels/${id}/credentials`,
        call(owner.who, 'POST', { accessToken: 'EAAGrejected-SECRET2' }),
      ),
    )
    await keep(
      await t.request(
        `/api/v1/workspaces/${ws}/channels/${id}/credentials`,
        call(owner.who, 'POST', { appSecret: 'SECRET-rotated-secret3' }),
      ),
    )
    await keep(await t.request(`/api/v1/workspaces/${ws}/audit`, call(owner.who, 'GET')))
    await Bun.sleep(10)
    const everything = {
      responses: texts.join('\n'),
      logs: t.logLines.join('\n'),
      audit: JSON.stringify(await auditRows(t)),
    }
    for (const secret of [
      n.accessToken,
      appSecret,
      'EAAGwrong-token-SECRET1',
      'EAAGrejected-SECRET2',
      'SECRET-rotated-secret3',
    ]) {
      for (const [where, text] of Object.entries(everything))
        expect({ where, secret, leaked: text.includes(secret) }).toEqual({ where, secret, leaked: false })
    }
  })
})
