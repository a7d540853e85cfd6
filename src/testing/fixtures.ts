/**
 * Test worlds built straight through the repositories and services (fast: one password hash shared by
 * every fixture user), plus request helpers for the three ways to call wabox: anonymous, a browser
 * session (cookie + same-origin headers) and an API key.
 */
import type { Role, ApiKeyRole } from '../auth/permissions.ts'
import { hashPassword } from '../auth/passwords.ts'
import { createSession } from '../auth/sessions.ts'
import { systemCaller } from '../auth/principal.ts'
import { createApiKey, revokeApiKey } from '../auth/apikeys.service.ts'
import { iso, type Clock } from '../clock.ts'
import { newId } from '../crypto/tokens.ts'
import * as usersRepo from '../auth/users.repo.ts'
import * as workspacesRepo from '../workspaces/workspaces.repo.ts'
import * as membershipsRepo from '../workspaces/memberships.repo.ts'
import { createWorkspaceRecord } from '../workspaces/workspaces.service.ts'
import { inviteMember } from '../workspaces/invites.service.ts'
import type { ServiceDeps } from '../deps.ts'
import { createTestApp, type TestApp } from './test-app.ts'
import { tempDir } from './temp.ts'
import type { Config } from '../config.ts'
import type { Keyring } from '../crypto/envelope.ts'
import { cpSync } from 'node:fs'
import { sealSecret } from '../channels/channel-secrets.ts'
import { last4 } from '../lib/secrets.ts'
import * as channelsRepo from '../channels/channels.repo.ts'
import { NO_QR_COLUMNS } from '../channels/channels.table.ts'
import type { GraphDouble } from './graph-double.ts'
import { createEndpoint, sendTestEvent } from '../events/endpoints.service.ts'
import { createQrChannel } from '../channels/qr/qr-channels.service.ts'
import { contact as webhookContact, envelope, inboundText, messagesChange, signed, wamid, WABA_ID } from './webhooks.ts'

export const PASSWORD = 'fixture password 123'
let passwordHash: Promise<string> | undefined
const sharedHash = () => (passwordHash ??= hashPassword(PASSWORD))

export function servicesOf(t: TestApp): ServiceDeps {
  return t.services
}

export type Who = { headers: Record<string, string> }
export const anonymous: Who = { headers: {} }
export const withCookie = (cookie: string): Who => ({
  headers: { cookie, origin: 'http://localhost', 'sec-fetch-site': 'same-origin' },
})
export const withKey = (token: string): Who => ({ headers: { authorization: `Bearer ${token}` } })

/** Builds RequestInit for `who`, with a JSON body when given. */
export function call(who: Who, method: string, body?: unknown, extra: Record<string, string> = {}): RequestInit {
  return {
    method,
    headers: { ...who.headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...extra },
    body: body === undefined ? undefined : JSON.stringify(body),
  }
}

export type FixtureUser = { id: string; email: string; who: Who; sessionToken: string }

export async function makeUser(t: TestApp, email: string, opts: { operator?: boolean } = {}): Promise<FixtureUser> {
  const id = newId('usr')
  const at = iso(t.clock.now())
  await usersRepo.insertUser(t.db.db, {
    id,
    email,
    name: email.split('@')[0]!,
    password_hash: await sharedHash(),
    is_operator: opts.operator ? 1 : 0,
    created_at: at,
    password_changed_at: at,
  })
  const { token } = await createSession(t.db.db, t.clock, id, {
    ip: '203.0.113.10',
    requestId: 'fixture',
    userAgent: 'fixture',
    at: t.clock.now(),
  })
  return { id, email, who: withCookie(`wabox_session=${token}`), sessionToken: token }
}

export async function makeWorkspace(t: TestApp, name: string, owner: FixtureUser, plan = 'business'): Promise<string> {
  const caller = systemCaller('fixture', t.clock.now())
  return (await createWorkspaceRecord(t.db.db, caller, { name, plan, ownerUserId: owner.id })).id
}

export async function addMember(t: TestApp, workspaceId: string, user: FixtureUser, role: Role): Promise<void> {
  await membershipsRepo.insertMembership(t.db.db, workspaceId, user.id, role, iso(t.clock.now()))
}

/** A tenant context for calling services directly as the workspace's owner. */
export async function ownerContext(t: TestApp, workspaceId: string, owner: FixtureUser) {
  const workspace = (await workspacesRepo.findWorkspace(t.db.db, workspaceId))!
  return {
    caller: {
      actor: { type: 'user' as const, id: owner.id, label: owner.email, isOperator: false },
      meta: { ip: '203.0.113.10', requestId: 'fixture', userAgent: 'fixture', at: t.clock.now() },
    },
    workspace,
    role: 'owner' as Role,
  }
}

