/**
 * The access-control matrix, generated from the route inventory and the permission table:
 * every registered route × every kind of caller → the status the table implies.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { startGraphDouble } from '../testing/graph-double.ts'
import { Elysia } from 'elysia'
import { PERMISSIONS, can, type Permission, type Role } from './permissions.ts'
import { createTestApp, type TestApp } from '../testing/test-app.ts'
import {
  anonymous,
  buildWorld,
  call,
  makeUser,
  PASSWORD,
  worldFactory,
  type Who,
  type World,
} from '../testing/fixtures.ts'

type RouteInfo = { method: string; path: string; rule: string; sessionOnly: boolean }

// `metrics`: the Prometheus scrape, for loopback or the configured networks/token only (src/metrics/metrics.test.ts).
const ACCESS_RULES = new Set(['public', 'authenticated', 'operator', 'metrics', ...Object.keys(PERMISSIONS)])

function inventory(app: {
  routes: { method: string; path: string; hooks?: { detail?: Record<string, unknown> } }[]
}): RouteInfo[] {
  return app.routes
    .filter((r) => r.method !== 'HEAD')
    .map((r) => ({
      method: r.method,
      path: r.path,
      rule: String(r.hooks?.detail?.['x-permission'] ?? ''),
      sessionOnly: r.hooks?.detail?.['x-session-only'] === true,
    }))
}

type Ids = {
  workspaceId: string
  userId: string
  inviteId: string
  keyId: string
  channelId: string
  conversationId: string
  messageId: string
  contactId: string
  endpointId: string
  deliveryId: string
  qrChannelId: string
}

/** Fills path parameters with workspace A's objects (or B's, for cross-tenant checks). */
function pathFor(route: RouteInfo, ids: Ids): string {
  // QR linking routes act on the QR channel.
  const qrRoute = /\/channels\/:channelId\/(qr|pairing-code|link)/.test(route.path)
  return route.path.replace(/:(\w+)/g, (_, name: string) => {
    const value = qrRoute && name === 'channelId' ? ids.qrChannelId : ids[name as keyof Ids]
    if (value === undefined) throw new Error(`no fixture for :${name} in ${route.path}`)
    return value
  })
}

const graph = await startGraphDouble()
afterAll(() => graph.stop())
const newApp = () => createTestApp({ graph })
/** A copy of one world built once (fixtures.ts worldFactory): each is as fresh as a newly built one. */
const freshWorld = worldFactory(graph)

/** A valid body for each route that takes one: allowed callers must get a 2xx, not a validation error. */
const SAMPLE_BODIES: Record<string, (w: World) => unknown> = {
  'PATCH /api/v1/workspaces/:workspaceId': () => ({ name: 'Renamed A' }),
  'DELETE /api/v1/workspaces/:workspaceId': (w) => ({ confirmName: w.a.name }),
  'POST /api/v1/workspaces/:workspaceId/transfer-ownership': (w) => ({ userId: w.a.target.id }),
  'PATCH /api/v1/workspaces/:workspaceId/members/:userId': () => ({ role: 'analyst' }),
  'POST /api/v1/workspaces/:workspaceId/invites': () => ({ email: 'new.person@a.example', role: 'agent' }),
  'POST /api/v1/workspaces/:workspaceId/api-keys': () => ({ name: 'matrix key', role: 'analyst' }),
  'POST /api/v1/admin/workspaces': () => ({ name: 'Created by operator' }),
  'PUT /api/v1/admin/workspaces/:workspaceId/plan': () => ({ plan: 'team' }),
  'POST /api/v1/me/password': () => ({ currentPassword: PASSWORD, newPassword: 'a brand new password 1' }),
  'POST /api/v1/workspaces/:workspaceId/channels': (w) => ({
    name: 'Second line',
    accessToken: w.a.inbox!.spare.token,
    phoneNumberId: w.a.inbox!.spare.phoneNumberId,
    wabaId: '102290129340398',
    appSecret: 'a fresh app secret',
  }),
  'PATCH /api/v1/workspaces/:workspaceId/channels/:channelId': () => ({ name: 'Renamed line' }),
  'POST /api/v1/workspaces/:workspaceId/channels/:channelId/credentials': () => ({
    appSecret: 'rotated app secret value',
  }),
  'PATCH /api/v1/workspaces/:workspaceId/contacts/:contactId': () => ({ labels: ['vip'] }),
  'POST /api/v1/workspaces/:workspaceId/intake/dead/replay': () => ({}),
  'POST /api/v1/workspaces/:workspaceId/inbox/dead/replay': () => ({}),
  // A template: the seeded conversation's last message is older than the 24-hour window.
  'POST /api/v1/workspaces/:workspaceId/media': (w) => {
    const form = new FormData()
    form.set('channelId', w.a.inbox!.channel.id)
    form.set('file', new File([new Uint8Array([0xff, 0xd8, 0xff])], 'a.jpg', { type: 'image/jpeg' }))
    return form
  },
  'POST /api/v1/workspaces/:workspaceId/channels/:channelId/pairing-code': () => ({ phoneNumber: '4915112345678' }),
  'PATCH /api/v1/workspaces/:workspaceId/conversations/:conversationId': () => ({ status: 'closed' }),
  'POST /api/v1/workspaces/:workspaceId/webhooks': () => ({
    url: 'https://93.184.215.14/another',
    eventTypes: ['message.received'],
  }),
  'PATCH /api/v1/workspaces/:workspaceId/webhooks/:endpointId': () => ({ description: 'renamed' }),
  'POST /api/v1/workspaces/:workspaceId/webhooks/:endpointId/rotate-secret': () => ({ overlapHours: 1 }),
  'POST /api/v1/workspaces/:workspaceId/webhook-deliveries/replay': (w) => ({
    endpointId: w.a.hooks.endpointId,
    from: '2020-01-01T00:00:00Z',
    to: '2100-01-01T00:00:00Z',
  }),
  'POST /api/v1/workspaces/:workspaceId/messages': (w) => ({
    conversationId: w.a.inbox!.conversationId,
    type: 'template',
    template: { name: 'hello_world', language: 'en_US' },
  }),
}

