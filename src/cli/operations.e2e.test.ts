/**
 * Operating the compiled binary as an operator meets it: the request log, links with --port 0, every way a start
 * can fail (one clear line each), a damaged database, Baileys' noise, the headless CLI (API keys, password
 * resets) and /metrics on a real socket.
 */
import { describe, expect, test } from 'bun:test'
import BetterSqlite3 from 'better-sqlite3'
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { BINARY, runBinary, startServer, type RunResult } from '../testing/binary.ts'
import { tempDir } from '../testing/temp.ts'
import { unlessSettledWithin } from '../testing/wait.ts'

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
})
const logLines = (lines: string[]) =>
  lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)

/** A failed start: the exit status, and exactly one line on stderr — no stack trace. */
function expectOneLine(result: RunResult, code: number, pattern: RegExp): void {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code, stderr: expect.stringMatching(pattern) })
  expect(result.stderr.trim().split('\n')).toHaveLength(1)
  expect(result.stderr).toStartWith('wabox: ')
  expect(result.stderr).not.toMatch(/\n\s+at |\bat .*\(.*:\d+:\d+\)/)
  expect(result.stderr).not.toContain('setup?token=')
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
const canUnshare = isRoot && Bun.spawnSync(['unshare', '-m', 'true']).exitCode === 0

/** Runs `serve` on a loopback port with `args`; for starts that must fail (a start that succeeds is stopped after 10 s). */
function failedStart(
  args: string[],
  opts: { env?: Record<string, string>; prefix?: string[] } = {},
): Promise<RunResult> {
  const run = runBinary(['--port', '0', '--host', '127.0.0.1', ...args], opts)
  return Promise.race([
    run,
    unlessSettledWithin(10_000, () => ({
      code: -1,
      stdout: '',
      stderr: 'still running after 10 s: the start did not fail',
    })),
  ])
}