export async function makeKey(
  t: TestApp,
  workspaceId: string,
  owner: FixtureUser,
  role: ApiKeyRole,
  name = `${role} key`,
) {
  const key = await createApiKey(servicesOf(t), await ownerContext(t, workspaceId, owner), { name, role })
  return { id: key.id, token: key.token, who: withKey(key.token) }
}

let phoneSeq = 100_000_000
/** A fresh numeric phone-number id (Graph ids are digits). */
export const nextPhoneNumberId = () => `${String(++phoneSeq)}0000`

export type FixtureChannel = {
  id: string
  phoneNumberId: string
  accessToken: string
  appSecret: string
  verifyToken: string
}

/**
 * A connected Cloud API channel, written straight to the table with sealed credentials (the HTTP connect
 * path is tested on its own). The graph double, when given, learns the token and the number.
 */
export async function makeChannel(t: TestApp, workspaceId: string, graph?: GraphDouble): Promise<FixtureChannel> {
  const id = newId('ch')
  const phoneNumberId = nextPhoneNumberId()
  const secrets = {
    accessToken: `EAAtest${randomTail()}`,
    appSecret: `appsecret${randomTail()}`,
    verifyToken: `verify${randomTail()}`,
  }
  const at = iso(t.clock.now())
  const kr = t.deps.keyring
  await channelsRepo.insert(t.db.db, {
    id,
    workspace_id: workspaceId,
    ...NO_QR_COLUMNS,
    provider: 'cloud',
    name: 'Support line',
    status: 'active',
    phone_number_id: phoneNumberId,
    waba_id: WABA_ID,
    display_phone_number: '+1 555-078-3881',
    verified_name: 'Acme Support',
    quality_rating: 'GREEN',
    messaging_limit: null,
    account_status: null,
    access_token: sealSecret(kr, workspaceId, id, 'access_token', secrets.accessToken),
    access_token_last4: last4(secrets.accessToken),
    app_secret: sealSecret(kr, workspaceId, id, 'app_secret', secrets.appSecret),
    app_secret_last4: last4(secrets.appSecret),
    verify_token: sealSecret(kr, workspaceId, id, 'verify_token', secrets.verifyToken),
    verify_token_last4: last4(secrets.verifyToken),
    auth_failures: 0,
    send_rate: 80,
    created_at: at,
    updated_at: at,
    disconnected_at: null,
  })
  if (graph) {
    graph.addNumber(phoneNumberId)
    graph.addToken(secrets.accessToken, [phoneNumberId])
  }
  return { id, phoneNumberId, ...secrets }
}

const randomTail = () => Math.random().toString(36).slice(2, 12) + Math.random().toString(36).slice(2, 12)

/** Delivers a signed webhook to the app and waits until the inbox (and media downloads) are processed. */
export async function deliver(t: TestApp, channel: FixtureChannel, body: unknown) {
  const s = signed(body, channel.appSecret)
  const res = await t.request(`/webhooks/whatsapp/${channel.id}`, { method: 'POST', headers: s.headers, body: s.body })
  await t.runtime.processor.drain()
  await t.runtime.media.drain()
  return res
}

/** A conversation with one text and one image message (its media downloaded through the graph double). */
export async function seedConversation(
  t: TestApp,
  workspaceId: string,
  channel: FixtureChannel,
  graph: GraphDouble,
  from = '16505551234',
) {
  await deliver(t, channel, inboundText(channel.phoneNumberId, 'Hello there', { from }).body)
  const mediaId = String(Date.now()) + Math.floor(Math.random() * 1e6)
  const bytes = new TextEncoder().encode(`fake jpeg ${mediaId}`)
  graph.addMedia(mediaId, bytes, 'image/jpeg')
  const image = {
    from,
    id: wamid(),
    timestamp: '1749416400',
    type: 'image',
    image: {
      mime_type: 'image/jpeg',
      sha256: new Bun.CryptoHasher('sha256').update(bytes).digest('base64'),
      id: mediaId,
    },
  }
  await deliver(
    t,
    channel,
    envelope([messagesChange(channel.phoneNumberId, { contacts: [webhookContact(from)], messages: [image] })]),
  )
  const db = t.db.db
  const contact = await db
    .selectFrom('contacts')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('wa_id', '=', from)
    .executeTakeFirstOrThrow()
  const conversation = await db
    .selectFrom('conversations')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('contact_id', '=', contact.id)
    .executeTakeFirstOrThrow()
  const message = await db
    .selectFrom('messages')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('wamid', '=', image.id)
    .executeTakeFirstOrThrow()
  return { contactId: contact.id, conversationId: conversation.id, messageId: message.id }
}