const aIds = (w: World): Ids => ({
  workspaceId: w.a.id,
  userId: w.a.target.id,
  inviteId: w.a.inviteId,
  keyId: w.a.targetKey.id,
  channelId: w.a.inbox!.channel.id,
  conversationId: w.a.inbox!.conversationId,
  messageId: w.a.inbox!.messageId,
  contactId: w.a.inbox!.contactId,
  endpointId: w.a.hooks.endpointId,
  deliveryId: w.a.hooks.deliveryId,
  qrChannelId: w.a.qrChannelId,
})
const bIds = (w: World): Ids => ({
  workspaceId: w.b.id,
  userId: w.b.member.id,
  inviteId: w.b.inviteId,
  keyId: w.b.key.id,
  channelId: w.b.inbox!.channel.id,
  conversationId: w.b.inbox!.conversationId,
  messageId: w.b.inbox!.messageId,
  contactId: w.b.inbox!.contactId,
  endpointId: w.b.hooks.endpointId,
  deliveryId: w.b.hooks.deliveryId,
  qrChannelId: w.b.qrChannelId,
})

async function send(t: TestApp, w: World, route: RouteInfo, who: Who, ids = aIds(w)) {
  const sample = SAMPLE_BODIES[`${route.method} ${route.path}`]?.(w)
  // Uploads go as multipart, everything else as JSON.
  if (sample instanceof FormData)
    return t.request(pathFor(route, ids), { method: route.method, headers: who.headers, body: sample })
  return t.request(pathFor(route, ids), call(who, route.method, sample))
}

const ROLES: Role[] = ['owner', 'admin', 'agent', 'analyst']
type Principal = {
  name: string
  who: (w: World) => Who
  expect: (perm: Permission, sessionOnly: boolean) => number | 'allowed'
}
const PRINCIPALS: Principal[] = [
  ...ROLES.map((role) => ({
    name: `${role} (session)`,
    who: (w: World) => w.a.users[role].who,
    expect: (perm: Permission) => (can(role, perm) ? ('allowed' as const) : 403),
  })),
  ...(['admin', 'agent', 'analyst'] as const).map((role) => ({
    name: `${role} API key`,
    who: (w: World) => w.a.keys[role].who,
    expect: (perm: Permission, sessionOnly: boolean) => (can(role, perm) && !sessionOnly ? ('allowed' as const) : 403),
  })),
  { name: 'no credentials', who: () => anonymous, expect: () => 401 },
  { name: 'revoked API key', who: (w) => w.a.revoked.who, expect: () => 401 },
  { name: 'removed member (signed in again)', who: (w) => w.a.removed.who, expect: () => 404 },
]

const probe = await newApp()
const routes = inventory(probe.app as never)
const tenantRoutes = routes.filter((r) => r.rule in PERMISSIONS)

