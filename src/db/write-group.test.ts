import { describe, expect, test } from 'bun:test'
import { sql } from 'kysely'
import { openDatabase } from './client.ts'
import { migrateToLatest } from './migrate.ts'
import { WriteGroup } from './write-group.ts'
import { tempDir } from '../testing/temp.ts'
import { join } from 'node:path'

async function fresh() {
  const file = join(tempDir('wabox-write-group'), 'wabox.db')
  const handle = openDatabase(file)
  await migrateToLatest(handle.db)
  await sql`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)`.execute(handle.db)
  return Object.assign(handle, { file })
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

  test('at most 64 writes share a transaction: the 65th runs in the next one, after the first 64 are committed', async () => {
    const handle = await fresh()
    // Another connection sees only what is committed.
    const reader = openDatabase(handle.file)
    const committedNotes = () => (reader.sqlite.prepare('SELECT count(*) AS n FROM notes').get() as { n: number }).n
    const group = new WriteGroup(handle.db as never)
    const seenByEach = await Promise.all(
      Array.from({ length: 65 }, (_, i) =>
        group.run(async (trx) => {
          await sql`INSERT INTO notes (body) VALUES (${`note ${i}`})`.execute(trx)
          return committedNotes()
        }),
      ),
    )
    expect(seenByEach.slice(0, 64)).toEqual(Array(64).fill(0))
    expect(seenByEach[64]).toBe(64)
    expect(committedNotes()).toBe(65)
    await reader.close()
    await handle.close()
  })

  test('when the shared COMMIT fails, every write of the group is rejected and none is stored', async () => {
    const handle = await fresh()
    // A deferred foreign key is checked at COMMIT: one orphan makes the whole transaction fail there.
    await sql`CREATE TABLE parents (id INTEGER PRIMARY KEY)`.execute(handle.db)
    await sql`CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)`.execute(
      handle.db,
    )
    const group = new WriteGroup(handle.db as never)
    const results = await Promise.allSettled([
      group.run((trx) => sql`INSERT INTO notes (body) VALUES ('kept?')`.execute(trx)),
      group.run((trx) => sql`INSERT INTO children (parent_id) VALUES (42)`.execute(trx)),
      group.run((trx) => sql`INSERT INTO notes (body) VALUES ('kept too?')`.execute(trx)),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
    expect((results[0] as PromiseRejectedResult).reason.message).toContain('FOREIGN KEY')
    expect((await sql<{ n: number }>`SELECT count(*) AS n FROM notes`.execute(handle.db)).rows[0]!.n).toBe(0)
    // The group is usable again afterwards.
    await group.run((trx) => sql`INSERT INTO notes (body) VALUES ('after')`.execute(trx))
    expect((await sql<{ n: number }>`SELECT count(*) AS n FROM notes`.execute(handle.db)).rows[0]!.n).toBe(1)
    await handle.close()
  })
})
