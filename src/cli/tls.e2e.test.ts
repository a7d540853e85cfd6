/**
 * wabox serving https itself (--tls-cert / --tls-key), on the compiled binary: HSTS on every response, a Secure
 * session cookie, an https default public URL; SIGHUP re-reads the PEM files — new connections get the new
 * certificate while a live event stream opened before keeps its heartbeats; and the ways the flags can be wrong.
 */
import { describe, expect, test } from 'bun:test'
import { X509Certificate } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:tls'
import { join } from 'node:path'
import { BINARY, runBinary, startServer, type RunResult } from '../testing/binary.ts'
import { tempDir } from '../testing/temp.ts'
import { unlessSettledWithin } from '../testing/wait.ts'

const hasOpenssl = Bun.spawnSync(['which', 'openssl']).exitCode === 0

/** A fresh self-signed certificate for localhost / 127.0.0.1 (EC P-256: fast to make). */
function selfSigned(dir: string, name: string): { cert: string; key: string; fingerprint: string } {
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  if (!hasOpenssl)
    throw new Error('these tests make certificates with openssl: install it (scripts/test.sh does, as root)')
  const made = Bun.spawnSync(
    [
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=localhost`,
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stderr: 'pipe' },
  )
  if (made.exitCode !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`)
  return { cert, key, fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256 }
}

/** The SHA-256 fingerprint of the certificate a new TLS connection to `port` is shown. */
function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256)
      socket.end()
    })
    socket.on('error', reject)
  })
}

const insecure = { tls: { rejectUnauthorized: false } } as RequestInit

function expectOneLine(result: RunResult, code: number, pattern: RegExp): void {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code, stderr: expect.stringMatching(pattern) })
  expect(result.stderr.trim().split('\n')).toHaveLength(1)
  expect(result.stderr).not.toMatch(/\n\s+at |\bat .*\(.*:\d+:\d+\)/)
}

function failedStart(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  const run = runBinary(['--port', '0', '--host', '127.0.0.1', ...args], { env })
  return Promise.race([
    run,
    unlessSettledWithin(10_000, () => ({
      code: -1,
      stdout: '',
      stderr: 'still running after 10 s: the start did not fail',
    })),
  ])
}

