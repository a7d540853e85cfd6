import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { isValidSignature, signatureFor } from './signature.ts'
import { metaJson } from '../../testing/webhooks.ts'

const enc = (s: string) => new TextEncoder().encode(s)

describe('X-Hub-Signature-256', () => {
  const secret = 'app-secret-123456'
  const body = enc('{"object":"whatsapp_business_account","entry":[]}')

  test('valid signature passes; one changed byte, a wrong secret or a bad header fail', () => {
    const header = signatureFor(body, secret)
    expect(isValidSignature(body, header, secret)).toBe(true)
    const tampered = new Uint8Array(body)
    tampered[10] = tampered[10]! ^ 1
    expect(isValidSignature(tampered, header, secret)).toBe(false)
    expect(isValidSignature(body, header, 'another-secret')).toBe(false)
    for (const bad of [
      null,
      '',
      'sha256=',
      `sha1=${header.slice(7)}`,
      header.slice(7),
      `sha256=zz${header.slice(9)}`,
      `${header}00`,
      header.toUpperCase().replace('SHA256', 'sha256').slice(0, -1),
    ]) {
      expect({ bad, ok: isValidSignature(body, bad, secret) }).toEqual({ bad, ok: false })
    }
  })

  test("non-ASCII payloads are signed in Meta's escaped form, and verified over those exact bytes", () => {
    const payload = { text: { body: 'Olá, ¿cómo estás? 😮 https://x.example/a' } }
    const escaped = metaJson(payload)
    expect(escaped).toContain('Ol\\u00e1')
    expect(escaped).toContain('\\ud83d\\ude2e')
    expect(escaped).toContain('https:\\/\\/x.example')
    const header = signatureFor(escaped, secret)
    expect(isValidSignature(enc(escaped), header, secret)).toBe(true)
    // Re-serialising the parsed JSON changes the bytes: the signature no longer matches.
    expect(isValidSignature(enc(JSON.stringify(JSON.parse(escaped))), header, secret)).toBe(false)
  })

  test('property: any single-byte change breaks the signature', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, at, flip) => {
          const header = signatureFor(bytes, secret)
          expect(isValidSignature(bytes, header, secret)).toBe(true)
          const changed = new Uint8Array(bytes)
          changed[at % bytes.length] = changed[at % bytes.length]! ^ flip
          expect(isValidSignature(changed, header, secret)).toBe(false)
        },
      ),
    )
  })
})
