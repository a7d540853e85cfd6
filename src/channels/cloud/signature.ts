/**
 * X-Hub-Signature-256: HMAC-SHA256 of the exact request bytes with the Meta app secret, checked in constant
 * time before anything is parsed. Re-serialised JSON would not match: Meta signs its own escaped form.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

export function isValidSignature(rawBody: Uint8Array, header: string | null, appSecret: string): boolean {
  if (!header?.startsWith('sha256=')) return false
  const hex = header.slice('sha256='.length)
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false
  const expected = createHmac('sha256', appSecret).update(rawBody).digest()
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'))
}

export function signatureFor(rawBody: Uint8Array | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`
}
