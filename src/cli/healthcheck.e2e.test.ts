/**
 * `wabox healthcheck` on the compiled binary: exit 0 with one line when the server on the configured port answers
 * /readyz 200; exit 1 with one line naming the URL and the reason (unreachable, or the readiness problem) otherwise —
 * never a stack trace. (The https case runs in tls.e2e.test.ts, against a server with a certificate.)
 */
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { runBinary, startServer } from '../testing/binary.ts'
import { tempDir } from '../testing/temp.ts'

const noStack = /\n\s+at |\bat .*\(.*:\d+:\d+\)/

describe('wabox healthcheck', () => {
  test('a ready server: exit 0 and the URL it asked', async () => {
    const dir = tempDir('wabox-healthcheck')
    const server = await startServer({ cwd: dir, args: ['--data-dir', join(dir, 'data')] })
    try {
      const probe = await runBinary(['healthcheck', '--port', String(server.port), '--host', '127.0.0.1'])
      expect({ code: probe.code, stdout: probe.stdout.trim(), stderr: probe.stderr }).toEqual({
        code: 0,
        stdout: `ready: http://127.0.0.1:${server.port}/readyz`,
        stderr: '',
      })
      // A wildcard bind is probed on loopback, from the environment like serve reads it.
      const viaEnv = await runBinary(['healthcheck'], {
        env: { WABOX_PORT: String(server.port), WABOX_HOST: '0.0.0.0' },
      })
      expect(viaEnv.code).toBe(0)
    } finally {
      await server.stop()
    }
  })

  test('nothing listening: exit 1, one line naming the URL', async () => {
    const spare = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') })
    const port = spare.port
    spare.stop(true)
    const probe = await runBinary(['healthcheck', '--port', String(port), '--host', '127.0.0.1'])
    expect(probe.code).toBe(1)
    expect(probe.stderr).toContain(`wabox: not ready: http://127.0.0.1:${port}/readyz could not be reached`)
    expect(probe.stderr.trim().split('\n')).toHaveLength(1)
    expect(probe.stderr).not.toMatch(noStack)
  })

  test('a server that is not ready: exit 1 with its own reason', async () => {
    // A stand-in answering as /readyz does when writes fail (the shape of health.routes.ts readinessSchema).
    const notReady = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (req) =>
        new URL(req.url).pathname === '/readyz'
          ? Response.json(
              {
                ready: false,
                checks: {
                  database: { ok: true },
                  migrations: { ok: true },
                  key: { ok: true },
                  writes: { ok: false, detail: 'intake: the disk is full (SQLITE_FULL) 2 s ago' },
                },
              },
              { status: 503 },
            )
          : new Response('', { status: 404 }),
    })
    try {
      const probe = await runBinary(['healthcheck', '--port', String(notReady.port), '--host', '127.0.0.1'])
      expect(probe.code).toBe(1)
      expect(probe.stderr.trim()).toBe(
        `wabox: not ready: http://127.0.0.1:${notReady.port}/readyz answered HTTP 503: writes intake: the disk is full (SQLITE_FULL) 2 s ago`,
      )
    } finally {
      notReady.stop(true)
    }
  })

  test('unknown arguments are a usage error (exit 2)', async () => {
    const probe = await runBinary(['healthcheck', 'now'])
    expect(probe.code).toBe(2)
    expect(probe.stderr).toContain('usage: wabox healthcheck')
  })
})
