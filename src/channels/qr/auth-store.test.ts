import { afterEach, describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { proto, type SignalDataSet } from 'baileys'
import { iso } from '../../clock.ts'
import { CryptoError, ENVELOPE_VERSION } from '../../crypto/envelope.ts'
import { newId } from '../../crypto/tokens.ts'
import { AppError } from '../../lib/errors.ts'
import { createTestApp, type TestApp } from '../../testing/test-app.ts'
import { makeUser, makeWorkspace } from '../../testing/fixtures.ts'
import * as channelsRepo from '../channels.repo.ts'
import { newQrChannelRow } from './qr-channels.service.ts'
import { eraseAuthState, openAuthStore } from './auth-store.ts'

const apps: TestApp[] = []
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close()
})

async function makeQrChannel(t: TestApp, workspaceId: string): Promise<string> {
  const id = newId('ch')
  await channelsRepo.insert(
    t.db.db,
    newQrChannelRow({ id, workspaceId, name: 'Front desk phone', settings: '{}', at: iso(t.clock.now()) }),
  )
  return id
}

async function setup() {
  const t = await createTestApp()
  apps.push(t)
  const owner = await makeUser(t, 'owner@example.com')
  const ws = await makeWorkspace(t, 'Acme', owner)
  const a = await makeQrChannel(t, ws)
  const b = await makeQrChannel(t, ws)
  return { t, ws, a, b }
}

const rowsOf = (t: TestApp, channelId: string) =>
  t.db.db
    .selectFrom('qr_auth_state')
    .selectAll()
    .where('channel_id', '=', channelId)
    .orderBy('type')
    .orderBy('key_id')
    .execute()
const rowOf = (t: TestApp, channelId: string, type: string, keyId: string) =>
  t.db.db
    .selectFrom('qr_auth_state')
    .selectAll()
    .where('channel_id', '=', channelId)
    .where('type', '=', type)
    .where('key_id', '=', keyId)
    .executeTakeFirst()

/** One realistic value of every key type Baileys stores, with the raw key material each one carries. */
function everyKeyType() {
  const bytes = {
    prePub: randomBytes(33),
    prePriv: randomBytes(32),
    session: randomBytes(120),
    senderKey: randomBytes(90),
    syncKey: randomBytes(32),
    hash: randomBytes(128),
    token: randomBytes(24),
    identity: randomBytes(33),
  }
  const syncKey = proto.Message.AppStateSyncKeyData.fromObject({
    keyData: bytes.syncKey,
    fingerprint: { rawId: 7, currentIndex: 2, deviceIndexes: [0, 3] },
    timestamp: 1_764_000_000,
  })
  const data = {
    'pre-key': { '1': { public: bytes.prePub, private: bytes.prePriv } },
    session: { '16505551234.0': new Uint8Array(bytes.session) },
    'sender-key': { '120363000000000000@g.us::16505551234::0': bytes.senderKey },
    'sender-key-memory': {
      '120363000000000000@g.us': { '16505551234:0@s.whatsapp.net': true, '16505559876:1@s.whatsapp.net': false },
    },
    'app-state-sync-key': { AAAAAGBf: syncKey },
    'app-state-sync-version': { regular_high: { version: 12, hash: bytes.hash, indexValueMap: {} } },
    'lid-mapping': { '16505551234': '204512345678901@lid' },
    'device-list': { '16505551234': ['0', '3', '17'] },
    tctoken: { '16505551234@s.whatsapp.net': { token: bytes.token, timestamp: '1764000000' } },
    'identity-key': { '16505551234.0': bytes.identity },
  } satisfies SignalDataSet
  return { data, bytes }
}

