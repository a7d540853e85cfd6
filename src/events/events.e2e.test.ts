/**
 * Webhook deliveries survive a crash: the compiled binary is killed with SIGKILL while 200 deliveries are
 * pending (some in flight); after a restart every event reaches the receiver, signed, with its stable id.
 * Only a delivery whose answer the crash kept from being recorded may arrive twice — with the same webhook-id.
 */
import { describe, expect, test } from 'bun:test'
import BetterSqlite3 from 'better-sqlite3'
import { join } from 'node:path'
import { BINARY, startServer } from '../testing/binary.ts'
import { startReceiver } from '../testing/receiver.ts'
import { tempDir } from '../testing/temp.ts'

describe('webhook delivery crash safety', () => {
  test('SIGKILL with 200 deliveries pending: after restart all are delivered, none lost', async () => {
    let secret = ''
    let slow = true
    // Before the kill: the first 30 are answered, then no more (so deliveries are pending, and in flight, at the
    // kill, however fast or loaded the machine); after the restart every one at once.
    let answered = 0
    let killed!: () => void
    const afterKill = new Promise<void>((r) => (killed = r))
    const receiver = startReceiver({
      secrets: () => [secret],
      respond: async () => {
        if (slow && answered++ >= 30) await afterKill
        return 200
      },
    })
    const dir = tempDir('wabox-webhook-crash')
    const dataDir = join(dir, 'data')
    const args = [
      '--data-dir',
      dataDir,
      '--rate-limit',
      '10000/1s',
      '--ui-rate-limit',
      '10000/1s',
      '--webhook-allow-http',
      'true',
      '--webhook-allowed-networks',
      '127.0.0.0/8',
    ]
    const create = Bun.spawn([BINARY, 'operator', 'create', '--email', 'op@example.com', '--data-dir', dataDir], {
      stdin: new TextEncoder().encode('operator password 1\n'),
      stdout: 'pipe',
    })
    expect(await create.exited).toBe(0)

    let server = await startServer({ cwd: dir, args })
    try {
      const url = server.url
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'op@example.com', password: 'operator password 1' }),
      })
      const session = {
        cookie: login.headers.get('set-cookie')!.split(';')[0]!,
        origin: url,
        'content-type': 'application/json',
      }
      const ws = (await (await fetch(`${url}/api/v1/me`, { headers: session })).json()).memberships[0].workspaceId
      const created = await (
        await fetch(`${url}/api/v1/workspaces/${ws}/webhooks`, {
          method: 'POST',
          headers: session,
          body: JSON.stringify({ url: receiver.url }),
        })
      ).json()
      secret = created.secret
      for (let i = 0; i < 200; i++) {
        const res = await fetch(`${url}/api/v1/workspaces/${ws}/webhooks/${created.endpoint.id}/test`, {
          method: 'POST',
          headers: session,
        })
        expect(res.status).toBe(202)
      }
      const deadline = Date.now() + 20_000
      while (receiver.received.length < 30 && Date.now() < deadline) await Bun.sleep(5)
      server.proc.kill('SIGKILL')
      await server.proc.exited
      killed()
    } catch (err) {
      killed()
      await server.stop()
      throw err
    }
    const beforeRestart = new Set(receiver.received.map((r) => r.id)).size
    expect(beforeRestart).toBeGreaterThanOrEqual(30)
    expect(beforeRestart).toBeLessThan(200)

    slow = false
    const allDelivered = () => {
      const live = new BetterSqlite3(join(dataDir, 'wabox.db'), { readonly: true })
      try {
        const n = live.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE state = 'delivered'").get()
        return (n as { n: number }).n === 200
      } finally {
        live.close()
      }
    }
    server = await startServer({ cwd: dir, args })
    try {
      const done = Date.now() + 30_000
      while (new Set(receiver.received.map((r) => r.id)).size < 200 && Date.now() < done) await Bun.sleep(50)
      // Until every delivery is recorded as delivered: nothing is left to send (again), and the graceful stop below
      // waits for the requests in flight, so whatever would arrive twice has arrived.
      while (!allDelivered() && Date.now() < done) await Bun.sleep(50)
    } finally {
      expect(await server.stop()).toBe(0)
      receiver.stop()
    }
    const check = new BetterSqlite3(join(dataDir, 'wabox.db'), { readonly: true })
    let eventIds: string[]
    try {
      expect(check.prepare('SELECT state, count(*) AS n FROM webhook_deliveries GROUP BY state').all()).toEqual([
        { state: 'delivered', n: 200 },
      ])
      eventIds = (
        check.prepare("SELECT id FROM events WHERE type = 'webhook.test' ORDER BY seq").all() as { id: string }[]
      ).map((r) => r.id)
    } finally {
      check.close()
    }
    const perId = new Map<string, number>()
    for (const r of receiver.received) perId.set(r.id, (perId.get(r.id) ?? 0) + 1)
    expect([...perId.keys()].sort()).toEqual([...eventIds].sort())
    // Every request verified, and the body names the same id as the header.
    expect(receiver.received.filter((r) => !r.verified || r.json.id !== r.id)).toEqual([])
    // At most what was in flight at the kill (4 per endpoint) arrived twice.
    const twice = [...perId.values()].filter((n) => n > 1)
    expect(twice.length).toBeLessThanOrEqual(4)
    expect(twice.every((n) => n === 2)).toBe(true)
  }, 90_000)
})
