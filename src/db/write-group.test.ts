import { describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import { openDatabase } from './client.ts'
import { migrateToLatest } from './migrate.ts'
import { WriteGroup } from './write-group.ts'
import { tempDir } from '../testing/temp.ts'
import { join } from 'node:path'

async function fresh() {
  const handle = openDatabase(join(tempDir('wabox-write-group'), 'wabox.db'))
  await migrateToLatest(handle.db)
  await sql`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)`.execute(handle.db)
  return handle
}

describe('WriteGroup', () => {
  test('writes that arrive together share one transaction; a failing one is rolled back alone; later ones see earlier ones', async () => {
    const handle = await fresh()
    const group = new WriteGroup(handle.db as never)
    const insert = (body: string) =>
      group.run(async (trx) => {
        await sql`INSERT INTO notes (body) VALUES (${body})`.execute(trx)
        // A write later in the same group sees what the earlier ones wrote (as idempotency checks need).
        return Number((await sql<{ n: number }>`SELECT count(*) AS n FROM notes`.execute(trx)).rows[0]!.n)
      })
    const results = await Promise.allSettled([insert('a'), insert('b'), insert('a'), insert('c')])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : null))).toEqual([1, 2, null, 3])
    expect((results[2] as PromiseRejectedResult).reason.message).toContain('UNIQUE')
    expect(
      (await sql<{ body: string }>`SELECT body FROM notes ORDER BY id`.execute(handle.db)).rows.map((r) => r.body),
    ).toEqual(['a', 'b', 'c'])
    await handle.close()
  })

  test('each caller settles only after the shared commit', async () => {
    const handle = await fresh()
    const group = new WriteGroup(handle.db as never)
    const order: string[] = []
    const slow = group.run(async (trx) => {
      await sql`INSERT INTO notes (body) VALUES ('slow')`.execute(trx)
      await Bun.sleep(30)
      order.push('slow written')
    })
    const fast = group.run(async (trx) => {
      await sql`INSERT INTO notes (body) VALUES ('fast')`.execute(trx)
      order.push('fast written')
    })
    await Promise.all([fast.then(() => order.push('fast settled')), slow.then(() => order.push('slow settled'))])
    // The fast write waited for the group's commit, which came after the slow one.
    expect(order.slice(0, 2)).toEqual(['slow written', 'fast written'])
    expect(order.slice(2).sort()).toEqual(['fast settled', 'slow settled'])
    await handle.close()
  })
})
