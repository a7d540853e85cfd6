/** Random tokens, their stored hashes and constant-time comparison. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** `length` characters from [A-Za-z0-9], uniformly (rejection sampling avoids modulo bias). */
export function randomAlphanumeric(length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHANUMERIC[byte % 62]
    }
  }
  return out
}

/** A 256-bit bearer token (sessions, invites, setup). */
export function randomToken(): string {
  return randomAlphanumeric(43)
}

/** Prefixed ids (`usr_…`, `ws_…`) that say what they name, 96 random bits each. */
export function newId(prefix: string): string {
  return `${prefix}_${randomAlphanumeric(16)}`
}

/** What is stored instead of a token. SHA-256 is enough: tokens carry 256 bits, so no stretching is needed. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/** Compares two strings without leaking where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  return x.length === y.length && timingSafeEqual(x, y)
}