/**
 * Workspace A with one user per role, API keys per key role, a revoked key, a removed member (signed in
 * again, so only the membership check stands between them and A), a pending invite and target objects;
 * workspace B, a separate tenant with its own member, invite and key.
 */
export async function buildWorld(t: TestApp, graph?: GraphDouble) {
  const owner = await makeUser(t, 'owner@a.example')
  const a = await makeWorkspace(t, 'Workspace A', owner)
  const users: Record<Role, FixtureUser> = {
    owner,
    admin: await makeUser(t, 'admin@a.example'),
    agent: await makeUser(t, 'agent@a.example'),
    analyst: await makeUser(t, 'analyst@a.example'),
  }
  for (const role of ['admin', 'agent', 'analyst'] as const) await addMember(t, a, users[role], role)
  // A second Owner, so that an Owner leaving is allowed (the last Owner never can).
  const coOwner = await makeUser(t, 'co-owner@a.example')
  await addMember(t, a, coOwner, 'owner')
  const target = await makeUser(t, 'target@a.example')
  await addMember(t, a, target, 'agent')
  const removed = await makeUser(t, 'removed@a.example')
  await addMember(t, a, removed, 'agent')
  await membershipsRepo.deleteMembership(t.db.db, a, removed.id)
  const keys = {
    admin: await makeKey(t, a, owner, 'admin'),
    agent: await makeKey(t, a, owner, 'agent'),
    analyst: await makeKey(t, a, owner, 'analyst'),
  }
  const targetKey = await makeKey(t, a, owner, 'analyst', 'target key')
  const revoked = await makeKey(t, a, owner, 'agent', 'revoked key')
  await revokeApiKey(servicesOf(t), await ownerContext(t, a, owner), revoked.id)
  const invite = await inviteMember(servicesOf(t), await ownerContext(t, a, owner), {
    email: 'invitee@a.example',
    role: 'agent',
    expiresInHours: 48,
  })

  const ownerB = await makeUser(t, 'owner@b.example')
  const b = await makeWorkspace(t, 'Workspace B', ownerB)
  const memberB = await makeUser(t, 'member@b.example')
  await addMember(t, b, memberB, 'agent')
  const keyB = await makeKey(t, b, ownerB, 'admin')
  const inviteB = await inviteMember(servicesOf(t), await ownerContext(t, b, ownerB), {
    email: 'invitee@b.example',
    role: 'agent',
    expiresInHours: 48,
  })

  // Messaging objects need the graph double (media downloads); worlds without one skip them.
  const inboxA = graph ? await messagingObjects(t, a, graph, '16505550001') : null
  const inboxB = graph ? await messagingObjects(t, b, graph, '16505550002') : null
  const hooksA = await webhookObjects(t, a, owner)
  const hooksB = await webhookObjects(t, b, ownerB)
  const qrA = await makeQrChannel(t, a, owner)
  const qrB = await makeQrChannel(t, b, ownerB)
  return {
    a: {
      id: a,
      name: 'Workspace A',
      users,
      coOwner,
      target,
      removed,
      keys,
      targetKey,
      revoked,
      inviteId: invite.invite.id,
      inbox: inboxA,
      hooks: hooksA,
      qrChannelId: qrA,
    },
    b: {
      id: b,
      name: 'Workspace B',
      owner: ownerB,
      member: memberB,
      key: keyB,
      inviteId: inviteB.invite.id,
      inbox: inboxB,
      hooks: hooksB,
      qrChannelId: qrB,
    },
  }
}
export type World = Awaited<ReturnType<typeof buildWorld>>

/**
 * The world of buildWorld, built once, for tests that need a fresh copy of it many times over (the access
 * matrix: one per caller of every route that changes something). The first call builds it in an app of its own
 * and keeps what the copy needs: the serialized database, the key its secrets are sealed with and the data
 * directory (downloaded media). Each call then returns a new app on a copy of all three, with the QR sessions
 * started as `serve` starts them (the linking ones show a QR again).
 */
export function worldFactory(graph: GraphDouble, opts: { config?: Partial<Config> } = {}) {
  let template: Promise<{ image: Buffer; keyring: Keyring | undefined; dataDir: string; world: World }> | undefined
  const build = async () => {
    const t = await createTestApp({ graph, config: opts.config })
    const world = await buildWorld(t, graph)
    await t.runtime.writer.flush()
    await t.runtime.processor.drain()
    await t.runtime.media.drain()
    await t.runtime.qr.stopAll()
    const image = t.db.sqlite.serialize()
    const kept = { image, keyring: t.deps.keyring, dataDir: t.config.dataDir, world }
    await t.close()
    return kept
  }
  return async (): Promise<{ t: TestApp; w: World }> => {
    const { image, keyring, dataDir, world } = await (template ??= build())
    const copyDir = tempDir('wabox-test-data')
    cpSync(dataDir, copyDir, { recursive: true })
    const t = await createTestApp({ graph, image, keyring, config: { ...opts.config, dataDir: copyDir } })
    await t.runtime.qr.startAll()
    for (const id of [world.a.qrChannelId, world.b.qrChannelId]) await t.runtime.qr.get(id)?.idle()
    return { t, w: world }
  }
}

