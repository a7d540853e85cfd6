/** Workspaces: creation (setup, operator), plans, rename/retention, deletion, ownership transfer. */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { ServiceDeps } from '../deps.ts'
import type { Caller } from '../auth/principal.ts'
import { iso } from '../clock.ts'
import { newId } from '../crypto/tokens.ts'
import { AppError, notFound } from '../lib/errors.ts'
import * as audit from '../audit/audit.service.ts'
import { decodeCursor, pageOf } from '../pagination.ts'
import { z } from 'zod'
import { requireQuota } from './plans.ts'
import type { WorkspaceContext } from './workspace-context.ts'
import type { WorkspaceView } from './workspaces.schema.ts'
import type { WorkspacesTable } from './workspaces.table.ts'
import * as repo from './workspaces.repo.ts'
import * as membershipsRepo from './memberships.repo.ts'
import { createInvite } from './invites.service.ts'
import * as channelsRepo from '../channels/channels.repo.ts'

export const workspaceView = (w: WorkspacesTable): WorkspaceView => ({
  id: w.id,
  name: w.name,
  plan: w.plan,
  retentionDays: w.retention_days,
  createdAt: w.created_at,
})

/** Inserts a workspace with its first Owner; the caller's transaction makes it all-or-nothing. */
export async function createWorkspaceRecord(
  trx: Transaction<Database> | Kysely<Database>,
  caller: Caller,
  input: { name: string; plan: string; ownerUserId: string },
): Promise<WorkspaceView> {
  const at = iso(caller.meta.at)
  const ws: WorkspacesTable = {
    id: newId('ws'),
    name: input.name,
    plan: input.plan,
    retention_days: null,
    created_at: at,
    updated_at: at,
  }
  await repo.insertWorkspace(trx, ws)
  await membershipsRepo.insertMembership(trx, ws.id, input.ownerUserId, 'owner', at)
  await audit.record(trx, caller, {
    workspaceId: ws.id,
    action: 'workspace.created',
    target: { type: 'workspace', id: ws.id },
    metadata: { name: ws.name, plan: ws.plan },
  })
  return workspaceView(ws)
}

function knownPlan(deps: ServiceDeps, plan: string): string {
  if (!(plan in deps.config.plans)) {
    throw new AppError(
      422,
      'unknown_plan',
      `There is no plan named "${plan}" (plans: ${Object.keys(deps.config.plans).join(', ')}).`,
      [{ field: 'plan', message: 'unknown plan' }],
    )
  }
  return plan
}

/** Operator: create a workspace (the operator becomes its Owner; optionally invite the client's Owner). */
export async function createWorkspace(
  deps: ServiceDeps,
  caller: Caller & { actor: { type: 'user' } },
  input: { name: string; plan?: string; ownerEmail?: string },
) {
  const plan = knownPlan(deps, input.plan ?? deps.config.defaultPlan)
  return deps.db.transaction().execute(async (trx) => {
    const workspace = await createWorkspaceRecord(trx, caller, { name: input.name, plan, ownerUserId: caller.actor.id })
    const row = (await repo.findWorkspace(trx, workspace.id))!
    const invite = input.ownerEmail
      ? await createInvite(
          deps,
          trx,
          { caller, workspace: row, role: 'owner' },
          { email: input.ownerEmail, role: 'owner', expiresInHours: 24 * 7 },
        )
      : null
    return { workspace, ownerInvite: invite }
  })
}

/** The workspaces a user is a member of, with their role in each, by name. */
export async function workspacesOfMember(deps: ServiceDeps, userId: string) {
  const rows = await membershipsRepo.listMembershipsOfUser(deps.db, userId)
  return rows.map((r) => ({ id: r.id, name: r.name, plan: r.plan, role: r.role }))
}

export async function listAllWorkspaces(deps: ServiceDeps, cursor: string | undefined, limit: number) {
  const after = decodeCursor(cursor, z.object({ i: z.string() }))
  const rows = await repo.listAllWorkspaces(deps.db, after?.i, limit + 1)
  return pageOf(rows, limit, workspaceView, (w) => ({ i: w.id }))
}