// Never skipped: scripts/test.sh installs openssl where it is missing; without it these tests fail and say so.
describe('TLS without a proxy', () => {
  test('serves https with HSTS and a Secure cookie; SIGHUP swaps the certificate for new connections, an open stream keeps its heartbeats', async () => {
    const dir = tempDir('wabox-tls')
    const dataDir = join(dir, 'data')
    const first = selfSigned(dir, 'first')
    const certFile = join(dir, 'server.crt')
    const keyFile = join(dir, 'server.key')
    writeFileSync(certFile, readFileSync(first.cert))
    writeFileSync(keyFile, readFileSync(first.key), { mode: 0o600 })
    const create = Bun.spawn([BINARY, 'operator', 'create', '--email', 'op@example.com', '--data-dir', dataDir], {
      stdin: new TextEncoder().encode('operator password 1\n'),
      stdout: 'pipe',
    })
    expect(await create.exited).toBe(0)

    const server = await startServer({
      cwd: dir,
      args: [
        '--data-dir',
        dataDir,
        '--tls-cert',
        certFile,
        '--tls-key',
        keyFile,
        '--sse-heartbeat',
        '1',
        '--shutdown-timeout',
        '2',
      ],
    })
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
    try {
      expect(server.url).toBe(`https://127.0.0.1:${server.port}`)
      const listening = server.lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'wabox listening')!
      expect(listening.publicUrl).toBe(`https://localhost:${server.port}`)
      expect(await peerFingerprint(server.port)).toBe(first.fingerprint)
      // The container health check speaks https to it with the same options as serve.
      const probe = await runBinary([
        'healthcheck',
        '--port',
        String(server.port),
        '--host',
        '127.0.0.1',
        '--tls-cert',
        certFile,
        '--tls-key',
        keyFile,
      ])
      expect({ code: probe.code, stdout: probe.stdout.trim() }).toEqual({
        code: 0,
        stdout: `ready: https://127.0.0.1:${server.port}/readyz`,
      })

      // Plain http on the same port is not served.
      await expect(fetch(`http://127.0.0.1:${server.port}/healthz`).then((r) => r.status)).rejects.toThrow()

      // Verified against the certificate itself, as a client trusting it would.
      const health = await fetch(`${server.url}/healthz`, {
        tls: { ca: readFileSync(first.cert, 'utf8') },
      } as RequestInit)
      expect(health.status).toBe(200)
      expect(health.headers.get('strict-transport-security')).toBe('max-age=31536000')
      const missing = await fetch(`${server.url}/api/v1/nothing-here`, insecure)
      expect(missing.status).toBe(404)
      expect(missing.headers.get('strict-transport-security')).toBe('max-age=31536000')

      const login = await fetch(`${server.url}/api/v1/auth/login`, {
        ...insecure,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'op@example.com', password: 'operator password 1' }),
      })
      expect(login.status).toBe(200)
      expect(login.headers.get('strict-transport-security')).toBe('max-age=31536000')
      const cookie = login.headers.get('set-cookie')!
      expect(cookie).toMatch(/^wabox_session=[^;]+;.*; HttpOnly;/)
      expect(cookie.split(';').map((p) => p.trim())).toContain('Secure')
      const session = { cookie: cookie.split(';')[0]!, origin: `https://localhost:${server.port}` }
      const ws = (await (await fetch(`${server.url}/api/v1/me`, { ...insecure, headers: session })).json())
        .memberships[0].workspaceId

      // A live stream opened before the reload.
      const stream = await fetch(`${server.url}/api/v1/workspaces/${ws}/events/stream`, {
        ...insecure,
        headers: session,
      })
      expect(stream.status).toBe(200)
      reader = stream.body!.getReader()
      let heartbeats = 0
      let ended = false
      const decoder = new TextDecoder()
      void (async () => {
        try {
          for (;;) {
            const { done, value } = await reader!.read()
            if (done) break
            heartbeats += decoder
              .decode(value)
              .split('\n')
              .filter((l) => l.startsWith(':')).length
          }
        } catch {
          // cancelled at the end of the test, or the connection dropped (checked below)
        }
        ended = true
      })()
      const until = Date.now() + 5_000
      while (heartbeats < 2 && Date.now() < until) await Bun.sleep(50)
      expect(heartbeats).toBeGreaterThanOrEqual(2)

      // New files in place, then SIGHUP.
      const second = selfSigned(dir, 'second')
      expect(second.fingerprint).not.toBe(first.fingerprint)
      writeFileSync(certFile, readFileSync(second.cert))
      writeFileSync(keyFile, readFileSync(second.key))
      server.proc.kill('SIGHUP')
      const reloaded = Date.now() + 5_000
      while (!server.lines.some((l) => l.includes('"TLS certificate reloaded"')) && Date.now() < reloaded)
        await Bun.sleep(20)
      const line = server.lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'TLS certificate reloaded')
      expect(line?.fingerprint).toBe(second.fingerprint)

      expect(await peerFingerprint(server.port)).toBe(second.fingerprint)
      const after = await fetch(`${server.url}/healthz`, {
        tls: { ca: readFileSync(second.cert, 'utf8') },
      } as RequestInit)
      expect(after.status).toBe(200)
      expect(after.headers.get('strict-transport-security')).toBe('max-age=31536000')

      // The stream from before the reload is still open and still beating.
      const atReload = heartbeats
      const more = Date.now() + 5_000
      while (heartbeats < atReload + 2 && Date.now() < more) await Bun.sleep(50)
      expect(heartbeats).toBeGreaterThanOrEqual(atReload + 2)
      expect(ended).toBe(false)

      // A broken file at the next SIGHUP: logged, and the current certificate stays.
      writeFileSync(certFile, 'not a certificate\n')
      server.proc.kill('SIGHUP')
      const refused = Date.now() + 5_000
      while (!server.lines.some((l) => l.includes('TLS files not reloaded')) && Date.now() < refused)
        await Bun.sleep(20)
      expect(server.lines.some((l) => l.includes('TLS files not reloaded'))).toBe(true)
      expect(await peerFingerprint(server.port)).toBe(second.fingerprint)
      expect((await fetch(`${server.url}/healthz`, insecure)).status).toBe(200)
    } finally {
      await reader?.cancel().catch(() => {})
      expect(await server.stop()).toBe(0)
    }
  }, 60_000)

  test('only one of the two flags is bad configuration: exit 2, naming the missing flag', async () => {
    const dir = tempDir('wabox-tls-flags')
    const { cert, key } = selfSigned(dir, 'only')
    expectOneLine(
      await failedStart(['--data-dir', join(dir, 'a'), '--tls-cert', cert]),
      2,
      /^wabox: --tls-cert needs --tls-key \(WABOX_TLS_KEY\)/,
    )
    expectOneLine(
      await failedStart(['--data-dir', join(dir, 'b'), '--tls-key', key]),
      2,
      /^wabox: --tls-key needs --tls-cert \(WABOX_TLS_CERT\)/,
    )
    expectOneLine(
      await failedStart(['--data-dir', join(dir, 'c')], { WABOX_TLS_CERT: cert }),
      2,
      /^wabox: --tls-cert needs --tls-key/,
    )
  }, 30_000)

  test('an unreadable, garbage or mismatched PEM: exit 1, one line naming the file and flag, nothing created', async () => {
    const dir = tempDir('wabox-tls-bad')
    const good = selfSigned(dir, 'good')
    const other = selfSigned(dir, 'other')
    const garbage = join(dir, 'garbage.pem')
    writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n')
    const dataDir = join(dir, 'data')
    const bad = await failedStart(['--data-dir', dataDir, '--tls-cert', garbage, '--tls-key', good.key])
    expectOneLine(
      bad,
      1,
      new RegExp(`^wabox: the TLS certificate ${garbage} \\(--tls-cert\\) is not a valid PEM certificate`),
    )
    const badKey = await failedStart(['--data-dir', dataDir, '--tls-cert', good.cert, '--tls-key', good.cert])
    expectOneLine(badKey, 1, /^wabox: the TLS private key .* \(--tls-key\) is not a valid unencrypted PEM private key/)
    const mismatch = await failedStart(['--data-dir', dataDir, '--tls-cert', good.cert, '--tls-key', other.key])
    expectOneLine(mismatch, 1, /^wabox: the TLS private key .* \(--tls-key\) does not belong to the certificate/)
    const absent = await failedStart([
      '--data-dir',
      dataDir,
      '--tls-cert',
      join(dir, 'nope.crt'),
      '--tls-key',
      good.key,
    ])
    expectOneLine(absent, 1, /^wabox: cannot read the TLS certificate .*nope\.crt \(--tls-cert\): no such file\n$/)
    // Checked before the data directory is touched.
    expect(await Bun.file(join(dataDir, 'wabox.db')).exists()).toBe(false)
  }, 30_000)
})
