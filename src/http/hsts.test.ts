/** HSTS only when wabox serves https itself; the session cookie is Secure then too. */
import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { securityPlugin } from './security.ts'
import { cookiesSecure, sessionCookie } from '../auth/sessions.ts'

describe('serving https', () => {
  test('Strict-Transport-Security on every response with hsts, never without', async () => {
    const app = (hsts: boolean) => new Elysia().use(securityPlugin({ bodyLimit: 1024, hsts })).get('/x', () => 'ok')
    const on = app(true)
    for (const path of ['/x', '/missing'])
      expect((await on.handle(new Request(`https://localhost${path}`))).headers.get('strict-transport-security')).toBe(
        'max-age=31536000',
      )
    expect(
      (await app(false).handle(new Request('http://localhost/x'))).headers.get('strict-transport-security'),
    ).toBeNull()
  })

  test('cookies are Secure with an https public URL or TLS served by wabox', () => {
    expect(cookiesSecure({ publicUrl: 'http://localhost:8080' })).toBe(false)
    expect(cookiesSecure({ publicUrl: 'https://wabox.example.com' })).toBe(true)
    expect(cookiesSecure({ publicUrl: 'http://localhost:8443', tlsCert: '/etc/wabox/cert.pem' })).toBe(true)
    expect(sessionCookie('t'.repeat(32), true)).toEndWith('; Secure')
  })
})
