/**
 * The master key belongs to its database: the compiled binary refuses to start with another key while sealed
 * credentials exist, and never creates a new key file beside them.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { BINARY, runBinary, startServer } from '../testing/binary.ts'
import { startGraphDouble } from '../testing/graph-double.ts'
import { tempDir } from '../testing/temp.ts'
import { keyEntryOf } from '../crypto/keyfile.ts'
import { unlessSettledWithin } from '../testing/wait.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

const serveArgs = (dataDir: string) => ['--data-dir', dataDir, '--graph-base-url', graph.url]

/** `wabox serve` that is expected to refuse: its exit code and stderr (a server still running after 5 s is a failure). */
async function refusedStart(dataDir: string, env: Record<string, string> = {}) {
  const proc = Bun.spawn([BINARY, '--port', '0', '--host', '127.0.0.1', ...serveArgs(dataDir)], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const code = await Promise.race([proc.exited, unlessSettledWithin(5000, () => null)])
  if (code === null) proc.kill('SIGKILL')
  return { code, stderr: await new Response(proc.stderr).text() }
}

describe('the master key of a database', () => {
  test('sealed credentials exist: another key exits 1 naming both key ids; a deleted key file is not replaced', async () => {
    const dir = tempDir('wabox-key')
    const dataDir = join(dir, 'data')
    const create = await runBinary(['operator', 'create', '--email', 'op@example.com', '--data-dir', dataDir], {
      env: {},
    })
    expect(create.code).toBe(0)
    const server = await startServer({ cwd: dir, args: serveArgs(dataDir) })
    try {
      const login = await fetch(`${server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'op@example.com', password: create.stdout.match(/shown once\): (\S+)/)![1] }),
      })
      expect(login.status).toBe(200)
      const session = {
        cookie: login.headers.get('set-cookie')!.split(';')[0]!,
        origin: server.url,
        'content-type': 'application/json',
      }
      const ws = (await (await fetch(`${server.url}/api/v1/me`, { headers: session })).json()).memberships[0]
        .workspaceId
      graph.addNumber('207000000777')
      graph.addToken('EAAGmaster-key-token', ['207000000777'])
      const channel = await fetch(`${server.url}/api/v1/workspaces/${ws}/channels`, {
        method: 'POST',
        headers: session,
        body: JSON.stringify({
          name: 'Main',
          accessToken: 'EAAGmaster-key-token',
          phoneNumberId: '207000000777',
          wabaId: '102290129340398',
          appSecret: 'master-key-app-secret',
        }),
      })
      expect(channel.status).toBe(201)
    } finally {
      expect(await server.stop()).toBe(0)
    }
    const keyFile = join(dataDir, 'master.key')
    const ownId = keyEntryOf(new Uint8Array(readFileSync(keyFile))).id

    // A valid key, but not the one that sealed the channel's credentials.
    const other = new Uint8Array(randomBytes(32))
    const otherId = keyEntryOf(other).id
    const wrong = await refusedStart(dataDir, { WABOX_MASTER_KEY: Buffer.from(other).toString('base64') })
    expect(wrong.code).toBe(1)
    const line = wrong.stderr.trim()
    expect(line.split('\n')).toHaveLength(1)
    expect(line).toContain(`under master key ${ownId}`)
    expect(line).toContain(`loaded from WABOX_MASTER_KEY is ${otherId}`)
    expect(line).toContain('start wabox with the key that sealed them')

    // A backup taken with that key would name it in its manifest (and never restore with the right one): refused.
    const backup = await runBinary(['--backup', join(dir, 'b.tar.gz'), '--data-dir', dataDir], {
      env: { WABOX_MASTER_KEY: Buffer.from(other).toString('base64') },
    })
    expect(backup.code).toBe(1)
    expect(backup.stderr).toContain(`sealed with master key ${ownId}, but the loaded key is ${otherId}`)
    expect(existsSync(join(dir, 'b.tar.gz'))).toBe(false)

    // The key file is gone: no new key is created beside the sealed credentials.
    renameSync(keyFile, join(dir, 'kept-elsewhere.key'))
    const missing = await refusedStart(dataDir)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(`under master key ${ownId}, but ${keyFile} does not exist`)
    expect(existsSync(keyFile)).toBe(false)

    // With its own key back, the database starts and is ready.
    renameSync(join(dir, 'kept-elsewhere.key'), keyFile)
    const again = await startServer({ cwd: dir, args: serveArgs(dataDir) })
    try {
      expect((await fetch(`${again.url}/readyz`)).status).toBe(200)
    } finally {
      expect(await again.stop()).toBe(0)
    }
  }, 30_000)

  test('a database without sealed values takes a new key and records it', async () => {
    const dir = tempDir('wabox-key')
    const dataDir = join(dir, 'data')
    const first = await startServer({ cwd: dir, args: serveArgs(dataDir) })
    await first.stop()
    const other = Buffer.from(randomBytes(32)).toString('base64')
    const second = await startServer({ cwd: dir, args: serveArgs(dataDir), env: { WABOX_MASTER_KEY: other } })
    try {
      expect((await fetch(`${second.url}/readyz`)).status).toBe(200)
    } finally {
      await second.stop()
    }
  }, 20_000)
})
