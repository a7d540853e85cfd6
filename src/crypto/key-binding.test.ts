import { describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { sql } from 'kysely'
import { openDatabase } from '../db/client.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { keyringOf, seal } from './envelope.ts'
import { keyEntryOf, keyFingerprint } from './keyfile.ts'
import { bindMasterKey, MasterKeyError } from './key-binding.ts'
import { SEALED_COLUMNS } from './master-keys.repo.ts'

const newKey = () => {
  const raw = new Uint8Array(randomBytes(32))
  return { ...keyEntryOf(raw), fingerprint: keyFingerprint(raw), source: 'env' as const }
}

async function migrated() {
  const db = openDatabase(':memory:')
  await migrateToLatest(db.db)
  return db
}

describe('binding the master key to its database', () => {
  test('the first key is recorded; another one is refused while a sealed value names the first, accepted once none does', async () => {
    const db = await migrated()
    const first = newKey()
    await bindMasterKey(db.db, first, { keyFile: '/k', at: Date.now() })
    expect(await db.db.selectFrom('master_keys').selectAll().execute()).toEqual([
      { key_id: first.id, fingerprint: first.fingerprint, recorded_at: expect.any(String) },
    ])

    const second = newKey()
    await sql`INSERT INTO workspaces (id, name, plan) VALUES ('ws_1', 'A', 'business')`.execute(db.db)
    const sealed = seal(keyringOf(first), 'whsec_x', {
      workspaceId: 'ws_1',
      table: 'webhook_endpoints',
      rowId: 'whe_1',
      column: 'secret',
    })
    await sql`INSERT INTO webhook_endpoints (id, workspace_id, url, event_types, secret, after_seq, created_at, updated_at)
              VALUES ('whe_1', 'ws_1', 'https://x.example', '[]', ${sealed}, 0, '2026-01-01', '2026-01-01')`.execute(
      db.db,
    )
    const refused = await bindMasterKey(db.db, second, { keyFile: '/k', at: Date.now() }).catch((e) => e)
    expect(refused).toBeInstanceOf(MasterKeyError)
    expect(refused.message).toContain(`1 sealed credential under master key ${first.id}`)
    expect(refused.message).toContain(`is ${second.id}`)
    expect((await db.db.selectFrom('master_keys').select('key_id').execute()).map((r) => r.key_id)).toEqual([first.id])

    await sql`DELETE FROM webhook_endpoints`.execute(db.db)
    await bindMasterKey(db.db, second, { keyFile: '/k', at: Date.now() })
    expect((await db.db.selectFrom('master_keys').select('key_id').execute()).map((r) => r.key_id)).toEqual([second.id])
    await db.close()
  })

  test('every table code seals into is scanned, and every scanned column exists', async () => {
    const root = resolve(import.meta.dir, '..')
    const files = (readdirSync(root, { recursive: true }) as string[]).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('testing'),
    )
    const sealedTables = new Set<string>()
    for (const f of files) {
      const text = readFileSync(join(root, f), 'utf8')
      if (!/\bseal\(/.test(text) && !/SealContext/.test(text)) continue
      for (const m of text.matchAll(/table: '([a-z_]+)'/g)) sealedTables.add(m[1]!)
    }
    sealedTables.delete('readiness') // the readiness self-test seals in memory only
    expect(sealedTables.size).toBeGreaterThan(0)
    const scanned = new Set(SEALED_COLUMNS.map((c) => c.table as string))
    for (const table of sealedTables) expect({ table, scanned: scanned.has(table) }).toEqual({ table, scanned: true })
    const db = await migrated()
    for (const { table, column } of SEALED_COLUMNS) {
      const columns = (
        await sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`.execute(db.db)
      ).rows.map((r) => r.name)
      expect({ table, column, exists: columns.includes(column) }).toEqual({ table, column, exists: true })
    }
    await db.close()
  })
})
