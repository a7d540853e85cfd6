/**
 * Who is signed in, in which workspace, with which role — and so what the UI offers. Permissions come from
 * the server's own role → permission table (src/auth/permissions.ts), so the UI never offers what the API
 * would refuse; the server still checks every request.
 */
import { computed, signal } from '@preact/signals'
import { can as roleCan, type Permission, type Role } from '../../src/auth/permissions.ts'
import { api, unwrap } from '../api/client.ts'

export type Me = Awaited<ReturnType<typeof loadMe>>
export type Membership = Me['memberships'][number]

/** undefined: not known yet; null: not signed in. */
export const me = signal<Me | null | undefined>(undefined)
export const workspaceId = signal<string | null>(null)

export const membership = computed<Membership | undefined>(() =>
  me.value?.memberships.find((m) => m.workspaceId === workspaceId.value),
)
export const role = computed<Role | undefined>(() => membership.value?.role as Role | undefined)

export function can(permission: Permission): boolean {
  const r = role.value
  return r !== undefined && roleCan(r, permission)
}

export async function loadMe() {
  return unwrap(api.api.v1.me.get(), { quiet401: true })
}

/** Reads the session; a 401 means signed out (not an error). */
export async function refreshMe(): Promise<void> {
  try {
    me.value = await loadMe()
  } catch (err) {
    if ((err as { status?: number }).status === 401) me.value = null
    else throw err
  }
}

export async function signOut(): Promise<void> {
  await unwrap(api.api.v1.auth.logout.post(), { quiet401: true }).catch(() => {})
  me.value = null
}
