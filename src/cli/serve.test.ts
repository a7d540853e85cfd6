import { describe, expect, test } from 'bun:test'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { BINARY, REPO_ROOT, ensureBinary, runBinary, startServer } from '../testing/binary.ts'
import { tempDir } from '../testing/temp.ts'
import { unlessSettledWithin } from '../testing/wait.ts'

/** Runs the binary and gives it `ms` to exit on its own (a server that keeps running is killed: code null). */
async function exitWithin(
  args: string[],
  ms: number,
  prefix: string[] = [],
): Promise<{ code: number | null; stderr: string }> {
  await ensureBinary()
  const proc = Bun.spawn([...prefix, BINARY, ...args], {
    env: { PATH: process.env.PATH ?? '' },
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
  })
  const code = await Promise.race([proc.exited, unlessSettledWithin(ms, () => null)])
  if (code === null) proc.kill('SIGKILL')
  return { code, stderr: await new Response(proc.stderr).text() }
}

/** Another PID namespace on the same kernel, as a second container on the same volume would be. */
const OTHER_PID_NAMESPACE = ['unshare', '--pid', '--fork', '--kill-child']
const canUnshare = Bun.spawnSync([...OTHER_PID_NAMESPACE, 'true']).exitCode === 0

describe('the compiled binary', () => {
  test('starts from an empty directory on its defaults, is ready, and stops gracefully', async () => {
    const cwd = tempDir('wabox-empty')
    const server = await startServer({ cwd })
    try {
      const ready = await fetch(`${server.url}/readyz`)
      expect(ready.status).toBe(200)
      expect((await ready.json()).ready).toBe(true)
      const dataDir = join(cwd, 'wabox_data')
      expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600)
      expect(statSync(join(dataDir, 'master.key')).size).toBe(32)
      expect(statSync(dataDir).mode & 0o777).toBe(0o700)
      expect(statSync(join(dataDir, 'wabox.db')).mode & 0o077).toBe(0)
      expect(existsSync(join(dataDir, 'wabox.lock'))).toBe(true)

      const page = await fetch(`${server.url}/`)
      expect(page.status).toBe(200)
      // The admin UI is embedded: the index names its hashed bundle, and the binary serves that file too.
      const script = (await page.text()).match(/src="(\/assets\/main-[a-z0-9]+\.js)"/)?.[1]
      expect(script).toBeDefined()
      const bundle = await fetch(`${server.url}${script}`)
      expect(bundle.status).toBe(200)
      expect(bundle.headers.get('cache-control')).toContain('immutable')
      expect((await fetch(`${server.url}/docs`)).status).toBe(200)
      const docs = await fetch(`${server.url}/docs/json`)
      expect((await docs.json()).paths['/readyz']).toBeDefined()

      // Secrets in request headers never reach the log.
      await fetch(`${server.url}/api/v1/whatever`, { headers: { authorization: 'Bearer SECRET123' } })
      // A body over the limit is refused with a problem, not a plain-text error.
      const big = await fetch(`${server.url}/api/v1/whatever`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'x'.repeat(2 * 1024 * 1024),
      })
      expect(big.status).toBe(413)
      expect(big.headers.get('content-type')).toBe('application/problem+json')
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0)
    }
    const logs = server.lines.join('\n')
    expect(logs).not.toContain('SECRET123')
    expect(logs).toContain('"msg":"request"')
    expect(logs).toContain('"msg":"stopped"')
    expect(existsSync(join(cwd, 'wabox_data', 'wabox.lock'))).toBe(false)
    // Shutdown checkpoints the WAL back into the database file.
    const wal = join(cwd, 'wabox_data', 'wabox.db-wal')
    expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0)
  })

  test('SIGTERM lets an in-flight request finish before exiting', async () => {
    const cwd = tempDir()
    const server = await startServer({ cwd })
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let firstPartTaken!: () => void
    const taken = new Promise<void>((r) => (firstPartTaken = r))
    // A sign-in whose body arrives slowly: the request is in flight when the signal lands.
    let part = 0
    const body = new ReadableStream({
      async pull(c) {
        if (part++ === 0) return c.enqueue(new TextEncoder().encode('{"email":"slow@example.com",'))
        // Asked for more: the first part is on its way.
        firstPartTaken()
        await gate
        c.enqueue(new TextEncoder().encode('"password":"wrong password"}'))
        c.close()
      },
    })
    const pending = fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit)
    await taken
    await Bun.sleep(50)
    server.proc.kill('SIGTERM')
    // New connections are refused while draining (once the signal is handled), and it does not exit meanwhile.
    const healthz = () =>
      fetch(`${server.url}/healthz`).then(
        () => 'answered',
        () => 'refused',
      )
    const deadline = Date.now() + 5_000
    while ((await healthz()) === 'answered' && Date.now() < deadline) await Bun.sleep(20)
    expect(await healthz()).toBe('refused')
    expect(server.proc.exitCode).toBeNull() // still draining
    release()
    const res = await pending
    expect(res.status).toBe(401)
    expect((await res.json()).code).toBe('invalid_credentials')
    expect(await server.proc.exited).toBe(0)
    expect(server.lines.join('\n')).toContain('"msg":"stopped"')
  })

  test('a second server on the same data directory is refused while the first runs', async () => {
    const cwd = tempDir()
    const first = await startServer({ cwd })
    try {
      const second = await startServer({ cwd }).then(
        (s) => s,
        (err: Error) => err,
      )
      expect(second).toBeInstanceOf(Error)
      expect(String(second)).toContain('is in use by process')
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200)
    } finally {
      await first.stop()
    }
  })

  test('restarts after SIGKILL (a stale lock does not block the next start)', async () => {
    const cwd = tempDir()
    const first = await startServer({ cwd })
    await first.stop('SIGKILL')
    const second = await startServer({ cwd })
    try {
      expect((await fetch(`${second.url}/readyz`)).status).toBe(200)
    } finally {
      expect(await second.stop('SIGINT')).toBe(0)
    }
  })

  test('a second server on a port another wabox holds exits 1 with one line, before it creates a key or a database', async () => {
    const first = await startServer({ cwd: tempDir() })
    const secondDir = join(tempDir(), 'data')
    try {
      const second = await exitWithin(
        ['--data-dir', secondDir, '--port', String(first.port), '--host', '127.0.0.1'],
        5000,
      )
      expect(second.code).toBe(1)
      expect(second.stderr.trim().split('\n')).toEqual([
        `wabox: port ${first.port} on 127.0.0.1 is already in use (another wabox or another program listens there): stop it or choose another --port`,
      ])
      expect(existsSync(join(secondDir, 'master.key'))).toBe(false)
      expect(existsSync(join(secondDir, 'wabox.db'))).toBe(false)
      // Every connection still reaches the first server, the only one listening.
      for (let i = 0; i < 10; i++) expect((await fetch(`${first.url}/readyz`)).status).toBe(200)
    } finally {
      expect(await first.stop()).toBe(0)
    }
    // It left an empty data directory behind: no key, no database, no lock.
    expect(existsSync(secondDir) ? readdirSync(secondDir) : []).toEqual([])
  }, 20_000)

  // The binary carries everything it needs, the SQLite driver's native addon included: with the build checkout's
  // node_modules out of reach (an empty tmpfs over it, in a private mount namespace) it still starts and serves.
  test('runs with nothing from the build checkout: node_modules hidden, it starts, migrates and is ready', async () => {
    if (!canUnshare) throw new Error('this test needs root and util-linux (unshare), as CI runs it')
    const hide = [
      'unshare',
      '-m',
      'sh',
      '-c',
      `mount -t tmpfs none '${join(REPO_ROOT, 'node_modules')}' && exec "$0" "$@"`,
    ]
    const server = await startServer({ cwd: tempDir(), prefix: hide })
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
      expect(server.stderr()).not.toContain('Cannot find module')
    } finally {
      await server.stop()
    }
  })

  // Needs root and util-linux's unshare, as CI has (never skipped: on a machine without them this fails and says why).
  test('the data directory lock holds across PID namespaces, and a SIGKILL of its holder frees it', async () => {
    if (!canUnshare) throw new Error('this test needs `unshare --pid --fork` (root and util-linux), as CI runs it')
    const cwd = tempDir()
    const dataDir = join(cwd, 'wabox_data')
    const first = await startServer({ cwd })
    try {
      // From another PID namespace the holder's pid names no process: a pid file would look stale there.
      const second = await exitWithin(
        ['--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1'],
        5000,
        OTHER_PID_NAMESPACE,
      )
      expect(second.code).toBe(1)
      expect(second.stderr).toContain(`is in use by process ${first.proc.pid}`)
      const restore = await runBinary(['--restore', join(cwd, 'missing.tar.gz'), '--data-dir', dataDir], {
        prefix: OTHER_PID_NAMESPACE,
      })
      expect(restore.code).toBe(1)
      const archive = join(cwd, 'a.tar.gz')
      expect((await runBinary(['--backup', archive, '--data-dir', dataDir])).code).toBe(0)
      const restoreOver = await runBinary(['--restore', archive, '--data-dir', dataDir], {
        prefix: OTHER_PID_NAMESPACE,
      })
      expect(restoreOver.code).toBe(1)
      expect(restoreOver.stderr).toContain(`is running on ${dataDir}`)
      expect(existsSync(join(dataDir, 'wabox.lock'))).toBe(true)
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200)
    } finally {
      await first.stop('SIGKILL')
    }
    // The kernel released the lock with the process: a server in another namespace takes over at once.
    const next = await startServer({ cwd, prefix: OTHER_PID_NAMESPACE })
    try {
      expect((await fetch(`${next.url}/readyz`)).status).toBe(200)
      const third = await exitWithin(['--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1'], 5000)
      expect(third.code).toBe(1)
      expect(third.stderr).toContain('is in use by process')
    } finally {
      await next.stop('SIGKILL')
    }
  }, 30_000)
})