/** A QR channel waiting to be linked (the test app's scripted socket shows a QR at once). */
export async function makeQrChannel(
  t: TestApp,
  workspaceId: string,
  owner: FixtureUser,
  name = 'Shop phone',
): Promise<string> {
  const { channel } = await createQrChannel(servicesOf(t), t.runtime.qr, await ownerContext(t, workspaceId, owner), {
    name,
  })
  await t.runtime.qr.get(channel.id)?.idle()
  return channel.id
}

/** A webhook endpoint (a public address literal: nothing is sent unless a test drains the dispatcher) and one delivery. */
async function webhookObjects(t: TestApp, workspaceId: string, owner: FixtureUser) {
  const ctx = await ownerContext(t, workspaceId, owner)
  const { endpoint } = await createEndpoint(servicesOf(t), ctx, {
    url: 'https://93.184.215.14/hooks/wabox',
    eventTypes: ['*'],
    description: 'fixture',
    enabled: true,
  })
  const delivery = await sendTestEvent(servicesOf(t), ctx, endpoint.id)
  return { endpointId: endpoint.id, deliveryId: delivery.id }
}

async function messagingObjects(t: TestApp, workspaceId: string, graph: GraphDouble, from: string) {
  const channel = await makeChannel(t, workspaceId, graph)
  const seeded = await seedConversation(t, workspaceId, channel, graph, from)
  // A number the workspace could connect next (registered with Meta's double under its own token).
  const spare = { phoneNumberId: nextPhoneNumberId(), token: `EAAspare${randomTail()}` }
  graph.addNumber(spare.phoneNumberId)
  graph.addToken(spare.token, [spare.phoneNumberId])
  return { channel, ...seeded, spare }
}

/**
 * A clock that moves only when told. Its timers fire, in order of their time, as `advance`/`set` pass them (a timer
 * set by a timer that fires inside the same advance fires too, if it is due); `advanceAsync` also lets the promise
 * work each timer starts settle before the next one fires.
 */
export type ManualClock = Clock & {
  advance: (ms: number) => void
  set: (ms: number) => void
  advanceAsync: (ms: number) => Promise<void>
  /** Timers waiting to fire. */
  pending: () => number
}

export function manualClock(start = Date.parse('2026-11-22T10:00:00Z')): ManualClock {
  let now = start
  let nextId = 1
  const timers = new Map<number, { at: number; fn: () => void }>()
  const nextDue = (until: number) => {
    let best: [number, { at: number; fn: () => void }] | undefined
    for (const entry of timers) if (entry[1].at <= until && (!best || entry[1].at < best[1].at)) best = entry
    return best
  }
  const runUntil = (until: number) => {
    for (let due = nextDue(until); due; due = nextDue(until)) {
      timers.delete(due[0])
      now = Math.max(now, due[1].at)
      due[1].fn()
    }
    now = Math.max(now, until)
  }
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId++
      timers.set(id, { at: now + Math.max(0, ms), fn })
      return { id }
    },
    clearTimeout(handle) {
      if (handle) timers.delete(handle.id)
    },
    advance: (ms: number) => runUntil(now + ms),
    set(ms: number) {
      if (ms < now) now = ms
      runUntil(ms)
    },
    async advanceAsync(ms: number) {
      const until = now + ms
      for (let due = nextDue(until); due; due = nextDue(until)) {
        timers.delete(due[0])
        now = Math.max(now, due[1].at)
        due[1].fn()
        // Let what the timer started (promise chains, I/O already complete) run before the next one fires.
        for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
      }
      now = Math.max(now, until)
    },
    pending: () => timers.size,
  }
}

/** The `name=value` part of a response's Set-Cookie, for sending back. */
export function cookieFrom(res: Response): string {
  const header = res.headers.get('set-cookie')
  if (!header) throw new Error(`no Set-Cookie on a ${res.status} response`)
  return header.split(';')[0]!
}

/** All audit rows (newest last), straight from the table. */
export async function auditRows(t: TestApp) {
  return t.db.db.selectFrom('audit_log').selectAll().orderBy('id').execute()
}