describe('round trip', () => {
  test('fresh creds are not written until saveCreds; saved creds reopen with identical key bytes', async () => {
    const { t, ws, a } = await setup()
    const first = await openAuthStore(t.services, ws, a)
    expect(first.existed).toBe(false)
    expect(await rowsOf(t, a)).toEqual([])

    first.state.creds.me = { id: '16505551234:3@s.whatsapp.net', name: 'Front desk' }
    first.state.creds.routingInfo = randomBytes(16)
    await first.saveCreds()
    const rows = await rowsOf(t, a)
    expect(rows.map((r) => [r.workspace_id, r.type, r.key_id])).toEqual([[ws, 'creds', '']])

    const again = await openAuthStore(t.services, ws, a)
    expect(again.existed).toBe(true)
    const before = first.state.creds
    const after = again.state.creds
    expect(Buffer.isBuffer(after.noiseKey.private)).toBe(true)
    expect(Buffer.from(after.noiseKey.private).equals(Buffer.from(before.noiseKey.private))).toBe(true)
    expect(Buffer.from(after.noiseKey.public).equals(Buffer.from(before.noiseKey.public))).toBe(true)
    expect(Buffer.from(after.signedIdentityKey.private).equals(Buffer.from(before.signedIdentityKey.private))).toBe(
      true,
    )
    expect(Buffer.from(after.signedPreKey.signature).equals(Buffer.from(before.signedPreKey.signature))).toBe(true)
    expect(Buffer.from(after.routingInfo!).equals(before.routingInfo!)).toBe(true)
    expect(after.advSecretKey).toBe(before.advSecretKey)
    expect(after.registrationId).toBe(before.registrationId)
    expect(after.me).toEqual({ id: '16505551234:3@s.whatsapp.net', name: 'Front desk' })
    expect(after).toEqual(before)
  })

  test('saveCreds persists updates made to state.creds after opening (as Baileys does on creds.update)', async () => {
    const { t, ws, a } = await setup()
    const store = await openAuthStore(t.services, ws, a)
    await store.saveCreds()
    Object.assign(store.state.creds, { registered: true, nextPreKeyId: 31, firstUnuploadedPreKeyId: 31 })
    await store.saveCreds()
    expect(await rowsOf(t, a)).toHaveLength(1)
    const reopened = (await openAuthStore(t.services, ws, a)).state.creds
    expect([reopened.registered, reopened.nextPreKeyId, reopened.firstUnuploadedPreKeyId]).toEqual([true, 31, 31])
  })

  test('every key type comes back with its bytes; app-state-sync-key is revived as its protobuf class; missing ids are omitted', async () => {
    const { t, ws, a } = await setup()
    const { data, bytes } = everyKeyType()
    await (await openAuthStore(t.services, ws, a)).state.keys.set(data)
    expect(await rowsOf(t, a)).toHaveLength(Object.keys(data).length)

    const keys = (await openAuthStore(t.services, ws, a)).state.keys
    const preKeys = await keys.get('pre-key', ['1', '2'])
    expect(Object.keys(preKeys)).toEqual(['1'])
    expect(Buffer.from(preKeys['1']!.public).equals(bytes.prePub)).toBe(true)
    expect(Buffer.from(preKeys['1']!.private).equals(bytes.prePriv)).toBe(true)

    const sessions = await keys.get('session', ['16505551234.0', '16505559999.0'])
    expect(Object.keys(sessions)).toEqual(['16505551234.0'])
    expect(Buffer.from(sessions['16505551234.0']!).equals(bytes.session)).toBe(true)

    const senderKey = (await keys.get('sender-key', ['120363000000000000@g.us::16505551234::0']))[
      '120363000000000000@g.us::16505551234::0'
    ]!
    expect(Buffer.from(senderKey).equals(bytes.senderKey)).toBe(true)
    expect(await keys.get('sender-key-memory', ['120363000000000000@g.us'])).toEqual(data['sender-key-memory'])

    const syncKey = (await keys.get('app-state-sync-key', ['AAAAAGBf'])).AAAAAGBf!
    expect(syncKey).toBeInstanceOf(proto.Message.AppStateSyncKeyData)
    expect(Buffer.from(syncKey.keyData!).equals(bytes.syncKey)).toBe(true)
    expect(syncKey.fingerprint).toMatchObject({ rawId: 7, currentIndex: 2, deviceIndexes: [0, 3] })
    expect(Number(syncKey.timestamp)).toBe(1_764_000_000)

    const version = (await keys.get('app-state-sync-version', ['regular_high'])).regular_high!
    expect(version.version).toBe(12)
    expect(Buffer.isBuffer(version.hash) && version.hash.equals(bytes.hash)).toBe(true)
    expect(version.indexValueMap).toEqual({})

    expect(await keys.get('lid-mapping', ['16505551234', '16505550000'])).toEqual({
      '16505551234': '204512345678901@lid',
    })
    expect(await keys.get('device-list', ['16505551234'])).toEqual({ '16505551234': ['0', '3', '17'] })
    const tc = (await keys.get('tctoken', ['16505551234@s.whatsapp.net']))['16505551234@s.whatsapp.net']!
    expect(Buffer.from(tc.token).equals(bytes.token)).toBe(true)
    expect(tc.timestamp).toBe('1764000000')
    const identity = (await keys.get('identity-key', ['16505551234.0']))['16505551234.0']!
    expect(Buffer.from(identity).equals(bytes.identity)).toBe(true)

    expect(await keys.get('session', [])).toEqual({})
    expect(await keys.get('session', ['nobody.0'])).toEqual({})
  })

  test('get with more ids than one chunk returns every stored one', async () => {
    const { t, ws, a } = await setup()
    const keys = (await openAuthStore(t.services, ws, a)).state.keys
    const preKeys = Object.fromEntries(
      Array.from({ length: 1203 }, (_, i) => [String(i + 1), { public: randomBytes(33), private: randomBytes(32) }]),
    )
    await keys.set({ 'pre-key': preKeys })
    const wanted = [...Object.keys(preKeys), 'missing-1', 'missing-2']
    const found = await keys.get('pre-key', wanted)
    expect(Object.keys(found).length).toBe(1203)
    expect(Buffer.from(found['1203']!.private).equals(preKeys['1203']!.private)).toBe(true)
  })

  test('set overwrites an existing value in place', async () => {
    const { t, ws, a } = await setup()
    const keys = (await openAuthStore(t.services, ws, a)).state.keys
    await keys.set({ 'lid-mapping': { '16505551234': '1@lid' } })
    await keys.set({ 'lid-mapping': { '16505551234': '2@lid' } })
    expect(await keys.get('lid-mapping', ['16505551234'])).toEqual({ '16505551234': '2@lid' })
    expect(await rowsOf(t, a)).toHaveLength(1)
  })
})