describe('the request log and links', () => {
  test('a 413 is logged with its real status and the route pattern; /metrics counts it the same way; --port 0 links name the bound port', async () => {
    const cwd = tempDir()
    const server = await startServer({ cwd })
    try {
      await Bun.sleep(50)
      // The setup link and the public URL carry the port the kernel chose, not the default 8080.
      const link = server.stderr().match(/(http:\/\/[^/\s]+)\/setup\?token=/)
      expect(link?.[1]).toBe(`http://localhost:${server.port}`)
      const listening = logLines(server.lines).find((l) => l.msg === 'wabox listening')!
      expect(listening.publicUrl).toBe(`http://localhost:${server.port}`)

      const big = await fetch(`${server.url}/api/v1/workspaces/ws_RawPath123/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'x'.repeat(2 * 1024 * 1024),
      })
      expect(big.status).toBe(413)
      const anonymous = await fetch(`${server.url}/api/v1/workspaces/ws_RawPath123/conversations`)
      expect(anonymous.status).toBe(401)

      const metrics = await fetch(`${server.url}/metrics`)
      expect(metrics.status).toBe(200)
      const text = await metrics.text()
      expect(text).toContain(
        'wabox_http_requests_total{method="POST",route="/api/v1/workspaces/:workspaceId/messages",status="413"} 1',
      )
      expect(text).toContain(
        'wabox_http_requests_total{method="GET",route="/api/v1/workspaces/:workspaceId/conversations",status="401"} 1',
      )
      expect(text).not.toContain('ws_RawPath123')
      expect(Number(text.match(/^wabox_database_bytes\{file="file"\} (\d+)$/m)?.[1])).toBeGreaterThan(0)
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m)
      // Through a proxy (a forwarding header), even from loopback: not by default.
      expect((await fetch(`${server.url}/metrics`, { headers: { 'x-forwarded-for': '198.51.100.7' } })).status).toBe(
        404,
      )
    } finally {
      expect(await server.stop()).toBe(0)
    }
    const requests = logLines(server.lines).filter((l) => l.msg === 'request')
    expect(requests.find((l) => l.status === 413)).toMatchObject({
      method: 'POST',
      route: '/api/v1/workspaces/:workspaceId/messages',
    })
    expect(requests.find((l) => l.status === 401)).toMatchObject({
      method: 'GET',
      route: '/api/v1/workspaces/:workspaceId/conversations',
    })
    expect(server.lines.join('\n')).not.toContain('ws_RawPath123')
  })
})

describe('start failures: one clear line each', () => {
  test('a malformed WABOX_MASTER_KEY is bad configuration: exit 2, one line, nothing created', async () => {
    const dir = tempDir()
    const dataDir = join(dir, 'data')
    const result = await failedStart(['--data-dir', dataDir], { env: { WABOX_MASTER_KEY: 'this is not base64!' } })
    expectOneLine(result, 2, /^wabox: WABOX_MASTER_KEY is not valid base64/)
    expect(result.stderr).not.toContain('this is not base64')
    const short = await failedStart(['--data-dir', dataDir], {
      env: { WABOX_MASTER_KEY: Buffer.alloc(16, 1).toString('base64') },
    })
    expectOneLine(short, 2, /^wabox: WABOX_MASTER_KEY must decode to 32 bytes/)
    expect(existsSync(dataDir)).toBe(false)
  })

  test('a data directory that is a file, or lies under one', async () => {
    const file = join(tempDir(), 'not-a-dir')
    writeFileSync(file, 'x')
    expectOneLine(
      await failedStart(['--data-dir', file]),
      1,
      /^wabox: the data directory .*not-a-dir is not a directory \(a file is in the way\)/,
    )
    expectOneLine(
      await failedStart(['--data-dir', join(file, 'sub')]),
      1,
      /is not a directory \(a file is in the way\)/,
    )
  })

  // These need root (setpriv, unshare with a tmpfs), as CI has: never skipped, they fail and say why elsewhere.
  test('a data directory the user running wabox cannot write to', async () => {
    if (!isRoot) throw new Error('this test needs root (setpriv to another user), as CI runs it')
    const dir = tempDir()
    chmodSync(dir, 0o755)
    const dataDir = join(dir, 'data')
    mkdirSync(dataDir, { mode: 0o755 })
    const result = await failedStart(['--data-dir', dataDir], {
      prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
    })
    expectOneLine(
      result,
      1,
      /^wabox: cannot write to the data directory .*: permission denied for the user running wabox \(uid 65534\)/,
    )
    expect(readdirSync(dataDir)).toEqual([])
  })

  test('a read-only mount, and a full disk', async () => {
    if (!canUnshare)
      throw new Error('this test needs root and `unshare -m` (util-linux) for a private tmpfs, as CI runs it')
    const readOnly = tempDir()
    const ro = await failedStart(['--data-dir', readOnly], {
      prefix: ['unshare', '-m', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"', readOnly],
    })
    expectOneLine(ro, 1, /^wabox: cannot write to the data directory .*: it is on a read-only file system/)
    const full = tempDir()
    const fill =
      'mount -t tmpfs -o size=16k tmpfs "$0" && { head -c 1048576 /dev/zero > "$0/fill" 2>/dev/null; exec "$@"; }'
    const noSpace = await failedStart(['--data-dir', full], { prefix: ['unshare', '-m', 'sh', '-c', fill, full] })
    expectOneLine(noSpace, 1, /^wabox: cannot write to the data directory .*: no space left on its device/)
  })

  test('a port another program holds: exit 1, one line, no setup link, nothing created', async () => {
    const holder = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    try {
      const dataDir = join(tempDir(), 'data')
      const result = await runBinary(['--port', String(holder.port), '--host', '127.0.0.1', '--data-dir', dataDir])
      expectOneLine(result, 1, new RegExp(`^wabox: port ${holder.port} on 127\\.0\\.0\\.1 is already in use`))
      expect(existsSync(join(dataDir, 'wabox.db'))).toBe(false)
      expect(existsSync(join(dataDir, 'master.key'))).toBe(false)
    } finally {
      holder.stop(true)
    }
  })

  test('a database damaged in its middle pages is refused with the restore command to use', async () => {
    const dir = tempDir()
    const dataDir = join(dir, 'data')
    const first = await startServer({ cwd: dir, args: ['--data-dir', dataDir] })
    expect(await first.stop()).toBe(0)
    // A few thousand rows, so the damage lands in the middle of real tables, not in the schema's first pages.
    const file = join(dataDir, 'wabox.db')
    const db = new BetterSqlite3(file)
    db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
             INSERT INTO audit_log (workspace_id, created_at, action, actor_type, actor_label, metadata)
             SELECT 'ws_filler', '2026-12-01T00:00:00.000Z', 'filler.row', 'system', 'test', '{"n":' || i || ',"pad":"' || hex(randomblob(40)) || '"}' FROM n`)
    db.pragma('wal_checkpoint(TRUNCATE)')
    db.close()
    const pages = Math.floor(statSync(file).size / 4096)
    expect(pages).toBeGreaterThan(50)
    const fd = openSync(file, 'r+')
    writeSync(fd, randomBytes(8192), 0, 8192, Math.floor(pages / 2) * 4096)
    closeSync(fd)

    const result = await failedStart(['--data-dir', dataDir])
    expectOneLine(result, 1, /^wabox: the database .*wabox\.db is damaged \(/)
    expect(result.stderr).toContain(`wabox --restore FILE --data-dir ${dataDir}`)
    expect(result.stdout).not.toContain('wabox listening')
  }, 30_000)
})

describe('headless installs and a quiet log', () => {
  test('operator create, apikey create, a working key; Baileys warnings stay out of the default log, wabox warnings do not', async () => {
    const dir = tempDir()
    const dataDir = join(dir, 'data')
    const created = Bun.spawn(
      [BINARY, 'operator', 'create', '--email', 'op@example.com', '--workspace-name', 'Shop', '--data-dir', dataDir],
      { stdin: new TextEncoder().encode('operator password 1\n'), stdout: 'pipe' },
    )
    expect(await created.exited).toBe(0)
    const ws = (await new Response(created.stdout).text()).match(/\((ws_[A-Za-z0-9]+)\)/)![1]!

    const key = await runBinary([
      'apikey',
      'create',
      '--workspace',
      ws,
      '--role',
      'admin',
      '--name',
      'Deploy',
      '--data-dir',
      dataDir,
    ])
    expect(key.code).toBe(0)
    // Standard output is the token and nothing else: KEY=$(wabox apikey create …) works.
    expect(key.stdout).toMatch(/^wbx_[A-Za-z0-9]{8}_[A-Za-z0-9]{40}\n$/)
    expect(key.stderr).toContain('(admin) created in workspace')
    expect(key.stderr).not.toContain(key.stdout.trim())
    const token = key.stdout.trim()

    expectOneLine(
      await runBinary(['apikey', 'create', '--workspace', ws, '--role', 'owner', '--data-dir', dataDir]),
      2,
      /Owner role/,
    )
    expectOneLine(
      await runBinary(['apikey', 'create', '--workspace', 'ws_doesnotexist', '--role', 'agent', '--data-dir', dataDir]),
      2,
      /no workspace "ws_doesnotexist"/,
    )

    const server = await startServer({
      cwd: dir,
      args: ['--data-dir', dataDir, '--qr-websocket-url', 'ws://127.0.0.1:1/ws/chat', '--rate-limit', '1000/1s'],
    })
    try {
      const auth = { authorization: `Bearer ${token}` }
      const keys = await fetch(`${server.url}/api/v1/workspaces/${ws}/api-keys`, { headers: auth })
      expect(keys.status).toBe(200)
      expect((await keys.json()).items).toMatchObject([{ name: 'Deploy', role: 'admin' }])
      const audit = await (
        await fetch(`${server.url}/api/v1/workspaces/${ws}/audit?action=apikey.created`, { headers: auth })
      ).json()
      expect(audit.items).toMatchObject([
        { action: 'apikey.created', actor: { type: 'system', label: 'cli: apikey create' } },
      ])

      // A QR channel: Baileys makes a socket (and warns about the sync settings each time it does).
      const qr = await fetch(
        `${server.url}/api/v1/workspaces/${ws}/channels`,
        json({ kind: 'qr', name: 'Shop phone' }, auth),
      )
      expect(qr.status).toBe(201)
      const channelId = (await qr.json()).channel.id
      const deadline = Date.now() + 10_000
      const stateOf = async () =>
        (await (await fetch(`${server.url}/api/v1/workspaces/${ws}/channels/${channelId}`, { headers: auth })).json())
          .connection?.state
      while ((await stateOf()) !== 'reconnecting' && Date.now() < deadline) await Bun.sleep(50)
      expect(await stateOf()).toBe('reconnecting')
    } finally {
      expect(await server.stop()).toBe(0)
    }
    const lines = logLines(server.lines)
    expect(server.lines.join('\n')).not.toContain('DANGER')
    expect(lines.filter((l) => l.component === 'baileys' && Number(l.level) < 50)).toEqual([])
    // wabox's own warnings still show at the default level.
    expect(
      lines.some((l) => l.level === 40 && l.msg === 'created a new master key: back it up separately from the data'),
    ).toBe(true)
    expect(server.lines.join('\n')).not.toContain(token)
  }, 60_000)

  test('operator reset-password: from standard input or generated once; signs the account out everywhere; audited', async () => {
    const dir = tempDir()
    const dataDir = join(dir, 'data')
    const created = Bun.spawn([BINARY, 'operator', 'create', '--email', 'op@example.com', '--data-dir', dataDir], {
      stdin: new TextEncoder().encode('operator password 1\n'),
      stdout: 'pipe',
    })
    expect(await created.exited).toBe(0)
    const server = await startServer({ cwd: dir, args: ['--data-dir', dataDir, '--rate-limit', '1000/1s'] })
    try {
      const login = (password: string) =>
        fetch(`${server.url}/api/v1/auth/login`, json({ email: 'op@example.com', password }))
      const first = await login('operator password 1')
      expect(first.status).toBe(200)
      const oldSession = { cookie: first.headers.get('set-cookie')!.split(';')[0]! }

      const reset = Bun.spawn(
        [BINARY, 'operator', 'reset-password', '--email', 'OP@example.com', '--data-dir', dataDir],
        { stdin: new TextEncoder().encode('a brand new password 2\n'), stdout: 'pipe' },
      )
      expect(await reset.exited).toBe(0)
      expect(await new Response(reset.stdout).text()).toBe('password of op@example.com reset; 1 session signed out\n')
      expect((await fetch(`${server.url}/api/v1/me`, { headers: oldSession })).status).toBe(401)
      expect((await login('operator password 1')).status).toBe(401)
      const fresh = await login('a brand new password 2')
      expect(fresh.status).toBe(200)
      const session = { cookie: fresh.headers.get('set-cookie')!.split(';')[0]! }
      const audit = await (
        await fetch(`${server.url}/api/v1/admin/audit?action=user.password_reset`, { headers: session })
      ).json()
      expect(audit.items).toMatchObject([
        {
          action: 'user.password_reset',
          actor: { type: 'system', label: 'cli: operator reset-password' },
          metadata: { email: 'op@example.com', revokedSessions: 1 },
        },
      ])

      // Nothing piped: a generated password, printed once.
      const generated = await runBinary([
        'operator',
        'reset-password',
        '--email',
        'op@example.com',
        '--data-dir',
        dataDir,
      ])
      expect(generated.code).toBe(0)
      const password = generated.stdout.match(/^generated password \(shown once\): (\S+)$/m)![1]!
      expect((await login(password)).status).toBe(200)
      expect((await fetch(`${server.url}/api/v1/me`, { headers: session })).status).toBe(401)

      expectOneLine(
        await runBinary(['operator', 'reset-password', '--email', 'nobody@example.com', '--data-dir', dataDir]),
        2,
        /no account has the email nobody@example.com/,
      )
    } finally {
      expect(await server.stop()).toBe(0)
    }
    expect(server.lines.join('\n')).not.toContain('a brand new password 2')
  }, 60_000)
})