describe('route inventory', () => {
  test('deny by default: every route declares a permission or an explicit public marker', () => {
    const unmarked = routes.filter((r) => !ACCESS_RULES.has(r.rule)).map((r) => `${r.method} ${r.path}`)
    expect(unmarked).toEqual([])
    expect(tenantRoutes.length).toBeGreaterThanOrEqual(15)
    // Every tenant route is scoped by the workspace in its path.
    expect(tenantRoutes.filter((r) => !r.path.includes(':workspaceId'))).toEqual([])
  })

  test('the inventory check catches a route added without a marker', () => {
    const app = new Elysia()
      .get('/api/v1/forgotten', () => 'oops')
      .get('/ok', () => 'ok', { detail: { 'x-permission': 'public' } as never })
    const unmarked = inventory(app as never).filter((r) => !ACCESS_RULES.has(r.rule))
    expect(unmarked.map((r) => r.path)).toEqual(['/api/v1/forgotten'])
  })

  test('every route that takes a body has a sample in this matrix', () => {
    for (const r of routes.filter(
      (r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) && r.rule !== 'public',
    )) {
      const hooks = (
        probe.app as never as { routes: { method: string; path: string; hooks: { body?: unknown } }[] }
      ).routes.find((x) => x.method === r.method && x.path === r.path)!.hooks
      if (hooks.body)
        expect({ route: `${r.method} ${r.path}`, sample: `${r.method} ${r.path}` in SAMPLE_BODIES }).toEqual({
          route: `${r.method} ${r.path}`,
          sample: true,
        })
    }
  })

  test('OpenAPI documents each route with its access rule', async () => {
    const spec = await (await probe.request('/docs/json')).json()
    for (const r of routes.filter((r) => r.path.startsWith('/api/'))) {
      // The document drops a trailing slash (/api/v1/workspaces/ is served as /api/v1/workspaces too).
      const op = spec.paths[r.path.replace(/(.)\/$/, '$1').replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()]
      expect({ route: `${r.method} ${r.path}`, permission: op?.['x-permission'] }).toEqual({
        route: `${r.method} ${r.path}`,
        permission: r.rule,
      })
      // The security requirement follows the access macro: public → none; a person → the session; a permission → session or API key.
      const schemes = (op?.security ?? []).flatMap((s: Record<string, unknown>) => Object.keys(s)).sort()
      const expected =
        r.rule === 'public'
          ? []
          : r.rule === 'metrics'
            ? ['metricsToken']
            : r.rule === 'authenticated' || r.rule === 'operator' || r.sessionOnly
              ? ['session']
              : ['apiKey', 'session']
      expect({ route: `${r.method} ${r.path}`, schemes }).toEqual({ route: `${r.method} ${r.path}`, schemes: expected })
    }
  })
})

describe('role × permission × route matrix', () => {
  for (const route of tenantRoutes) {
    test(`${route.method} ${route.path} [${route.rule}${route.sessionOnly ? ', session only' : ''}]`, async () => {
      let shared: { t: TestApp; w: World } | undefined
      for (const principal of PRINCIPALS) {
        // A fresh world per caller for changes (an allowed DELETE must not change what the next caller
        // sees); reads share one.
        if (route.method !== 'GET' || !shared) {
          await shared?.t.close()
          shared = await freshWorld()
        }
        const { t, w } = shared
        const res = await send(t, w, route, principal.who(w))
        const expected = principal.expect(route.rule as Permission, route.sessionOnly)
        // A live stream never ends by itself: its status is the answer.
        const streaming = res.headers.get('content-type')?.startsWith('text/event-stream')
        if (streaming) await res.body?.cancel()
        const body = res.status === 204 || streaming ? '' : await res.text()
        if (expected === 'allowed') {
          expect({
            caller: principal.name,
            status: res.status,
            ok: res.status >= 200 && res.status < 300,
            body: res.ok ? '' : body,
          }).toEqual({
            caller: principal.name,
            status: res.status,
            ok: true,
            body: '',
          })
        } else {
          expect({ caller: principal.name, status: res.status }).toEqual({ caller: principal.name, status: expected })
          expect(JSON.parse(body).status).toBe(expected)
        }
      }
      await shared?.t.close()
    })
  }
})