describe('deleting', () => {
  test('null deletes the row; get then omits it; other ids and types are untouched', async () => {
    const { t, ws, a } = await setup()
    const keys = (await openAuthStore(t.services, ws, a)).state.keys
    await keys.set({
      session: { 'x.0': randomBytes(40), 'y.0': randomBytes(40) },
      'identity-key': { 'x.0': randomBytes(33) },
    })
    await keys.set({ session: { 'x.0': null } })
    expect(await rowOf(t, a, 'session', 'x.0')).toBeUndefined()
    expect(Object.keys(await keys.get('session', ['x.0', 'y.0']))).toEqual(['y.0'])
    expect(Object.keys(await keys.get('identity-key', ['x.0']))).toEqual(['x.0'])
    // Deleting what is not there is not an error.
    await keys.set({ session: { 'never.0': null } })
  })
})

describe('sealed at rest', () => {
  test('no key material or JSON in the value column; every value is an envelope', async () => {
    const { t, ws, a } = await setup()
    const store = await openAuthStore(t.services, ws, a)
    const { data, bytes } = everyKeyType()
    await store.state.keys.set(data)
    await store.saveCreds()
    const rows = await rowsOf(t, a)
    expect(rows).toHaveLength(Object.keys(data).length + 1)
    const creds = store.state.creds
    const secrets = [
      ...Object.values(bytes),
      creds.noiseKey.private,
      creds.signedIdentityKey.private,
      creds.signedPreKey.keyPair.private,
    ].map((b) => Buffer.from(b))
    const needles = [
      ...secrets.flatMap((b) => [b.toString('base64'), b.toString('base64url'), b.toString('hex')]),
      creds.advSecretKey,
      '"type":"Buffer"',
      '{',
      '204512345678901@lid',
    ]
    for (const row of rows) {
      expect(row.value.startsWith(`${ENVELOPE_VERSION}.`)).toBe(true)
      expect(row.value.split('.')).toHaveLength(4)
      for (const needle of needles) expect(row.value).not.toContain(needle)
    }
  })
})

