/**
 * The outbox survives a crash: the compiled binary is killed with SIGKILL while 500 messages are queued and
 * some are in flight; after a restart every message reaches Meta's double exactly once. Sends the crash
 * interrupted are recognised by the status webhook Meta posts (it carries our message id), not re-sent.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import BetterSqlite3 from 'better-sqlite3'
import { join } from 'node:path'
import { BINARY, startServer } from '../testing/binary.ts'
import { startGraphDouble } from '../testing/graph-double.ts'
import { tempDir } from '../testing/temp.ts'
import { freePort } from '../testing/ports.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

describe('outbox crash safety', () => {
  test('SIGKILL with 500 queued: after restart each message is sent exactly once', async () => {
    const dir = tempDir('wabox-outbox-crash')
    const dataDir = join(dir, 'data')
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
      graph.url,
      '--rate-limit',
      '10000/1s',
      '--ui-rate-limit',
      '10000/1s',
      '--send-recovery-grace',
      '3',
    ]
    const create = Bun.spawn([BINARY, 'operator', 'create', '--email', 'op@example.com', '--data-dir', dataDir], {
      stdin: new TextEncoder().encode('operator password 1\n'),
      stdout: 'pipe',
    })
    expect(await create.exited).toBe(0)

    let server = await startServer({ cwd: dir, args })
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
    graph.addNumber('207000000001')
    graph.addToken('EAAGoutbox-crash-token', ['207000000001'])
    const connected = await (
      await fetch(`${url}/api/v1/workspaces/${ws}/channels`, {
        method: 'POST',
        headers: session,
        body: JSON.stringify({
          name: 'Bulk',
          accessToken: 'EAAGoutbox-crash-token',
          phoneNumberId: '207000000001',
          wabaId: '102290129340398',
          appSecret: 'outbox-crash-app-secret',
        }),
      })
    ).json()
    const channelId = connected.channel.id
    // Meta posts status webhooks for this number to wabox, retrying while wabox is down.
    graph.deliverStatusesTo('207000000001', connected.webhook.url, 'outbox-crash-app-secret')
    const db = new BetterSqlite3(join(dataDir, 'wabox.db'))
    db.prepare('UPDATE channels SET send_rate = 100 WHERE id = ?').run(channelId)
    db.close()

    const ids: string[] = []
    // Queued 25 at a time, as concurrent API clients would (their commits share fsyncs): the kill still comes
    // mid-stream, after 150 sends.
    const queue = async (i: number) => {
      const res = await fetch(`${url}/api/v1/workspaces/${ws}/messages`, {
        method: 'POST',
        headers: session,
        body: JSON.stringify({
          channelId,
          to: `49170000${String(i % 50).padStart(4, '0')}`,
          type: 'template',
          template: {
            name: 'order_update',
            language: 'en',
            components: [{ type: 'body', parameters: [{ type: 'text', text: `order ${i}` }] }],
          },
        }),
      })
      expect(res.status).toBe(202)
      ids.push((await res.json()).id)
    }
    for (let first = 0; first < 500; first += 25)
      await Promise.all(Array.from({ length: 25 }, (_, k) => queue(first + k)))
    const sentFor = () => graph.sent.filter((s) => s.phoneNumberId === '207000000001')
    const allSent = () => {
      const live = new BetterSqlite3(join(dataDir, 'wabox.db'), { readonly: true })
      try {
        return (live.prepare("SELECT count(*) AS n FROM outbox WHERE state = 'sent'").get() as { n: number }).n === 500
      } finally {
        live.close()
      }
    }
    const deadline = Date.now() + 20_000
    while (sentFor().length < 150 && Date.now() < deadline) await Bun.sleep(5)
    server.proc.kill('SIGKILL')
    await server.proc.exited
    const beforeRestart = sentFor().length
    expect(beforeRestart).toBeGreaterThanOrEqual(150)
    expect(beforeRestart).toBeLessThan(500)

    server = await startServer({ cwd: dir, args })
    try {
      const done = Date.now() + 30_000
      while (new Set(sentFor().map((s) => s.body.biz_opaque_callback_data)).size < 500 && Date.now() < done)
        await Bun.sleep(50)
      // Until every outbox row is settled: a send interrupted by the kill waits out the recovery grace (3 s) unless
      // its status webhook settles it first, and were it sent again, that send would come before its row is `sent`.
      while (!allSent() && Date.now() < done) await Bun.sleep(50)
    } finally {
      expect(await server.stop()).toBe(0)
    }
    const perMessage = new Map<string, number>()
    for (const s of sentFor()) {
      const id = String(s.body.biz_opaque_callback_data).replace(/^wabox:/, '')
      perMessage.set(id, (perMessage.get(id) ?? 0) + 1)
    }
    expect({ distinct: perMessage.size, duplicates: [...perMessage.values()].filter((n) => n > 1).length }).toEqual({
      distinct: 500,
      duplicates: 0,
    })
    expect(ids.every((id) => perMessage.get(id) === 1)).toBe(true)
    const check = new BetterSqlite3(join(dataDir, 'wabox.db'), { readonly: true })
    try {
      const states = check.prepare('SELECT state, count(*) AS n FROM outbox GROUP BY state').all() as {
        state: string
        n: number
      }[]
      expect(states).toEqual([{ state: 'sent', n: 500 }])
      const noWamid = check
        .prepare("SELECT count(*) AS n FROM messages WHERE direction = 'out' AND wamid IS NULL")
        .get() as { n: number }
      expect(noWamid.n).toBe(0)
    } finally {
      check.close()
    }
  }, 90_000)
})
