/**
 * Crash safety with the real binary: signed webhooks are posted concurrently, the server is killed with
 * SIGKILL mid-load, restarted, and every event whose POST got 200 must be stored exactly once — including
 * after Meta re-sends some of them.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import BetterSqlite3 from 'better-sqlite3'
import { join } from 'node:path'
import { BINARY, startServer } from '../testing/binary.ts'
import { startGraphDouble } from '../testing/graph-double.ts'
import { tempDir } from '../testing/temp.ts'
import { contact, envelope, messagesChange, signed, textMessage } from '../testing/webhooks.ts'

const graph = await startGraphDouble()
afterAll(() => graph.stop())

describe('crash safety', () => {
  test('SIGKILL under concurrent signed webhook load: every acknowledged wamid is present exactly once after restart', async () => {
    const dir = tempDir('wabox-crash')
    const dataDir = join(dir, 'data')
    const args = ['--data-dir', dataDir, '--graph-base-url', graph.url, '--rate-limit', '1000/1s']
    // Operator and first workspace, headless.
    const create = Bun.spawn([BINARY, 'operator', 'create', '--email', 'op@example.com', '--data-dir', dataDir], {
      stdin: new TextEncoder().encode('operator password 1\n'),
      stdout: 'pipe',
    })
    expect(await create.exited).toBe(0)

    let server = await startServer({ cwd: dir, args })
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
    const ws = (await (await fetch(`${server.url}/api/v1/me`, { headers: session })).json()).memberships[0].workspaceId
    graph.addNumber('106540352242922')
    graph.addToken('EAAGcrash-test-token', ['106540352242922'])
    const appSecret = 'crash-test-app-secret'
    const connected = await fetch(`${server.url}/api/v1/workspaces/${ws}/channels`, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({
        name: 'Load',
        accessToken: 'EAAGcrash-test-token',
        phoneNumberId: '106540352242922',
        wabaId: '102290129340398',
        appSecret,
      }),
    })
    expect(connected.status).toBe(201)
    const channelId = (await connected.json()).channel.id

    const acked: string[] = []
    const bodies = new Map<string, { body: string; headers: Record<string, string> }>()
    let stop = false
    let sent = 0
    const worker = async (n: number) => {
      let i = 0
      while (!stop && i < 2000) {
        const items = [
          textMessage(`w${n}-${i}-a`, { from: `49${n}000${i % 7}` }),
          textMessage(`w${n}-${i}-b`, { from: `49${n}000${i % 7}` }),
        ]
        const s = signed(
          envelope([messagesChange('106540352242922', { contacts: [contact(`49${n}000${i % 7}`)], messages: items })]),
          appSecret,
        )
        i++
        sent++
        try {
          const res = await fetch(`${server.url}/webhooks/whatsapp/${channelId}`, {
            method: 'POST',
            headers: s.headers,
            body: s.body,
          })
          if (res.status === 200) {
            for (const m of items) {
              acked.push(m.id)
              bodies.set(m.id, s)
            }
          }
        } catch {
          // The server died under this request: it was never acknowledged, so nothing is owed.
        }
      }
    }
    const workers = Array.from({ length: 16 }, (_, n) => worker(n))
    // Let load build up, then pull the plug in the middle of it.
    while (acked.length < 300) await Bun.sleep(10)
    server.proc.kill('SIGKILL')
    await server.proc.exited
    stop = true
    await Promise.all(workers)
    expect(acked.length).toBeGreaterThanOrEqual(300)
    expect(sent).toBeGreaterThan(acked.length / 2)

    server = await startServer({ cwd: dir, args })
    try {
      // Meta re-sends some acknowledged batches (it cannot know they arrived): nothing may double.
      const resend = acked.filter((_, i) => i % 25 === 0).map((id) => bodies.get(id)!)
      for (const s of resend) {
        const res = await fetch(`${server.url}/webhooks/whatsapp/${channelId}`, {
          method: 'POST',
          headers: s.headers,
          body: s.body,
        })
        expect(res.status).toBe(200)
      }
    } finally {
      // A graceful stop drains the inbox before exiting.
      expect(await server.stop('SIGTERM')).toBe(0)
    }

    const db = new BetterSqlite3(join(dataDir, 'wabox.db'), { readonly: true })
    try {
      const counts = new Map(
        (
          db.prepare('SELECT wamid, count(*) AS n FROM messages GROUP BY wamid').all() as { wamid: string; n: number }[]
        ).map((r) => [r.wamid, r.n]),
      )
      const missing = acked.filter((id) => !counts.has(id))
      const doubled = [...counts.entries()].filter(([, n]) => n !== 1)
      expect({ missing: missing.length, doubled: doubled.length }).toEqual({ missing: 0, doubled: 0 })
      const pending = db.prepare("SELECT count(*) AS n FROM intake_events WHERE state != 'processed'").get() as {
        n: number
      }
      expect(pending.n).toBe(0)
      const inboxDup = db
        .prepare(
          'SELECT count(*) AS n FROM (SELECT idempotency_key FROM intake_events GROUP BY idempotency_key HAVING count(*) > 1)',
        )
        .get() as { n: number }
      expect(inboxDup.n).toBe(0)
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    } finally {
      db.close()
    }
  }, 60_000)
})