export async function setPlan(
  deps: ServiceDeps,
  caller: Caller,
  workspaceId: string,
  plan: string,
): Promise<WorkspaceView> {
  knownPlan(deps, plan)
  return deps.db.transaction().execute(async (trx) => {
    const ws = await repo.findWorkspace(trx, workspaceId)
    if (!ws) throw notFound('workspace', '')
    await repo.updateWorkspace(trx, workspaceId, { plan, updated_at: iso(caller.meta.at) })
    await audit.record(trx, caller, {
      workspaceId,
      action: 'workspace.plan_changed',
      target: { type: 'workspace', id: workspaceId },
      metadata: { from: ws.plan, to: plan },
    })
    return workspaceView({ ...ws, plan })
  })
}

export async function updateWorkspace(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  input: { name?: string; retentionDays?: number | null },
): Promise<WorkspaceView> {
  if (input.retentionDays !== undefined && input.retentionDays !== null) {
    requireQuota(deps.config.plans, ctx.workspace.plan, 'retentionDaysMax', input.retentionDays, 0)
  }
  const patch = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.retentionDays !== undefined ? { retention_days: input.retentionDays } : {}),
    updated_at: iso(ctx.caller.meta.at),
  }
  return deps.db.transaction().execute(async (trx) => {
    await repo.updateWorkspace(trx, ctx.workspace.id, patch)
    const changes: Record<string, unknown> = {}
    if (input.name !== undefined) changes.name = { from: ctx.workspace.name, to: input.name }
    if (input.retentionDays !== undefined)
      changes.retentionDays = { from: ctx.workspace.retention_days, to: input.retentionDays }
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'workspace.updated',
      target: { type: 'workspace', id: ctx.workspace.id },
      metadata: changes,
    })
    return workspaceView({ ...ctx.workspace, ...patch })
  })
}

/** Deletes the workspace and everything in it; the exact name must be typed to confirm. */
export async function deleteWorkspace(deps: ServiceDeps, ctx: WorkspaceContext, confirmName: string): Promise<void> {
  if (confirmName !== ctx.workspace.name) {
    throw new AppError(422, 'confirmation_mismatch', 'Type the workspace name exactly to confirm deletion.', [
      { field: 'confirmName', message: 'does not match the workspace name' },
    ])
  }
  // What runs live for the workspace stops first: a live session would keep receiving for a workspace that is gone.
  for (const hook of deps.workspaceTeardown) await hook.beforeDelete(ctx.workspace.id)
  const channelIds = await deps.db.transaction().execute(async (trx) => {
    // The audit row outlives the workspace (audit_log has no foreign key to it).
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'workspace.deleted',
      target: { type: 'workspace', id: ctx.workspace.id },
      metadata: { name: ctx.workspace.name },
    })
    const channels = (await channelsRepo.list(trx, ctx.workspace.id)).map((channel) => channel.id)
    // Tables without a foreign key to workspaces (see deleteWorkspaceData) go explicitly; everything else cascades
    // from the workspace row.
    await repo.deleteWorkspaceData(trx, ctx.workspace.id)
    await repo.deleteWorkspace(trx, ctx.workspace.id)
    return channels
  })
  // Webhooks for its channels stop being accepted at once, not when the cache entry expires.
  for (const id of channelIds) deps.channelCache.invalidate(id)
}

/** Makes another member an Owner and the current Owner an Admin. */
export async function transferOwnership(deps: ServiceDeps, ctx: WorkspaceContext, targetUserId: string): Promise<void> {
  const actor = ctx.caller.actor
  if (actor.type !== 'user')
    throw new AppError(403, 'session_required', 'Ownership can only be transferred by a signed-in Owner.')
  if (targetUserId === actor.id)
    throw new AppError(422, 'invalid_target', 'You already own this workspace.', [
      { field: 'userId', message: 'is yourself' },
    ])
  await deps.db.transaction().execute(async (trx) => {
    const target = await membershipsRepo.findMember(trx, ctx.workspace.id, targetUserId)
    if (!target) throw notFound('member')
    await membershipsRepo.setRole(trx, ctx.workspace.id, targetUserId, 'owner')
    await membershipsRepo.setRole(trx, ctx.workspace.id, actor.id, 'admin')
    await audit.record(trx, ctx.caller, {
      workspaceId: ctx.workspace.id,
      action: 'workspace.ownership_transferred',
      target: { type: 'user', id: targetUserId },
      metadata: { from: actor.id, to: targetUserId, previousRole: target.role },
    })
  })
}
