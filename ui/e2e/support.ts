/**
 * What the browser tests share: the compiled binary on a fixed free port (so a restart keeps its URL and the
 * setup link, webhook URLs and the browser agree on one origin), pointed at the Graph API double; a small
 * API client for seeding through the real HTTP API; signed Meta webhooks; sessions handed to a browser context.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { BINARY, REPO_ROOT, ensureBinary, startServer, type RunningServer } from '../../src/testing/binary.ts'
import { createTestApp } from '../../src/testing/test-app.ts'
import { makeUser, makeWorkspace } from '../../src/testing/fixtures.ts'
import { scriptedSockets } from '../../src/testing/qr-socket.ts'
import type { GraphDouble } from '../../src/testing/graph-double.ts'
import { tempDir } from '../../src/testing/temp.ts'
import { inboundText, signed, statusUpdate, WABA_ID } from '../../src/testing/webhooks.ts'
import { waitUntil } from '../../src/testing/browser.ts'
import { freePort } from '../../src/testing/ports.ts'

export { freePort }

export type Wabox = {
  url: string
  dataDir: string
  server: RunningServer
  /** Stops the server (SIGTERM) and starts it again on the same port and data directory. */
  stop: () => Promise<number>
  start: () => Promise<void>
}

/**
 * The compiled binary on an empty data directory. Every browser and seeding request comes from 127.0.0.1, so
 * the anonymous per-IP limit is raised; the per-user limit of the UI (--ui-rate-limit) stays at its default.
 */
export async function startWabox(opts: { graph: GraphDouble; args?: string[] }): Promise<Wabox> {
  await ensureBinary()
  const dir = tempDir('wabox-browser')
  const dataDir = join(dir, 'data')
  // The port is free when chosen, but test files run in parallel: another process may bind it before the binary
  // does. Then the binary says so and exits, and another port is chosen.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const args = [
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--public-url',
      url,
      '--graph-base-url',
      opts.graph.url,
      '--rate-limit',
      '100/1s,5000/60s',
      '--shutdown-timeout',
      '1',
      ...(opts.args ?? []),
    ]
    let server: RunningServer
    try {
      server = await startServer({ cwd: dir, args })
    } catch (err) {
      if (attempt < 5 && String(err).includes('already in use')) continue
      throw err
    }
    const w: Wabox = {
      url,
      dataDir,
      server,
      stop: () => w.server.stop('SIGTERM'),
      start: async () => {
        w.server = await startServer({ cwd: dir, args })
      },
    }
    return w
  }
}

/** The one-time setup link the binary prints on stderr at its first start. */
export async function setupLinkOf(w: Wabox): Promise<string> {
  return waitUntil(
    'the setup link on stderr',
    () => w.server.stderr().match(/(http:\/\/\S+\/setup\?token=[A-Za-z0-9]+)/)?.[1],
    5000,
  )
}

/** `wabox operator create` on the data directory (the server may be running). */
export async function createOperator(w: Wabox, email: string, password: string, workspaceName: string): Promise<void> {
  const proc = Bun.spawn(
    [BINARY, 'operator', 'create', '--email', email, '--workspace-name', workspaceName, '--data-dir', w.dataDir],
    {
      stdin: new TextEncoder().encode(`${password}\n`),
      stdout: 'pipe',
      stderr: 'pipe',
    },
  )
  if ((await proc.exited) !== 0) throw new Error(`operator create failed: ${await new Response(proc.stderr).text()}`)
}

/** A signed-in user of the HTTP API (the session cookie the UI would hold). */
export class Session {
  constructor(
    readonly base: string,
    readonly cookie: string,
    readonly userId: string,
  ) {}

