/** Identity through the real compiled binary on a real socket: setup link, sessions, API keys, proxies, CLI. */
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { runBinary, startServer, BINARY } from '../testing/binary.ts'
import { tempDir } from '../testing/temp.ts'

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
})
const setupLink = (stderr: string) => stderr.match(/(http:\/\/\S+\/setup\?token=([A-Za-z0-9]+))/)

describe('identity with the compiled binary', () => {
  test('first start prints a setup link; it creates the operator; sessions and API keys work over HTTP', async () => {
    const cwd = tempDir()
    const first = await startServer({ cwd })
    let link: RegExpMatchArray | null
    try {
      await Bun.sleep(50)
      link = setupLink(first.stderr())
      expect(link).not.toBeNull()
    } finally {
      await first.stop()
    }
    // Each start while unused prints a new link; the old one stops working.
    // Every request here comes from 127.0.0.1: give that one address room.
    const server = await startServer({ cwd, args: ['--rate-limit', '50/1s,1000/60s'] })
    try {
      await Bun.sleep(50)
      const fresh = setupLink(server.stderr())!
      expect(fresh[2]).not.toBe(link![2])
      const stale = await fetch(
        `${server.url}/api/v1/setup`,
        json({ token: link![2], email: 'op@example.com', password: 'operator password 1', workspaceName: 'Acme' }),
      )
      expect(stale.status).toBe(401)
      const page = await fetch(`${server.url}/setup?token=${fresh[2]}`)
      // The setup page is a route of the admin UI: the app's index, which loads its hashed bundle.
      expect(await page.text()).toMatch(/\/assets\/main-[a-z0-9]+\.js/)

      const setup = await fetch(
        `${server.url}/api/v1/setup`,
        json({ token: fresh[2], email: 'op@example.com', password: 'operator password 1', workspaceName: 'Acme' }),
      )
      expect(setup.status).toBe(201)
      const ws = (await setup.json()).workspace.id
      const login = await fetch(
        `${server.url}/api/v1/auth/login`,
        json({ email: 'op@example.com', password: 'operator password 1' }),
      )
      expect(login.status).toBe(200)
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!
      const session = { cookie, origin: server.url }
      const key = await (
        await fetch(`${server.url}/api/v1/workspaces/${ws}/api-keys`, json({ name: 'ci', role: 'agent' }, session))
      ).json()
      expect(key.token).toMatch(/^wbx_[A-Za-z0-9]{8}_[A-Za-z0-9]{40}$/)
      const viaKey = await fetch(`${server.url}/api/v1/workspaces/${ws}/members`, {
        headers: { authorization: `Bearer ${key.token}` },
      })
      expect(viaKey.status).toBe(200)
      expect(viaKey.headers.get('ratelimit-policy')).toBe('50;w=1, 1000;w=60')
      // Cross-site change with the cookie is refused.
      const csrf = await fetch(`${server.url}/api/v1/workspaces/${ws}`, {
        method: 'PATCH',
        headers: { cookie, 'content-type': 'application/json', origin: 'https://evil.example' },
        body: '{"name":"x"}',
      })
      expect(csrf.status).toBe(403)
      const revoke = await fetch(`${server.url}/api/v1/workspaces/${ws}/api-keys/${key.id}`, {
        method: 'DELETE',
        headers: session,
      })
      expect(revoke.status).toBe(200)
      expect(
        (
          await fetch(`${server.url}/api/v1/workspaces/${ws}/members`, {
            headers: { authorization: `Bearer ${key.token}` },
          })
        ).status,
      ).toBe(401)
    } finally {
      await server.stop()
    }
    const logs = server.lines.join('\n')
    expect(logs).not.toContain('operator password 1')
    expect(logs).not.toContain('wbx_')
    // Once an account exists, no more setup links.
    const after = await startServer({ cwd })
    await Bun.sleep(50)
    expect(setupLink(after.stderr())).toBeNull()
    await after.stop()
  })

  test('X-Forwarded-For counts only from a configured trusted proxy (real socket peer 127.0.0.1)', async () => {
    for (const [trusted, expected] of [
      [true, [200, 200, 429]],
      [false, [200, 429, 429]],
    ] as const) {
      const cwd = tempDir()
      const server = await startServer({
        cwd,
        args: ['--rate-limit', '1/1m', ...(trusted ? ['--trusted-proxies', '127.0.0.1,::1'] : [])],
      })
      try {
        const statuses = []
        for (const client of ['198.51.100.1', '198.51.100.2', '198.51.100.1']) {
          statuses.push((await fetch(`${server.url}/api/v1/setup`, { headers: { 'x-forwarded-for': client } })).status)
        }
        expect({ trusted, statuses }).toEqual({ trusted, statuses: [...expected] })
      } finally {
        await server.stop()
      }
    }
  })

  test('`wabox operator create` for headless installs: password from stdin or generated once', async () => {
    const dir = tempDir()
    const proc = Bun.spawn(
      [
        BINARY,
        'operator',
        'create',
        '--email',
        'Admin@Example.com',
        '--workspace-name',
        'Headless',
        '--data-dir',
        join(dir, 'data'),
      ],
      {
        stdin: new TextEncoder().encode('piped password 123\n'),
        stdout: 'pipe',
        stderr: 'pipe',
      },
    )
    const out = await new Response(proc.stdout).text()
    expect(await proc.exited).toBe(0)
    expect(out).toContain('operator admin@example.com created with the first workspace "Headless"')
    expect(out).not.toContain('piped password')

    const server = await startServer({ cwd: dir, args: ['--data-dir', join(dir, 'data')] })
    try {
      await Bun.sleep(50)
      expect(setupLink(server.stderr())).toBeNull()
      const login = await fetch(
        `${server.url}/api/v1/auth/login`,
        json({ email: 'admin@example.com', password: 'piped password 123' }),
      )
      expect(login.status).toBe(200)
      const me = await (
        await fetch(`${server.url}/api/v1/me`, { headers: { cookie: login.headers.get('set-cookie')!.split(';')[0]! } })
      ).json()
      expect(me).toMatchObject({ isOperator: true, memberships: [{ workspaceName: 'Headless', role: 'owner' }] })
    } finally {
      await server.stop()
    }
    const weak = Bun.spawn(
      [BINARY, 'operator', 'create', '--email', 'x@example.com', '--data-dir', join(dir, 'data')],
      { stdin: new TextEncoder().encode('short\n'), stderr: 'pipe' },
    )
    expect(await weak.exited).toBe(2)
    expect(await new Response(weak.stderr).text()).toContain('at least 12 characters')
    const generated = await runBinary([
      'operator',
      'create',
      '--email',
      'second@example.com',
      '--data-dir',
      join(dir, 'data'),
    ])
    expect(generated.code).toBe(0)
    expect(generated.stdout).toMatch(/generated password \(shown once\): [A-Za-z0-9]{24}/)
    const bad = await runBinary(['operator', 'create', '--email', 'nope', '--data-dir', join(dir, 'data')])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('invalid --email')
  })
})
