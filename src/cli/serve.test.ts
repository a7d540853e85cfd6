import { describe, expect, test } from 'bun:test'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { startServer } from '../testing/binary.ts'
import { tempDir } from '../testing/temp.ts'

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
      const big = await fetch(`${server.url}/api/v1/whatever`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(2 * 1024 * 1024) })
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
    // A sign-in whose body arrives slowly: the request is in flight when the signal lands.
    const body = new ReadableStream({
      async start(c) {
        c.enqueue(new TextEncoder().encode('{"email":"slow@example.com",'))
        await gate
        c.enqueue(new TextEncoder().encode('"password":"wrong password"}'))
        c.close()
      },
    })
    const pending = fetch(`${server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit)
    await Bun.sleep(150)
    server.proc.kill('SIGTERM')
    await Bun.sleep(150)
    expect(server.proc.exitCode).toBeNull() // still draining
    // New connections are refused while draining.
    expect(await fetch(`${server.url}/healthz`).then(() => 'answered', () => 'refused')).toBe('refused')
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
})
