/**
 * The compiled binary carries Baileys: a QR channel created through the API gets a real WhatsApp Web socket
 * (pointed here at a port that refuses connections), its session starts again with the next `serve`, and the
 * server answers and shuts down cleanly throughout.
 */
import { describe, expect, test } from 'bun:test'
import BetterSqlite3 from 'better-sqlite3'
import { join } from 'node:path'
import { BINARY, startServer } from '../../testing/binary.ts'
import { tempDir } from '../../testing/temp.ts'

const stateOf = (dataDir: string, id: string) => {
  const db = new BetterSqlite3(join(dataDir, 'wabox.db'), { readonly: true })
  try {
    return db.prepare('SELECT connection_state, reconnect_count, last_error FROM channels WHERE id = ?').get(id) as {
      connection_state: string
      reconnect_count: number
      last_error: string | null
    }
  } finally {
    db.close()
  }
}

async function until<T>(read: () => T, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  let v = read()
  while (!ok(v) && Date.now() < deadline) {
    await Bun.sleep(50)
    v = read()
  }
  return v
}

describe('QR channel in the compiled binary', () => {
  test('a qr channel starts with serve, reconnects with backoff against a refusing address, and shuts down cleanly', async () => {
    const dir = tempDir('wabox-qr-smoke')
    const dataDir = join(dir, 'data')
    const args = ['--data-dir', dataDir, '--qr-websocket-url', 'ws://127.0.0.1:1/ws/chat', '--rate-limit', '1000/1s']
    const create = Bun.spawn([BINARY, 'operator', 'create', '--email', 'op@example.com', '--data-dir', dataDir], {
      stdin: new TextEncoder().encode('operator password 1\n'),
      stdout: 'pipe',
    })
    expect(await create.exited).toBe(0)

    let server = await startServer({ cwd: dir, args })
    let channelId: string
    try {
      const login = await fetch(`${server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'op@example.com', password: 'operator password 1' }),
      })
      const session = {
        cookie: login.headers.get('set-cookie')!.split(';')[0]!,
        origin: server.url,
        'content-type': 'application/json',
      }
      const ws = (await (await fetch(`${server.url}/api/v1/me`, { headers: session })).json()).memberships[0]
        .workspaceId
      const res = await fetch(`${server.url}/api/v1/workspaces/${ws}/channels`, {
        method: 'POST',
        headers: session,
        body: JSON.stringify({ kind: 'qr', name: 'Shop phone' }),
      })
      expect(res.status).toBe(201)
      channelId = (await res.json()).channel.id
      const state = await until(
        () => stateOf(dataDir, channelId),
        (s) => s.connection_state === 'reconnecting',
      )
      expect(state.connection_state).toBe('reconnecting')
      expect(state.last_error).toContain('ECONNREFUSED')
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
    } finally {
      expect(await server.stop()).toBe(0)
    }
    const before = stateOf(dataDir, channelId!).reconnect_count

    // The next start brings the session back by itself.
    server = await startServer({ cwd: dir, args })
    try {
      const after = await until(
        () => stateOf(dataDir, channelId!),
        (s) => s.reconnect_count > before,
      )
      expect(after).toMatchObject({ connection_state: 'reconnecting' })
      expect(after.reconnect_count).toBeGreaterThan(before)
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
      // Nothing from Baileys below warn reaches the log, and no stack traces of the expected refusals.
      expect(server.lines.filter((l) => l.includes('"component":"baileys"') && /"level":(10|20|30)\b/.test(l))).toEqual(
        [],
      )
    } finally {
      expect(await server.stop()).toBe(0)
    }
  }, 60_000)
})
