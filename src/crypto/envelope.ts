/**
 * AES-256-GCM envelope for every credential wabox stores.
 *
 * Format (ASCII, safe in a TEXT column): `v1.<keyId>.<nonce>.<ciphertext+tag>` with base64url parts.
 * - a fresh random 96-bit nonce per seal (GCM's safety rests on never reusing one under a key);
 * - the AAD binds the ciphertext to its owner (workspace, table, row id, column), so a value copied into
 *   another row or column fails to open instead of silently decrypting;
 * - the key id names which key of the keyring sealed it, so key rotation can re-seal row by row.
 * Every failure is a typed CryptoError; nothing here ever returns unauthenticated bytes.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

export const ENVELOPE_VERSION = 'v1'
const NONCE_BYTES = 12
const TAG_BYTES = 16

export type CryptoErrorCode = 'malformed' | 'unknown_version' | 'unknown_key' | 'auth_failed'

export class CryptoError extends Error {
  override name = 'CryptoError'
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(message)
  }
}

/** Who owns a sealed value. Every field takes part in the AAD. */
export type SealContext = { workspaceId: string; table: string; rowId: string; column: string }

export type KeyEntry = { id: string; key: Uint8Array }

/** A set of keys by id; `current` seals, any of them opens. */
export type Keyring = { current: KeyEntry; byId: ReadonlyMap<string, Uint8Array> }

export function keyringOf(current: KeyEntry, older: KeyEntry[] = []): Keyring {
  const byId = new Map<string, Uint8Array>(older.map((k) => [k.id, k.key]))
  byId.set(current.id, current.key)
  return { current, byId }
}

function aadOf(version: string, keyId: string, ctx: SealContext): Buffer {
  // JSON of a fixed-order array: unambiguous, so ("a.b","c") and ("a","b.c") never collide.
  return Buffer.from(JSON.stringify([version, keyId, ctx.workspaceId, ctx.table, ctx.rowId, ctx.column]))
}

/** Seals `plaintext` for the owner described by `ctx` with the keyring's current key. */
export function seal(keyring: Keyring, plaintext: string, ctx: SealContext): string {
  const { id, key } = keyring.current
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(aadOf(ENVELOPE_VERSION, id, ctx))
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()])
  return [ENVELOPE_VERSION, id, nonce.toString('base64url'), body.toString('base64url')].join('.')
}

/** Opens an envelope sealed for `ctx`; throws CryptoError on any mismatch. */
export function open(keyring: Keyring, envelope: string, ctx: SealContext): string {
  const parts = envelope.split('.')
  if (parts.length !== 4) throw new CryptoError('malformed', 'sealed value is malformed')
  const [version, keyId, nonceText, bodyText] = parts as [string, string, string, string]
  if (version !== ENVELOPE_VERSION) {
    throw new CryptoError('unknown_version', `sealed value has unknown envelope version "${version.slice(0, 8)}"`)
  }
  const key = keyring.byId.get(keyId)
  if (!key) throw new CryptoError('unknown_key', `sealed value names key ${keyId.slice(0, 16)}, which is not loaded`)
  const nonce = Buffer.from(nonceText, 'base64url')
  const body = Buffer.from(bodyText, 'base64url')
  if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) {
    throw new CryptoError('malformed', 'sealed value is malformed')
  }
  const decipher = createDecipheriv('aes-256-gcm', key, nonce)
  decipher.setAAD(aadOf(version, keyId, ctx))
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES))
  try {
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    )
  } catch {
    throw new CryptoError('auth_failed', 'sealed value failed authentication (wrong key, wrong owner or tampered)')
  }
}
