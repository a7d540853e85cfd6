/**
 * Browser sessions: a random token in an HttpOnly cookie, only its SHA-256 in the database. Sessions slide
 * (each use extends the idle deadline) up to an absolute lifetime, after which the user signs in again.
 */
import type { Db } from '../db/client.ts'
import type { Clock } from '../clock.ts'
import { iso } from '../clock.ts'
import { hashToken, newId, randomToken } from '../crypto/tokens.ts'
import type { RequestMeta } from './principal.ts'
import * as sessionsRepo from './sessions.repo.ts'

export const SESSION_COOKIE = 'wabox_session'
export const SESSION_IDLE_MS = 72 * 3600_000
export const SESSION_ABSOLUTE_MS = 30 * 24 * 3600_000
// Sliding writes at most once a minute per session: reads stay reads.
const TOUCH_EVERY_MS = 60_000

export async function createSession(
  db: Db,
  clock: Clock,
  userId: string,
  meta: RequestMeta,
): Promise<{ token: string; sessionId: string }> {
  const token = randomToken()
  const now = clock.now()
  const sessionId = newId('ses')
  await sessionsRepo.insertSession(db, {
    id: sessionId,
    token_hash: hashToken(token),
    user_id: userId,
    created_at: iso(now),
    last_seen_at: iso(now),
    idle_expires_at: iso(now + SESSION_IDLE_MS),
    absolute_expires_at: iso(now + SESSION_ABSOLUTE_MS),
    ip: meta.ip,
    user_agent: meta.userAgent.slice(0, 300),
  })
  return { token, sessionId }
}

export type SessionUser = { sessionId: string; userId: string; email: string; name: string; isOperator: boolean }

/** The session's user, or null when the token is unknown or expired (expired sessions are deleted). */
export async function resolveSession(db: Db, clock: Clock, token: string): Promise<SessionUser | null> {
  if (token.length < 20 || token.length > 100) return null
  const row = await sessionsRepo.findSession(db, hashToken(token))
  if (!row) return null
  const now = clock.now()
  if (Date.parse(row.idle_expires_at) <= now || Date.parse(row.absolute_expires_at) <= now) {
    await sessionsRepo.deleteSession(db, row.session_id)
    return null
  }
  if (now - Date.parse(row.last_seen_at) >= TOUCH_EVERY_MS) {
    const idle = Math.min(now + SESSION_IDLE_MS, Date.parse(row.absolute_expires_at))
    await sessionsRepo.touchSession(db, row.session_id, iso(now), iso(idle))
  }
  return {
    sessionId: row.session_id,
    userId: row.user_id,
    email: row.email,
    name: row.name,
    isOperator: row.is_operator === 1,
  }
}

/** Session cookies are `Secure` when browsers reach wabox over https: an https public URL, or wabox serving TLS itself. */
export function cookiesSecure(config: { publicUrl: string; tlsCert?: string | undefined }): boolean {
  return config.publicUrl.startsWith('https://') || config.tlsCert !== undefined
}

export function sessionCookie(token: string, secure: boolean): string {
  const maxAge = Math.floor(SESSION_ABSOLUTE_MS / 1000)
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? '; Secure' : ''}`
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`
}

/** The session token from a Cookie header, if any. */
export function sessionTokenFrom(cookieHeader: string | null): string | undefined {
  if (!cookieHeader) return undefined
  for (const part of cookieHeader.split(';')) {
    const [name, ...rest] = part.trim().split('=')
    if (name === SESSION_COOKIE) return rest.join('=') || undefined
  }
  return undefined
}