describe('bound to its owner', () => {
  test("a value copied onto another channel's row fails to open there; the original still opens", async () => {
    const { t, ws, a, b } = await setup()
    const original = randomBytes(64)
    await (await openAuthStore(t.services, ws, a)).state.keys.set({ session: { 'peer.0': original } })
    const storeB = await openAuthStore(t.services, ws, b)
    await storeB.state.keys.set({ session: { 'peer.0': randomBytes(64) } })

    const stolen = (await rowOf(t, a, 'session', 'peer.0'))!.value
    await t.db.db
      .updateTable('qr_auth_state')
      .set({ value: stolen })
      .where('channel_id', '=', b)
      .where('type', '=', 'session')
      .where('key_id', '=', 'peer.0')
      .execute()
    const failure = await Promise.resolve(storeB.state.keys.get('session', ['peer.0'])).catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(CryptoError)
    expect(failure).toMatchObject({ code: 'auth_failed' })
    expect((failure as Error).message).toContain(`session/peer.0 of channel ${b}`)

    const fromA = await (await openAuthStore(t.services, ws, a)).state.keys.get('session', ['peer.0'])
    expect(Buffer.from(fromA['peer.0']!).equals(original)).toBe(true)
  })

  test('a value copied into a new row of another channel (INSERT) fails to open too', async () => {
    const { t, ws, a, b } = await setup()
    await (await openAuthStore(t.services, ws, a)).state.keys.set({ 'identity-key': { 'peer.0': randomBytes(33) } })
    const row = (await rowOf(t, a, 'identity-key', 'peer.0'))!
    await t.db.db
      .insertInto('qr_auth_state')
      .values({ ...row, channel_id: b })
      .execute()
    const keysB = (await openAuthStore(t.services, ws, b)).state.keys
    await expect(keysB.get('identity-key', ['peer.0'])).rejects.toMatchObject({
      name: 'CryptoError',
      code: 'auth_failed',
    })
  })

  test('a value moved to another id or another type of the same channel fails to open', async () => {
    const { t, ws, a } = await setup()
    const keys = (await openAuthStore(t.services, ws, a)).state.keys
    await keys.set({ session: { 'alice.0': randomBytes(64), 'mallory.0': randomBytes(64) } })
    const alice = (await rowOf(t, a, 'session', 'alice.0'))!.value
    await t.db.db
      .updateTable('qr_auth_state')
      .set({ value: alice })
      .where('channel_id', '=', a)
      .where('key_id', '=', 'mallory.0')
      .execute()
    await expect(keys.get('session', ['mallory.0'])).rejects.toBeInstanceOf(CryptoError)
    expect(Object.keys(await keys.get('session', ['alice.0']))).toEqual(['alice.0'])

    await t.db.db
      .insertInto('qr_auth_state')
      .values({
        workspace_id: ws,
        channel_id: a,
        type: 'sender-key',
        key_id: 'alice.0',
        value: alice,
        updated_at: iso(Date.now()),
      })
      .execute()
    await expect(keys.get('sender-key', ['alice.0'])).rejects.toMatchObject({ code: 'auth_failed' })
  })

  test('creds copied from another channel make opening the store fail instead of starting over', async () => {
    const { t, ws, a, b } = await setup()
    await (await openAuthStore(t.services, ws, a)).saveCreds()
    const creds = (await rowOf(t, a, 'creds', ''))!
    await t.db.db
      .insertInto('qr_auth_state')
      .values({ ...creds, channel_id: b })
      .execute()
    await expect(openAuthStore(t.services, ws, b)).rejects.toMatchObject({ name: 'CryptoError', code: 'auth_failed' })
    expect((await openAuthStore(t.services, ws, a)).existed).toBe(true)
  })

  test('a tampered value fails to open', async () => {
    const { t, ws, a } = await setup()
    const keys = (await openAuthStore(t.services, ws, a)).state.keys
    await keys.set({ 'lid-mapping': { '1': '2@lid' } })
    const value = (await rowOf(t, a, 'lid-mapping', '1'))!.value
    const flipped = value.slice(0, -2) + (value.at(-2) === 'A' ? 'B' : 'A') + value.at(-1)
    await t.db.db.updateTable('qr_auth_state').set({ value: flipped }).where('channel_id', '=', a).execute()
    await expect(keys.get('lid-mapping', ['1'])).rejects.toBeInstanceOf(CryptoError)
  })
})

