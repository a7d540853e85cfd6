/**
 * The master key: 32 random bytes in `master.key` (mode 0600, created on first start) or base64 in
 * WABOX_MASTER_KEY. A key file that others can read, or that is not exactly 32 bytes, stops the start:
 * a weak or damaged key must never be used silently.
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs'
import { randomBytes, createHash } from 'node:crypto'
import { dirname } from 'node:path'
import { mkdirSync } from 'node:fs'
import type { KeyEntry } from './envelope.ts'

export const KEY_BYTES = 32

export class KeyFileError extends Error {
  override name = 'KeyFileError'
}

/** A public, non-reversible name for a key: safe to print, log and put in backup manifests. */
export function keyFingerprint(key: Uint8Array): string {
  return createHash('sha256').update('wabox-key-fingerprint:v1:').update(key).digest('hex')
}

export function keyEntryOf(key: Uint8Array): KeyEntry {
  return { id: keyFingerprint(key).slice(0, 16), key }
}

export type LoadedKey = KeyEntry & { fingerprint: string; source: 'env' | 'file'; created: boolean }

/** Decodes WABOX_MASTER_KEY; throws KeyFileError naming the problem (never the value). */
export function keyFromBase64(value: string): Uint8Array {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim())) {
    throw new KeyFileError('WABOX_MASTER_KEY is not valid base64')
  }
  const key = Buffer.from(value.trim(), 'base64')
  if (key.length !== KEY_BYTES) {
    throw new KeyFileError(`WABOX_MASTER_KEY must decode to ${KEY_BYTES} bytes (it decodes to ${key.length})`)
  }
  return new Uint8Array(key)
}

/** Reads an existing key file, checking permissions and length. */
export function readKeyFile(path: string): Uint8Array {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY)
  } catch (err) {
    throw new KeyFileError(`cannot read key file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  try {
    const mode = fstatSync(fd).mode & 0o777
    if (mode & 0o077) {
      throw new KeyFileError(
        `key file ${path} has mode ${mode.toString(8).padStart(4, '0')}; it must not be readable by group or others (chmod 600 it)`,
      )
    }
    const key = readFileSync(fd)
    if (key.length !== KEY_BYTES) {
      throw new KeyFileError(`key file ${path} holds ${key.length} bytes; a wabox key is exactly ${KEY_BYTES} bytes`)
    }
    return new Uint8Array(key)
  } finally {
    closeSync(fd)
  }
}

/** Creates a new key file with mode 0600; refuses to overwrite an existing one. */
export function createKeyFile(path: string): Uint8Array {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const key = randomBytes(KEY_BYTES)
  // O_EXCL: two processes starting at once cannot both create (and disagree about) the key.
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
  try {
    writeSync(fd, key)
  } finally {
    closeSync(fd)
  }
  return new Uint8Array(key)
}

/**
 * Loads the master key: from `envKey` when given, else from `keyFile`, creating it when `create` is set
 * and it does not exist yet.
 */
export function loadMasterKey(opts: { keyFile: string; envKey: string | undefined; create: boolean }): LoadedKey {
  let key: Uint8Array
  let source: LoadedKey['source'] = 'file'
  let created = false
  if (opts.envKey !== undefined) {
    key = keyFromBase64(opts.envKey)
    source = 'env'
  } else if (existsSync(opts.keyFile)) {
    key = readKeyFile(opts.keyFile)
  } else if (opts.create) {
    key = createKeyFile(opts.keyFile)
    created = true
  } else {
    throw new KeyFileError(`no master key: ${opts.keyFile} does not exist and WABOX_MASTER_KEY is not set`)
  }
  return { ...keyEntryOf(key), fingerprint: keyFingerprint(key), source, created }
}
