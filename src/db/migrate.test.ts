import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { sql } from 'kysely'
import { Migrator } from 'kysely/migration'
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
    const meta = await db.db
      .selectFrom('instance_meta')
      .select(['key', 'value'])
      .where('key', '=', 'instance_id')
      .executeTakeFirstOrThrow()
    expect(meta.value).toMatch(/^[0-9a-f]{32}$/)
    await db.close()
  })

  test('re-running is a no-op that keeps the data', async () => {
    const file = join(tempDir(), 'wabox.db')
    const first = openDatabase(file)
    await migrateToLatest(first.db)
    const id = (
      await first.db
        .selectFrom('instance_meta')
        .select('value')
        .where('key', '=', 'instance_id')
        .executeTakeFirstOrThrow()
    ).value
    await first.close()
    const second = openDatabase(file)
    expect(await migrateToLatest(second.db)).toEqual([])
    expect(
      (
        await second.db
          .selectFrom('instance_meta')
          .select('value')
          .where('key', '=', 'instance_id')
          .executeTakeFirstOrThrow()
      ).value,
    ).toBe(id)
    await second.close()
  })

  test('a database carrying a migration this binary does not know is refused, untouched', async () => {
    const db = openDatabase(':memory:')
    await migrateToLatest(db.db)
    await sql`INSERT INTO kysely_migration (name, timestamp) VALUES ('2099-01-01_001_from_the_future', '2099-01-01T00:00:00Z')`.execute(
      db.db,
    )
    const err = await migrateToLatest(db.db).catch((e) => e)
    expect(err).toBeInstanceOf(MigrationError)
    expect(err.message).toContain('migrated by a newer wabox')
    expect(err.message).toContain('2099-01-01_001_from_the_future')
    await db.close()
  })

  test('2026-12-04_010 adds the pending channel status: channels rebuilt with every row, reference and index kept; down restores the old CHECK', async () => {
    const db = openDatabase(':memory:')
    const s = db.sqlite
    const upTo = (last: string) =>
      new Migrator({
        db: db.db,
        provider: {
          getMigrations: async () => Object.fromEntries(Object.entries(migrations).filter(([n]) => n <= last)),
        },
      })
    expect((await upTo('2026-11-22_009_outbox_indexes').migrateToLatest()).error).toBeUndefined()
    s.exec(`INSERT INTO workspaces (id, name, plan) VALUES ('ws_1', 'A', 'business')`)
    const channel = s.prepare(
      `INSERT INTO channels (id, workspace_id, provider, name, status, phone_number_id, display_phone_number, linked_at, connection_state, created_at, updated_at) VALUES (?, 'ws_1', ?, ?, ?, ?, ?, ?, ?, 'x', 'x')`,
    )
    channel.run('ch_cloud', 'cloud', 'Cloud', 'active', '1000010000', '+1 555', null, null)
    channel.run('ch_new', 'qr', 'Never linked', 'needs_reauth', null, null, null, 'linking')
    channel.run('ch_lost', 'qr', 'Logged out', 'needs_reauth', null, '4915100000001', null, 'logged_out')
    channel.run(
      'ch_replaced',
      'qr',
      'Replaced',
      'needs_reauth',
      null,
      '4915100000002',
      '2026-11-01T00:00:00.000Z',
      'replaced',
    )
    s.exec(
      `INSERT INTO contacts (id, workspace_id, wa_id, created_at, updated_at) VALUES ('ct_1', 'ws_1', '4915112345678', 'x', 'x')`,
    )
    s.exec(
      `INSERT INTO conversations (id, workspace_id, channel_id, contact_id, last_message_at, created_at, updated_at) VALUES ('cv_1', 'ws_1', 'ch_cloud', 'ct_1', 'x', 'x', 'x')`,
    )
    s.exec(
      `INSERT INTO messages (id, workspace_id, conversation_id, channel_id, direction, type, status, sent_at, created_at) VALUES ('msg_1', 'ws_1', 'cv_1', 'ch_cloud', 'in', 'text', 'received', 'x', 'x')`,
    )
    s.exec(
      `INSERT INTO qr_auth_state (workspace_id, channel_id, type, key_id, value, updated_at) VALUES ('ws_1', 'ch_replaced', 'creds', '', 'sealed', 'x')`,
    )
    const before = s.prepare('SELECT * FROM channels ORDER BY id').all() as Record<string, unknown>[]

    expect(
      (await upTo('2026-12-04_010_channel_pending').migrateToLatest()).results?.map((r) => r.migrationName),
    ).toEqual(['2026-12-04_010_channel_pending'])
    const after = s.prepare('SELECT * FROM channels ORDER BY id').all() as Record<string, unknown>[]
    // Only the never-linked QR channel changed: pending. Everything else is the row it was.
    expect(after).toEqual(before.map((r) => (r.id === 'ch_new' ? { ...r, status: 'pending' } : r)))
    // Nothing that refers to channels was lost (dropping the old table with foreign keys on would have cascaded).
    expect(s.prepare('SELECT count(*) AS n FROM conversations').get()).toEqual({ n: 1 })
    expect(s.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 1 })
    expect(s.prepare('SELECT count(*) AS n FROM qr_auth_state').get()).toEqual({ n: 1 })
    expect(s.pragma('foreign_keys', { simple: true })).toBe(1)
    expect(s.pragma('foreign_key_check')).toEqual([])
    expect(s.pragma('integrity_check', { simple: true })).toBe('ok')
    // The new CHECK (named, for the next change), the indexes, and the references all hold on the rebuilt table.
    expect(() => s.exec(`UPDATE channels SET status = 'paused' WHERE id = 'ch_new'`)).toThrow(
      /CHECK constraint failed: channels_status/,
    )
    expect(() => channel.run('ch_dup', 'cloud', 'Same number', 'active', '1000010000', null, null, null)).toThrow(
      /UNIQUE constraint failed/,
    )
    expect(
      (
        s
          .prepare(
            `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'channels' AND sql IS NOT NULL ORDER BY name`,
          )
          .all() as { name: string }[]
      ).map((r) => r.name),
    ).toEqual(['channels_live_phone', 'channels_workspace'])
    expect(() =>
      s.exec(
        `INSERT INTO conversations (id, workspace_id, channel_id, contact_id, last_message_at, created_at, updated_at) VALUES ('cv_2', 'ws_1', 'ch_gone', 'ct_1', 'x', 'x', 'x')`,
      ),
    ).toThrow(/FOREIGN KEY constraint failed/)
    s.exec(`DELETE FROM channels WHERE id = 'ch_replaced'`)
    expect(s.prepare('SELECT count(*) AS n FROM qr_auth_state').get()).toEqual({ n: 0 })

    // Down: pending becomes needs_reauth again, under the old CHECK.
    expect((await upTo('2026-12-04_010_channel_pending').migrateDown()).error).toBeUndefined()
    expect(s.prepare(`SELECT status FROM channels WHERE id = 'ch_new'`).get()).toEqual({ status: 'needs_reauth' })
    expect(() => s.exec(`UPDATE channels SET status = 'pending' WHERE id = 'ch_new'`)).toThrow(
      /CHECK constraint failed/,
    )
    expect(s.prepare('SELECT count(*) AS n FROM conversations').get()).toEqual({ n: 1 })
    expect(s.pragma('foreign_keys', { simple: true })).toBe(1)
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
    await sql`INSERT INTO kysely_migration (name, timestamp) VALUES ('2099-01-01_001_from_the_future', 'x')`.execute(
      db.db,
    )
    await db.close()
    const serve = await runBinary(['--data-dir', dir, '--port', '0'])
    expect(serve.code).toBe(1)
    expect(serve.stderr).toContain('migrated by a newer wabox (unknown migrations: 2099-01-01_001_from_the_future)')
  })

  test('2026-12-04_012 records who each API key answers for, and revokes (audited) keys whose member already lost access', async () => {
    const db = openDatabase(':memory:')
    const s = db.sqlite
    const upTo = (last: string) =>
      new Migrator({
        db: db.db,
        provider: {
          getMigrations: async () => Object.fromEntries(Object.entries(migrations).filter(([n]) => n <= last)),
        },
      })
    expect((await upTo('2026-12-04_011_master_keys').migrateToLatest()).error).toBeUndefined()
    s.exec(`INSERT INTO workspaces (id, name, plan) VALUES ('ws_1', 'A', 'business')`)
    const user = s.prepare(`INSERT INTO users (id, email, password_hash) VALUES (?, ?, 'x')`)
    for (const u of ['usr_owner', 'usr_admin', 'usr_gone', 'usr_demoted']) user.run(u, `${u}@example.com`)
    const member = s.prepare(`INSERT INTO memberships (workspace_id, user_id, role) VALUES ('ws_1', ?, ?)`)
    member.run('usr_owner', 'owner')
    member.run('usr_admin', 'admin')
    member.run('usr_demoted', 'analyst')
    const key = s.prepare(
      `INSERT INTO api_keys (id, workspace_id, name, role, prefix, token_hash, created_by, created_at, revoked_at) VALUES (?, 'ws_1', ?, ?, ?, 'h', ?, 'x', ?)`,
    )
    key.run('key_owner', 'owner key', 'admin', 'p1', 'usr_owner', null)
    key.run('key_admin', 'admin key', 'agent', 'p2', 'usr_admin', null)
    key.run('key_by_key', 'minted', 'admin', 'p3', 'key_admin', null) // made with the admin's key
    key.run('key_gone', 'removed member', 'admin', 'p4', 'usr_gone', null)
    key.run('key_gone_child', 'minted by removed', 'agent', 'p5', 'key_gone', null)
    key.run('key_demoted_ok', 'analyst key', 'analyst', 'p6', 'usr_demoted', null)
    key.run('key_demoted', 'agent key', 'agent', 'p7', 'usr_demoted', null)
    key.run('key_already', 'revoked before', 'admin', 'p8', 'usr_gone', 'earlier')
    key.run('key_system', 'cli key', 'agent', 'p9', null, null)

    expect(
      (await upTo('2026-12-04_012_api_key_creators').migrateToLatest()).results?.map((r) => r.migrationName),
    ).toEqual(['2026-12-04_012_api_key_creators'])
    const rows = Object.fromEntries(
      (
        s.prepare('SELECT id, created_by_user_id, revoked_at FROM api_keys').all() as {
          id: string
          created_by_user_id: string | null
          revoked_at: string | null
        }[]
      ).map((r) => [r.id, r]),
    )
    expect(Object.fromEntries(Object.entries(rows).map(([id, r]) => [id, r.created_by_user_id]))).toEqual({
      key_owner: 'usr_owner',
      key_admin: 'usr_admin',
      key_by_key: 'usr_admin',
      key_gone: 'usr_gone',
      key_gone_child: 'usr_gone',
      key_demoted_ok: 'usr_demoted',
      key_demoted: 'usr_demoted',
      key_already: 'usr_gone',
      key_system: null,
    })
    const revoked = Object.values(rows)
      .filter((r) => r.revoked_at !== null && r.revoked_at !== 'earlier')
      .map((r) => r.id)
      .sort()
    expect(revoked).toEqual(['key_demoted', 'key_gone', 'key_gone_child'])
    expect(rows.key_already!.revoked_at).toBe('earlier')
    const audit = s
      .prepare(
        `SELECT target_id, actor_type, metadata FROM audit_log WHERE action = 'apikey.revoked' ORDER BY target_id`,
      )
      .all() as { target_id: string; actor_type: string; metadata: string }[]
    expect(audit.map((a) => a.target_id)).toEqual(revoked)
    for (const a of audit) {
      expect(a.actor_type).toBe('system')
      expect(JSON.parse(a.metadata)).toMatchObject({ reason: 'creator_lost_access' })
    }
    await db.close()
  })

  test('2026-12-04_013 renames the webhook inbox to intake_events: rows, ids, the id counter and the indexes kept; down renames it back', async () => {
    const db = openDatabase(':memory:')
    const s = db.sqlite
    const upTo = (last: string) =>
      new Migrator({
        db: db.db,
        provider: {
          getMigrations: async () => Object.fromEntries(Object.entries(migrations).filter(([n]) => n <= last)),
        },
      })
    expect((await upTo('2026-12-04_012_api_key_creators').migrateToLatest()).error).toBeUndefined()
    const event = s.prepare(
      `INSERT INTO webhook_inbox (workspace_id, channel_id, idempotency_key, kind, payload, received_at, state, attempts, next_attempt_at, last_error, processed_at) VALUES ('ws_1', 'ch_1', ?, 'message', ?, 'r', ?, ?, 'n', ?, ?)`,
    )
    event.run('k1', '{"a":1}', 'processed', 0, null, 'p')
    event.run('k2', '{"a":2}', 'pending', 2, 'timeout', null)
    event.run('k3', '{"a":3}', 'dead', 8, 'bad', null)
    event.run('k4', '{"a":4}', 'pending', 0, null, null)
    // The highest id is gone: AUTOINCREMENT must still never hand it out again.
    s.exec(`DELETE FROM webhook_inbox WHERE idempotency_key = 'k4'`)
    const before = s.prepare('SELECT * FROM webhook_inbox ORDER BY id').all()
    /** Each index by its name's suffix: unique, partial, and its columns. */
    const indexes = (table: string) =>
      (s.prepare(`PRAGMA index_list(${table})`).all() as { name: string; unique: number; partial: number }[])
        .filter((i) => !i.name.startsWith('sqlite_'))
        .map((i) => ({
          name: i.name.slice(table.length),
          unique: i.unique,
          partial: i.partial,
          columns: (s.prepare(`PRAGMA index_info(${i.name})`).all() as { name: string }[]).map((c) => c.name),
        }))
        .sort((a, b) => a.name.localeCompare(b.name))
    const indexesBefore = indexes('webhook_inbox')
    expect(indexesBefore.map((i) => i.name)).toEqual(['_dead', '_key', '_pending'])

    expect((await upTo('2026-12-04_013_intake').migrateToLatest()).results?.map((r) => r.migrationName)).toEqual([
      '2026-12-04_013_intake',
    ])
    const tables = () =>
      (
        s
          .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('webhook_inbox', 'intake_events')`)
          .all() as { name: string }[]
      ).map((r) => r.name)
    expect(tables()).toEqual(['intake_events'])
    expect(s.prepare('SELECT * FROM intake_events ORDER BY id').all()).toEqual(before)
    expect(indexes('intake_events')).toEqual(indexesBefore)
    expect(
      s.prepare(`SELECT name, seq FROM sqlite_sequence WHERE name LIKE '%inbox%' OR name LIKE 'intake%'`).all(),
    ).toEqual([{ name: 'intake_events', seq: 4 }])
    // The pending index is still the partial one the processor's query needs, by its new name.
    expect(
      (
        s
          .prepare(
            `EXPLAIN QUERY PLAN SELECT * FROM intake_events WHERE state = 'pending' AND next_attempt_at <= 'z' ORDER BY next_attempt_at, id`,
          )
          .all() as { detail: string }[]
      )
        .map((r) => r.detail)
        .join(' '),
    ).toContain('intake_events_pending')
    // The unique key still ignores a repeat, and a new row's id comes after the deleted one's.
    expect(
      s
        .prepare(
          `INSERT INTO intake_events (workspace_id, channel_id, idempotency_key, kind, payload, received_at, next_attempt_at) VALUES ('ws_1', 'ch_1', 'k1', 'message', '{}', 'r', 'n') ON CONFLICT DO NOTHING`,
        )
        .run().changes,
    ).toBe(0)
    s.exec(
      `INSERT INTO intake_events (workspace_id, channel_id, idempotency_key, kind, payload, received_at, next_attempt_at) VALUES ('ws_1', 'ch_1', 'k5', 'message', '{}', 'r', 'n')`,
    )
    expect(
      (s.prepare(`SELECT id FROM intake_events WHERE idempotency_key = 'k5'`).get() as { id: number }).id,
    ).toBeGreaterThan(4)
    expect(s.pragma('integrity_check', { simple: true })).toBe('ok')

    expect((await upTo('2026-12-04_013_intake').migrateDown()).error).toBeUndefined()
    expect(tables()).toEqual(['webhook_inbox'])
    expect(s.prepare('SELECT count(*) AS n FROM webhook_inbox').get()).toEqual({ n: 4 })
    expect(indexes('webhook_inbox')).toEqual(indexesBefore)
    await db.close()
  })
})