  static async login(base: string, email: string, password: string): Promise<Session> {
    const res = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    })
    if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${await res.text()}`)
    const body = (await res.json()) as { user: { id: string } }
    return new Session(base, res.headers.get('set-cookie')!.split(';')[0]!, body.user.id)
  }

  /** The session token alone (the cookie's value). */
  get token(): string {
    return this.cookie.slice(this.cookie.indexOf('=') + 1)
  }

  async call<T = any>(method: string, path: string, body?: unknown, expectStatus?: number): Promise<T> {
    const res = await fetch(this.base + path, {
      method,
      headers: {
        cookie: this.cookie,
        origin: this.base,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    if (expectStatus !== undefined ? res.status !== expectStatus : res.status >= 400)
      throw new Error(`${method} ${path}: ${res.status} ${text}`)
    return (text ? JSON.parse(text) : undefined) as T
  }
  get = <T = any>(path: string) => this.call<T>('GET', path)
  post = <T = any>(path: string, body?: unknown) => this.call<T>('POST', path, body)
  patch = <T = any>(path: string, body?: unknown) => this.call<T>('PATCH', path, body)

  /** Gives a browser context this session (as if it had signed in). */
  async into(context: BrowserContext): Promise<void> {
    await context.addCookies([
      { name: 'wabox_session', value: this.token, url: this.base, httpOnly: true, sameSite: 'Lax' },
    ])
  }
}

/** Invites `email` into the workspace with `role` and accepts the invite through the API; returns their session. */
export async function addMemberByInvite(
  owner: Session,
  workspaceId: string,
  email: string,
  role: string,
  password: string,
  name: string,
): Promise<Session> {
  const invite = await owner.post<{ acceptUrl: string }>(`/api/v1/workspaces/${workspaceId}/invites`, { email, role })
  const token = new URL(invite.acceptUrl).searchParams.get('token')!
  const res = await fetch(`${owner.base}/api/v1/invites/accept`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, email, password, name }),
  })
  if (res.status !== 200) throw new Error(`accept invite ${email}: ${res.status} ${await res.text()}`)
  const body = (await res.json()) as { user: { id: string } }
  return new Session(owner.base, res.headers.get('set-cookie')!.split(';')[0]!, body.user.id)
}

let numberSeq = 0
export type CloudNumber = {
  channelId: string
  phoneNumberId: string
  accessToken: string
  appSecret: string
  webhookUrl: string
}

/** A number the Graph double knows, with a token that can see it (what a business gets from Meta). */
export function metaNumber(graph: GraphDouble) {
  const phoneNumberId = `1065${process.pid % 10000}${String(++numberSeq).padStart(4, '0')}`
  const accessToken = `EAAbrowser${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`
  const appSecret = `browser-app-secret-${Math.random().toString(36).slice(2)}`
  graph.addNumber(phoneNumberId)
  graph.addToken(accessToken, [phoneNumberId])
  return { phoneNumberId, accessToken, appSecret, wabaId: WABA_ID }
}

/** Connects a Cloud number through the API (the UI path is tested on its own). */
export async function connectCloudByApi(
  owner: Session,
  workspaceId: string,
  graph: GraphDouble,
  name = 'Support line',
): Promise<CloudNumber> {
  const n = metaNumber(graph)
  const res = await owner.post<{ channel: { id: string }; webhook: { url: string } }>(
    `/api/v1/workspaces/${workspaceId}/channels`,
    {
      name,
      accessToken: n.accessToken,
      phoneNumberId: n.phoneNumberId,
      wabaId: n.wabaId,
      appSecret: n.appSecret,
    },
  )
  return {
    channelId: res.channel.id,
    phoneNumberId: n.phoneNumberId,
    accessToken: n.accessToken,
    appSecret: n.appSecret,
    webhookUrl: res.webhook.url,
  }
}

/** POSTs a webhook body to the channel's webhook URL, signed with its app secret, as Meta does; expects 200. */
export async function postWebhook(n: Pick<CloudNumber, 'webhookUrl' | 'appSecret'>, body: unknown): Promise<void> {
  const s = signed(body, n.appSecret)
  const res = await fetch(n.webhookUrl, { method: 'POST', headers: s.headers, body: s.body })
  if (res.status !== 200) throw new Error(`webhook: ${res.status} ${await res.text()}`)
}

/** A customer writes to the number (timestamp: seconds; defaults to now, inside the 24 h window). */
export async function customerWrites(
  n: CloudNumber,
  text: string,
  o: { from: string; name: string; timestamp?: number },
): Promise<string> {
  const m = inboundText(n.phoneNumberId, text, {
    from: o.from,
    name: o.name,
    timestamp: o.timestamp ?? Math.floor(Date.now() / 1000),
  })
  await postWebhook(n, m.body)
  return m.id
}

export async function statusWebhook(
  n: CloudNumber,
  wamid: string,
  status: 'sent' | 'delivered' | 'read',
): Promise<void> {
  await postWebhook(n, statusUpdate(n.phoneNumberId, wamid, status, { timestamp: Math.floor(Date.now() / 1000) }))
}

/** Waits until the API lists a conversation for the contact's number; returns its id. */
export async function conversationOf(s: Session, workspaceId: string, waId: string): Promise<string> {
  return waitUntil(`a conversation with ${waId}`, async () => {
    const page = await s.get<{ items: { id: string; contact: { waId: string | null } }[] }>(
      `/api/v1/workspaces/${workspaceId}/conversations?limit=200`,
    )
    return page.items.find((c) => c.contact.waId === waId)?.id
  })
}

/** The workspace id of the session's first membership. */
export async function firstWorkspace(s: Session): Promise<string> {
  const me = await s.get<{ memberships: { workspaceId: string }[] }>('/api/v1/me')
  return me.memberships[0]!.workspaceId
}

/** The path of the page (pathname + search). */
export const pathOf = (page: Page) => {
  const u = new URL(page.url())
  return u.pathname + u.search
}

/**
 * Fails unless the top of the viewport shows the app's own frame (the bar holding the Main navigation) rather
 * than an empty area above it: the element at the top centre must sit in a box that holds the navigation,
 * below #app / body. Says what is there instead, and how far the document is scrolled.
 */
export async function expectShellAtTop(page: Page, screen: string): Promise<void> {
  const found = await page.evaluate(() => {
    const el = document.elementFromPoint(window.innerWidth / 2, 4)
    const frame = el?.closest(':has(nav[aria-label="Main"])')
    const ok = !!frame && frame !== document.documentElement && frame !== document.body && frame.id !== 'app'
    const describe = (e: Element | null | undefined) =>
      e
        ? `<${e.tagName.toLowerCase()}${e.id ? ` id="${e.id}"` : ''}${e.className ? ` class="${e.className}"` : ''}> ${JSON.stringify((e.textContent ?? '').trim().slice(0, 40))}`
        : 'nothing'
    return {
      ok,
      atTop: describe(el),
      scrollY: window.scrollY,
      appChildren: [...(document.getElementById('app')?.children ?? [])].map((c) => describe(c)),
    }
  })
  if (!found.ok) {
    throw new Error(
      `${screen}: the top of the screen is not the app's frame but ${found.atTop} (document scrolled by ${found.scrollY} px; #app holds ${found.appChildren.join(', ')})`,
    )
  }
}

/**
 * The in-process app (with the scripted WhatsApp socket for QR channels) served over real HTTP, for what the
 * compiled binary cannot stand in for. It serves the UI from the checkout's dist/ui, built with the binary.
 * One owner in one workspace; `signIn` puts the owner's session cookie into a browser context.
 */
export async function startQrApp(ownerEmail: string, workspaceName: string) {
  await ensureBinary()
  if (!existsSync(join(REPO_ROOT, 'dist/ui/index.html'))) throw new Error('dist/ui is not built: run bun run build')
  const sockets = scriptedSockets()
  const t = await createTestApp({ qrSocketFactory: sockets.factory })
  const owner = await makeUser(t, ownerEmail)
  const ws = await makeWorkspace(t, workspaceName, owner)
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', idleTimeout: 60, fetch: (r) => t.app.handle(r) })
  const base = `http://127.0.0.1:${server.port}`
  return {
    t,
    sockets,
    owner,
    ws,
    base,
    signIn: (context: BrowserContext) =>
      context.addCookies([
        { name: 'wabox_session', value: owner.sessionToken, url: base, httpOnly: true, sameSite: 'Lax' },
      ]),
    stop: async () => {
      server.stop(true)
      await t.close()
    },
  }
}
