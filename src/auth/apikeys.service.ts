/**
 * API keys: `wbx_<prefix>_<secret>`, shown once. The prefix is stored in clear to find the key; only the
 * SHA-256 of the whole token is kept, compared in constant time. Keys carry a role (never Owner), belong to
 * one workspace, can expire and be revoked, and record when they were last used. A key answers for the member
 * who made it: when that member leaves, is removed, or is demoted to a role that cannot do what the key's role
 * does, the key is revoked with the change.
 */
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { Caller } from './principal.ts'
import { covers, type ApiKeyRole, type Role } from './permissions.ts'
import { iso } from '../clock.ts'
import { constantTimeEqual, hashToken, newId, randomAlphanumeric } from '../crypto/tokens.ts'
import { AppError, notFound, invalidField } from '../lib/errors.ts'
import * as audit from '../audit/audit.service.ts'
import { decodeCursor, pageOf } from '../pagination.ts'
import { requireQuota } from '../workspaces/plans.ts'
import type { WorkspaceContext } from '../workspaces/workspace-context.ts'
import type { ApiKeysTable } from './auth.table.ts'
import * as repo from './apikeys.repo.ts'

const TOKEN = /^wbx_([A-Za-z0-9]{8})_([A-Za-z0-9]{40})$/
// last_used_at is written at most once a minute per key, so authenticated reads stay reads.
const TOUCH_EVERY_MS = 60_000

const keyView = (k: ApiKeysTable) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  display: `wbx_${k.prefix}_••••`,
  createdAt: k.created_at,
  expiresAt: k.expires_at,
  lastUsedAt: k.last_used_at,
  revokedAt: k.revoked_at,
})

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith('wbx_')
}

/** The key a bearer token names, if it is valid, unexpired and unrevoked; null otherwise. */
export async function authenticateApiKey(deps: ServiceDeps, token: string): Promise<ApiKeysTable | null> {
  const match = token.match(TOKEN)
  if (!match) return null
  const key = await repo.findByPrefix(deps.db, match[1]!)
  if (!key || !constantTimeEqual(hashToken(token), key.token_hash)) return null
  const now = deps.clock.now()
  if (key.revoked_at || (key.expires_at && Date.parse(key.expires_at) <= now)) return null
  if (!key.last_used_at || now - Date.parse(key.last_used_at) >= TOUCH_EVERY_MS) {
    await repo.touch(deps.db, key.workspace_id, key.id, iso(now))
  }
  return key
}

/** The member a new key answers for: the signed-in user, or the member behind the key that makes it. */
async function answeringUser(trx: Parameters<typeof repo.find>[0], ctx: WorkspaceContext): Promise<string | null> {
  const actor = ctx.caller.actor
  if (actor.type === 'user') return actor.id
  if (actor.type === 'api_key') return (await repo.find(trx, ctx.workspace.id, actor.id))?.created_by_user_id ?? null
  return null
}

/**
 * Revokes, inside the caller's transaction, the keys a member answers for that their role `role` no longer
 * covers (every one of them when `role` is null: they left or were removed). One audit row per key.
 */
export async function revokeKeysOfMember(
  trx: Transaction<Database>,
  caller: Caller,
  workspaceId: string,
  userId: string,
  role: Role | null,
): Promise<string[]> {
  const keys = await repo.activeKeysOfUser(trx, workspaceId, userId)
  const revoked: string[] = []
  const at = iso(caller.meta.at)
  for (const key of keys) {
    if (role !== null && covers(role, key.role)) continue
    if (!(await repo.revoke(trx, workspaceId, key.id, at))) continue
    revoked.push(key.id)
    await audit.record(trx, caller, {
      workspaceId,
      action: 'apikey.revoked',
      target: { type: 'api_key', id: key.id },
      metadata: {
        name: key.name,
        prefix: key.prefix,
        role: key.role,
        reason: role === null ? 'creator_removed' : 'creator_demoted',
        createdByUserId: userId,
      },
    })
  }
  return revoked
}

export async function createApiKey(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  input: { name: string; role: ApiKeyRole; expiresAt?: string },
) {
  const now = ctx.caller.meta.at
  if (input.expiresAt && Date.parse(input.expiresAt) <= now) {
    throw invalidField('expiresAt', 'must be in the future')
  }
  return deps.db.transaction().execute(async (trx) => {
    requireQuota(
      deps.config.plans,
      ctx.workspace.plan,
      'apiKeys',
      await repo.countActive(trx, ctx.workspace.id, iso(now)),
    )
    const prefix = randomAlphanumeric(8)
    const token = `wbx_${prefix}_${randomAlphanumeric(40)}`
    const row: ApiKeysTable = {
      id: newId('key'),
      workspace_id: ctx.workspace.id,
      name: input.name,
      role: input.role,
      prefix,
      token_hash: hashToken(token),
      created_by: ctx.caller.actor.id,
      created_by_user_id: await answeringUser(trx, ctx),
      created_at: iso(now),
      expires_at: input.expiresAt ? iso(Date.parse(input.expiresAt)) : null,
      last_used_at: null,
      revoked_at: null,
    }
    await repo.insert(trx, row)
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'apikey.created',
      target: { type: 'api_key', id: row.id },
      metadata: { name: row.name, role: row.role, prefix, expiresAt: row.expires_at },
    })
    return { ...keyView(row), token }
  })
}

export async function listApiKeys(deps: ServiceDeps, ctx: WorkspaceContext, cursor: string | undefined, limit: number) {
  const before = decodeCursor(cursor, z.object({ c: z.string(), i: z.string() }))
  const rows = await repo.list(deps.db, ctx.workspace.id, before, limit + 1)
  return pageOf(rows, limit, keyView, (k) => ({ c: k.created_at, i: k.id }))
}

export async function revokeApiKey(deps: ServiceDeps, ctx: WorkspaceContext, keyId: string) {
  return deps.db.transaction().execute(async (trx) => {
    const key = await repo.find(trx, ctx.workspace.id, keyId)
    if (!key) throw notFound('API key')
    if (!(await repo.revoke(trx, ctx.workspace.id, keyId, iso(ctx.caller.meta.at)))) {
      throw new AppError(409, 'already_revoked', 'The API key is already revoked.')
    }
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'apikey.revoked',
      target: { type: 'api_key', id: keyId },
      metadata: { name: key.name, prefix: key.prefix },
    })
    return keyView({ ...key, revoked_at: iso(ctx.caller.meta.at) })
  })
}