describe('atomic batches', () => {
  async function seeded(t: TestApp, ws: string, a: string) {
    const keys = (await openAuthStore(t.services, ws, a)).state.keys
    const previous = { session: randomBytes(64), preKey: { public: randomBytes(33), private: randomBytes(32) } }
    await keys.set({
      session: { 'peer.0': previous.session, 'old.0': randomBytes(64) },
      'pre-key': { '5': previous.preKey },
    })
    const before = await rowsOf(t, a)
    return { keys, previous, before }
  }

  async function expectUnchanged(
    t: TestApp,
    a: string,
    keys: Awaited<ReturnType<typeof seeded>>['keys'],
    previous: Awaited<ReturnType<typeof seeded>>['previous'],
    before: unknown,
  ) {
    expect(await rowsOf(t, a)).toEqual(before as never)
    const sessions = await keys.get('session', ['peer.0', 'old.0', 'new.0'])
    expect(Object.keys(sessions).sort()).toEqual(['old.0', 'peer.0'])
    expect(Buffer.from(sessions['peer.0']!).equals(previous.session)).toBe(true)
    expect(Buffer.from((await keys.get('pre-key', ['5']))['5']!.private).equals(previous.preKey.private)).toBe(true)
    expect(await keys.get('pre-key', ['6'])).toEqual({})
  }

  test('a value that cannot be serialised fails the whole call and writes none of it', async () => {
    const { t, ws, a } = await setup()
    const { keys, previous, before } = await seeded(t, ws, a)
    const batch = {
      session: { 'peer.0': randomBytes(64), 'old.0': null, 'new.0': randomBytes(64) },
      'pre-key': {
        '5': { public: randomBytes(33), private: randomBytes(32) },
        '6': { public: randomBytes(33), private: randomBytes(32) },
      },
      'lid-mapping': { bad: 10n },
    } as unknown as SignalDataSet
    await expect(keys.set(batch)).rejects.toThrow(/BigInt/)
    await expectUnchanged(t, a, keys, previous, before)
  })

  test('a database failure in the middle of the batch rolls back the statements before it', async () => {
    const { t, ws, a } = await setup()
    const { keys, previous, before } = await seeded(t, ws, a)
    await sql`CREATE TRIGGER sabotage BEFORE INSERT ON qr_auth_state WHEN NEW.key_id = 'poison' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`.execute(
      t.db.db,
    )
    // Deletes, updates and inserts of earlier types run first; the poisoned row is in the last statement.
    const batch: SignalDataSet = {
      session: { 'peer.0': randomBytes(64), 'old.0': null, 'new.0': randomBytes(64) },
      'pre-key': {
        '5': { public: randomBytes(33), private: randomBytes(32) },
        '6': { public: randomBytes(33), private: randomBytes(32) },
      },
      'identity-key': { poison: randomBytes(33) },
    }
    await expect(keys.set(batch)).rejects.toThrow(/disk on fire/)
    await expectUnchanged(t, a, keys, previous, before)

    await sql`DROP TRIGGER sabotage`.execute(t.db.db)
    await keys.set(batch)
    expect(Object.keys(await keys.get('session', ['peer.0', 'old.0', 'new.0'])).sort()).toEqual(['new.0', 'peer.0'])
  })
})