describe('cross-tenant isolation', () => {
  test("workspace A's credentials with workspace B's ids → 404 on every tenant route, and nothing of B in the body", async () => {
    const t = await newApp()
    const w = await buildWorld(t, graph)
    const bStrings = [
      w.b.id,
      w.b.name,
      w.b.owner.email,
      w.b.member.email,
      w.b.member.id,
      w.b.inviteId,
      w.b.key.id,
      'invitee@b.example',
      w.b.inbox!.channel.id,
      w.b.inbox!.conversationId,
      w.b.inbox!.contactId,
      '16505550002',
      w.b.hooks.endpointId,
      w.b.hooks.deliveryId,
      w.b.qrChannelId,
    ]
    for (const route of tenantRoutes) {
      for (const who of [w.a.users.owner.who, w.a.keys.admin.who]) {
        // B's workspace id in the path.
        const other = await send(t, w, route, who, bIds(w))
        expect({ route: `${route.method} ${route.path}`, status: other.status }).toEqual({
          route: `${route.method} ${route.path}`,
          status: 404,
        })
        const text = await other.text()
        for (const s of bStrings) expect(text).not.toContain(s)
        // A's workspace id, but B's object ids.
        if (/:(?!workspaceId)\w+/.test(route.path)) {
          const mixed = await send(t, w, route, who, { ...bIds(w), workspaceId: w.a.id })
          expect({ route: `${route.method} ${route.path}`, status: mixed.status }).toEqual({
            route: `${route.method} ${route.path}`,
            status: 404,
          })
        }
      }
    }
    // B's objects are untouched.
    const bMembers = await t.request(`/api/v1/workspaces/${w.b.id}/members`, call(w.b.owner.who, 'GET'))
    expect((await bMembers.json()).items.map((m: { email: string }) => m.email).sort()).toEqual([
      'member@b.example',
      'owner@b.example',
    ])
  })

  test("list endpoints of A never contain B's rows", async () => {
    const t = await newApp()
    const w = await buildWorld(t, graph)
    const bStrings = [
      w.b.id,
      w.b.owner.email,
      w.b.member.email,
      w.b.inviteId,
      w.b.key.id,
      'invitee@b.example',
      w.b.inbox!.channel.id,
      w.b.inbox!.conversationId,
      w.b.inbox!.contactId,
      '16505550002',
      w.b.hooks.endpointId,
      w.b.hooks.deliveryId,
      w.b.qrChannelId,
    ]
    for (const path of [
      'members',
      'invites',
      'api-keys',
      'audit',
      'audit?format=csv',
      'channels',
      'conversations',
      'contacts',
      'intake/dead',
      'inbox/dead',
      `conversations/${w.a.inbox!.conversationId}/messages`,
      'webhooks',
      'webhook-deliveries',
    ]) {
      const res = await t.request(`/api/v1/workspaces/${w.a.id}/${path}`, call(w.a.users.owner.who, 'GET'))
      expect(res.status).toBe(200)
      const text = await res.text()
      expect(text.length).toBeGreaterThan(20)
      for (const s of bStrings) expect({ path, leaked: text.includes(s) ? s : null }).toEqual({ path, leaked: null })
    }
    const mine = await (await t.request('/api/v1/workspaces', call(w.a.users.owner.who, 'GET'))).json()
    expect(mine.items.map((x: { id: string }) => x.id)).toEqual([w.a.id])
  })
})

describe('user-level and operator routes', () => {
  test('authenticated routes: sessions only; operator routes: operators only', async () => {
    const t = await newApp()
    const w = await buildWorld(t, graph)
    const operator = await makeUser(t, 'op@instance.example', { operator: true })
    for (const route of routes.filter((r) => r.rule === 'authenticated' || r.rule === 'operator')) {
      const ids = aIds(w)
      const cases: [string, Who, number | 'allowed'][] = [
        ['no credentials', anonymous, 401],
        ['API key', w.a.keys.admin.who, 403],
        ['revoked key', w.a.revoked.who, 401],
        ['member', w.a.users.owner.who, route.rule === 'operator' ? 403 : 'allowed'],
      ]
      // Logging out ends the session: run it last so the other cases keep theirs.
      if (route.rule === 'operator') cases.push(['operator', operator.who, 'allowed'])
      for (const [name, who, expected] of cases) {
        const res = await send(t, w, route, who, ids)
        const label = `${route.method} ${route.path} as ${name}`
        if (expected === 'allowed') expect({ label, ok: res.ok }).toEqual({ label, ok: true })
        else expect({ label, status: res.status }).toEqual({ label, status: expected })
      }
      // A logout must not spoil later routes for the owner.
      if (route.path.endsWith('/logout'))
        w.a.users.owner.who = (await makeUser(t, `again-${Math.random()}@a.example`)).who
    }
  })
})
