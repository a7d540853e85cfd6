/** Who is making a request, as every service and the audit log see it (no HTTP types here). */
import type { Role } from './permissions.ts'

export type Actor =
  | { type: 'user'; id: string; label: string; isOperator: boolean }
  | { type: 'api_key'; id: string; label: string; workspaceId: string; role: Role }
  | { type: 'anonymous'; id: null; label: '' }
  | { type: 'system'; id: null; label: string }

/** `at` is the request's time from the injected clock: audit rows and expiry checks agree on it. */
export type RequestMeta = { ip: string; requestId: string; userAgent: string; at: number }

/** The caller of a service: the actor plus where the request came from. */
export type Caller = { actor: Actor; meta: RequestMeta }

export const ANONYMOUS: Actor = { type: 'anonymous', id: null, label: '' }

/** A caller for work that no request started (CLI commands, scheduled jobs). */
export function systemCaller(label: string, at = Date.now()): Caller {
  return { actor: { type: 'system', id: null, label }, meta: { ip: '', requestId: '', userAgent: '', at } }
}
