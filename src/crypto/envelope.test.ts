import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import { CryptoError, keyringOf, open, seal, type SealContext } from './envelope.ts'
import { keyEntryOf } from './keyfile.ts'

const keyring = () => keyringOf(keyEntryOf(new Uint8Array(randomBytes(32))))
const ctxArb = fc.record({
  workspaceId: fc.string({ minLength: 1, maxLength: 30 }),
  table: fc.string({ minLength: 1, maxLength: 20 }),
  rowId: fc.string({ minLength: 1, maxLength: 30 }),
  column: fc.string({ minLength: 1, maxLength: 20 }),
})
const base: SealContext = { workspaceId: 'ws_1', table: 'channels', rowId: 'ch_1', column: 'access_token' }

function cryptoCode(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(CryptoError)
    return (err as CryptoError).code
  }
  throw new Error('expected a CryptoError')
}

describe('AES-256-GCM envelope', () => {
  test('round trip for any plaintext and owner', () => {
    const ring = keyring()
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), ctxArb, (plaintext, ctx) => {
        expect(open(ring, seal(ring, plaintext, ctx), ctx)).toBe(plaintext)
      }),
    )
  })

  test('format: version, key id, 96-bit nonce, ciphertext + tag; plaintext not visible', () => {
    const ring = keyring()
    const env = seal(ring, 'EAAG-super-secret-token', base)
    const [version, keyId, nonce, body] = env.split('.')
    expect(version).toBe('v1')
    expect(keyId).toBe(ring.current.id)
    expect(Buffer.from(nonce!, 'base64url')).toHaveLength(12)
    expect(Buffer.from(body!, 'base64url')).toHaveLength('EAAG-super-secret-token'.length + 16)
    expect(env).not.toContain('secret')
  })

  test('any single bit flip in nonce or body fails authentication', () => {
    const ring = keyring()
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (plaintext, at, bit) => {
        const [v, kid, nonce, body] = seal(ring, plaintext, base).split('.') as [string, string, string, string]
        const raw = Buffer.concat([Buffer.from(nonce, 'base64url'), Buffer.from(body, 'base64url')])
        const i = at % raw.length
        raw[i] = raw[i]! ^ (1 << bit)
        const tampered = [
          v,
          kid,
          raw.subarray(0, 12).toString('base64url'),
          raw.subarray(12).toString('base64url'),
        ].join('.')
        expect(cryptoCode(() => open(ring, tampered, base))).toBe('auth_failed')
      }),
    )
  })

  test('a different key with the same id fails; an unknown key id is named as such', () => {
    const ring = keyring()
    const env = seal(ring, 'token', base)
    const impostor = keyringOf({ id: ring.current.id, key: new Uint8Array(randomBytes(32)) })
    expect(cryptoCode(() => open(impostor, env, base))).toBe('auth_failed')
    expect(cryptoCode(() => open(keyring(), env, base))).toBe('unknown_key')
  })

  test('wrong owner (AAD) fails: a value copied to another row, column, table or workspace does not open', () => {
    const ring = keyring()
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), ctxArb, ctxArb, (plaintext, a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b))
        expect(cryptoCode(() => open(ring, seal(ring, plaintext, a), b))).toBe('auth_failed')
      }),
    )
    const env = seal(ring, 'token', base)
    for (const field of ['workspaceId', 'table', 'rowId', 'column'] as const) {
      expect(cryptoCode(() => open(ring, env, { ...base, [field]: `${base[field]}x` }))).toBe('auth_failed')
    }
  })

  test('older keys in the ring still open; new seals use the current key', () => {
    const old = keyEntryOf(new Uint8Array(randomBytes(32)))
    const sealedWithOld = seal(keyringOf(old), 'token', base)
    const rotated = keyringOf(keyEntryOf(new Uint8Array(randomBytes(32))), [old])
    expect(open(rotated, sealedWithOld, base)).toBe('token')
    expect(seal(rotated, 'token', base).split('.')[1]).toBe(rotated.current.id)
  })

  test('unknown version and malformed envelopes are typed errors, never garbage', () => {
    const ring = keyring()
    const [, kid, nonce, body] = seal(ring, 'token', base).split('.')
    expect(cryptoCode(() => open(ring, ['v2', kid, nonce, body].join('.'), base))).toBe('unknown_version')
    expect(cryptoCode(() => open(ring, 'not an envelope', base))).toBe('malformed')
    expect(cryptoCode(() => open(ring, ['v1', kid, 'AAAA', body].join('.'), base))).toBe('malformed')
    expect(cryptoCode(() => open(ring, ['v1', kid, nonce, 'AAAA'].join('.'), base))).toBe('malformed')
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (junk) => {
        expect(['malformed', 'unknown_version', 'unknown_key', 'auth_failed']).toContain(
          cryptoCode(() => open(ring, junk, base)),
        )
      }),
    )
  })

  test('nonces never repeat across 100k seals', () => {
    const ring = keyring()
    const nonces = new Set<string>()
    for (let i = 0; i < 100_000; i++) nonces.add(seal(ring, 'x', base).split('.')[2]!)
    expect(nonces.size).toBe(100_000)
  })
})
