import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { sql } from 'kysely'
import { migrations } from '../../migrations/index.ts'
import { openDatabase } from './client.ts'
import { MigrationError, migrateToLatest, migrationStatus, isSchemaCurrent } from './migrate.ts'
import { runBinary } from '../testing/binary.ts'
import { tempDir } from '../testing/temp.ts'

const known = Object.keys(migrations).sort()

describe('migrations', () => {
  test('from an empty database every migration applies, in name order', async () => {
    const db = openDatabase(':memory:')
    expect(await isSchemaCurrent(db.db)).toBe(false)
    expect(await migrateToLatest(db.db)).toEqual(known)
    expect(await isSchemaCurrent(db.db)).toBe(true)
    const status = await migrationStatus(db.db)
    expect(status.map((m) => m.name)).toEqual(known)
    expect(status.every((m) => m.appliedAt !== null)).toBe(true)
    const meta = await db.db.selectFrom('instance_meta').select(['key', 'value']).where('key', '=', 'instance_id').executeTakeFirstOrThrow()
    expect(meta.value).toMatch(/^[0-9a-f]{32}$/)
    await db.close()
  })

  test('re-running is a no-op that keeps the data', async () => {
    const file = join(tempDir(), 'wabox.db')
    const first = openDatabase(file)
    await migrateToLatest(first.db)
    const id = (await first.db.selectFrom('instance_meta').select('value').where('key', '=', 'instance_id').executeTakeFirstOrThrow()).value
    await first.close()
    const second = openDatabase(file)
    expect(await migrateToLatest(second.db)).toEqual([])
    expect((await second.db.selectFrom('instance_meta').select('value').where('key', '=', 'instance_id').executeTakeFirstOrThrow()).value).toBe(id)
    await second.close()
  })

  test('a database carrying a migration this binary does not know is refused, untouched', async () => {
    const db = openDatabase(':memory:')
    await migrateToLatest(db.db)
    await sql`INSERT INTO kysely_migration (name, timestamp) VALUES ('2099-01-01_001_from_the_future', '2099-01-01T00:00:00Z')`.execute(db.db)
    const err = await migrateToLatest(db.db).catch((e) => e)
    expect(err).toBeInstanceOf(MigrationError)
    expect(err.message).toContain('migrated by a newer wabox')
    expect(err.message).toContain('2099-01-01_001_from_the_future')
    await db.close()
  })

  test('the binary refuses to start on such a database and `migrate status` lists migrations', async () => {
    const dir = tempDir()
    const status = await runBinary(['migrate', 'status', '--data-dir', dir])
    expect(status.code).toBe(0)
    expect(status.stdout).toContain(`pending  ${known[0]}`)
    const up = await runBinary(['migrate', 'up', '--data-dir', dir])
    expect(up.stdout).toContain(`applied ${known.length} migration(s)`)
    const after = await runBinary(['migrate', 'status', '--data-dir', dir])
    expect(after.stdout).toContain(`applied  ${known[0]}`)
    expect(after.stdout).toContain(`${known.length} applied, 0 pending`)

    const db = openDatabase(join(dir, 'wabox.db'))
    await sql`INSERT INTO kysely_migration (name, timestamp) VALUES ('2099-01-01_001_from_the_future', 'x')`.execute(db.db)
    await db.close()
    const serve = await runBinary(['--data-dir', dir, '--port', '0'])
    expect(serve.code).toBe(1)
    expect(serve.stderr).toContain('migrated by a newer wabox (unknown migrations: 2099-01-01_001_from_the_future)')
  })
})