describe('erasing', () => {
  async function populated(t: TestApp, ws: string, channelId: string) {
    const store = await openAuthStore(t.services, ws, channelId)
    await store.state.keys.set(everyKeyType().data)
    await store.saveCreds()
    return store
  }

  test('clear() removes every row of its channel only; reopening starts from fresh creds', async () => {
    const { t, ws, a, b } = await setup()
    const storeA = await populated(t, ws, a)
    const storeB = await populated(t, ws, b)
    const rowsB = await rowsOf(t, b)
    await storeA.clear()
    expect(await rowsOf(t, a)).toEqual([])
    expect(await rowsOf(t, b)).toEqual(rowsB)

    const reopened = await openAuthStore(t.services, ws, a)
    expect(reopened.existed).toBe(false)
    expect(
      Buffer.from(reopened.state.creds.noiseKey.private).equals(Buffer.from(storeA.state.creds.noiseKey.private)),
    ).toBe(false)
    expect(await reopened.state.keys.get('pre-key', ['1'])).toEqual({})
    expect((await openAuthStore(t.services, ws, b)).state.creds).toEqual(storeB.state.creds)
  })

  test('eraseAuthState does the same, inside a caller transaction, and commits or rolls back with it', async () => {
    const { t, ws, a, b } = await setup()
    await populated(t, ws, a)
    await populated(t, ws, b)
    const rowsB = await rowsOf(t, b)

    const rollback = t.db.db.transaction().execute(async (trx) => {
      await eraseAuthState(trx, ws, a)
      throw new Error('unlink failed later')
    })
    await expect(rollback).rejects.toThrow('unlink failed later')
    expect((await openAuthStore(t.services, ws, a)).existed).toBe(true)

    await t.db.db.transaction().execute((trx) => eraseAuthState(trx, ws, a))
    expect(await rowsOf(t, a)).toEqual([])
    expect(await rowsOf(t, b)).toEqual(rowsB)
    expect((await openAuthStore(t.services, ws, a)).existed).toBe(false)
  })

  test('deleting the channel cascades to its auth state', async () => {
    const { t, ws, a, b } = await setup()
    await populated(t, ws, a)
    await populated(t, ws, b)
    await t.db.db.deleteFrom('channels').where('id', '=', a).execute()
    expect(await rowsOf(t, a)).toEqual([])
    expect((await rowsOf(t, b)).length).toBeGreaterThan(0)
  })
})

describe('workspace scoping', () => {
  async function twoTenants() {
    const base = await setup()
    const other = await makeUser(base.t, 'owner@other.example')
    const otherWs = await makeWorkspace(base.t, 'Other', other)
    const otherChannel = await makeQrChannel(base.t, otherWs)
    return { ...base, otherWs, otherChannel }
  }

  test("a store cannot be opened for another workspace's channel, nor for a Cloud API channel or an unknown one", async () => {
    const { t, ws, a, otherWs } = await twoTenants()
    await (await openAuthStore(t.services, ws, a)).saveCreds()
    const failure = await openAuthStore(t.services, otherWs, a).catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(AppError)
    expect(failure).toMatchObject({ status: 404, code: 'not_found' })

    await t.db.db.updateTable('channels').set({ provider: 'cloud' }).where('id', '=', a).execute()
    await expect(openAuthStore(t.services, ws, a)).rejects.toMatchObject({ code: 'not_found' })
    await expect(openAuthStore(t.services, ws, 'ch_nonexistent')).rejects.toMatchObject({ code: 'not_found' })
  })

  test('eraseAuthState with the wrong workspace erases nothing', async () => {
    const { t, ws, a, otherWs } = await twoTenants()
    const store = await openAuthStore(t.services, ws, a)
    await store.state.keys.set({ session: { 'peer.0': randomBytes(64) } })
    await store.saveCreds()
    const before = await rowsOf(t, a)
    await eraseAuthState(t.db.db, otherWs, a)
    expect(await rowsOf(t, a)).toEqual(before)
  })

  test("rows carrying another workspace's id are invisible to the channel's store and survive its clear()", async () => {
    const { t, ws, a, otherWs } = await twoTenants()
    const keys = (await openAuthStore(t.services, ws, a)).state.keys
    await keys.set({ session: { 'mine.0': randomBytes(64) } })
    const mine = (await rowOf(t, a, 'session', 'mine.0'))!
    await t.db.db
      .insertInto('qr_auth_state')
      .values({ ...mine, workspace_id: otherWs, key_id: 'planted.0' })
      .execute()
    expect(Object.keys(await keys.get('session', ['mine.0', 'planted.0']))).toEqual(['mine.0'])

    // An upsert onto the planted row's key must not rewrite a row that belongs to another workspace.
    await keys.set({ session: { 'planted.0': randomBytes(64) } })
    expect(await rowOf(t, a, 'session', 'planted.0')).toMatchObject({ workspace_id: otherWs, value: mine.value })
    await keys.set({ session: { 'planted.0': null } })
    expect(await rowOf(t, a, 'session', 'planted.0')).toBeDefined()
    await (await openAuthStore(t.services, ws, a)).clear()
    expect((await rowsOf(t, a)).map((r) => [r.workspace_id, r.key_id])).toEqual([[otherWs, 'planted.0']])
  })
})
