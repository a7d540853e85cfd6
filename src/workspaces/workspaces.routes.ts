/** Workspaces as their members see them, and the operator's instance-wide administration. */
import { Elysia } from 'elysia'
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { listQuery } from '../pagination.ts'
import * as workspacesRepo from './workspaces.repo.ts'
import {
  createWorkspaceBody,
  deleteWorkspaceBody,
  memberView,
  page,
  setPlanBody,
  transferOwnershipBody,
  updateWorkspaceBody,
  workspaceParams,
  workspaceView,
} from './workspaces.schema.ts'
import * as service from './workspaces.service.ts'
import { removeMember } from './members.service.ts'
import type { QrSessions } from '../channels/registry.ts'

export function workspaceRoutes(deps: ServiceDeps, auth: AuthPlugin, qr: QrSessions) {
  return new Elysia({ prefix: '/api/v1/workspaces', tags: ['workspaces'] })
    .use(auth)
    .get(
      '/',
      async ({ session }) => {
        const rows = await workspacesRepo.listMembershipsOfUser(deps.db, session.userId)
        return { items: rows.map((r) => ({ id: r.id, name: r.name, plan: r.plan, role: r.role })) }
      },
      {
        authenticated: true,
        detail: { summary: 'Workspaces you are a member of, with your role' },
        response: z.object({
          items: z.array(
            workspaceView.pick({ id: true, name: true, plan: true }).extend({ role: memberView.shape.role }),
          ),
        }),
      },
    )
    .get('/:workspaceId', ({ tenant }) => ({ ...service.workspaceView(tenant.workspace), role: tenant.role }), {
      permission: 'workspace.read',
      params: workspaceParams,
      detail: { summary: 'One workspace, with your role in it' },
      response: workspaceView.extend({ role: memberView.shape.role }),
    })
    .patch('/:workspaceId', ({ tenant, body }) => service.updateWorkspace(deps, tenant, body), {
      permission: 'workspace.manage',
      params: workspaceParams,
      body: updateWorkspaceBody,
      response: workspaceView,
      detail: { summary: 'Rename the workspace or set its message retention (days, up to the plan ceiling)' },
    })
    .delete(
      '/:workspaceId',
      async ({ tenant, body, set }) => {
        await service.deleteWorkspace(deps, tenant, body.confirmName, qr)
        set.status = 204
      },
      {
        permission: 'workspace.manage',
        params: workspaceParams,
        body: deleteWorkspaceBody,
        detail: { summary: 'Delete the workspace and all its data (confirm by sending its exact name)' },
      },
    )
    .post(
      '/:workspaceId/transfer-ownership',
      async ({ tenant, body, set }) => {
        await service.transferOwnership(deps, tenant, body.userId)
        set.status = 204
      },
      {
        permission: 'workspace.manage',
        sessionOnly: true,
        params: workspaceParams,
        body: transferOwnershipBody,
        detail: { summary: 'Make another member the Owner; you become an Admin' },
      },
    )
    .post(
      '/:workspaceId/leave',
      async ({ tenant, set }) => {
        await removeMember(deps, tenant, tenant.caller.actor.id!, { self: true })
        set.status = 204
      },
      {
        permission: 'workspace.read',
        sessionOnly: true,
        params: workspaceParams,
        detail: { summary: 'Leave the workspace (the last Owner cannot)' },
      },
    )
}

export function adminRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  return new Elysia({ prefix: '/api/v1/admin', tags: ['instance administration'] })
    .use(auth)
    .get('/workspaces', ({ query }) => service.listAllWorkspaces(deps, query.cursor, query.limit), {
      operator: true,
      query: listQuery,
      response: page(workspaceView),
      detail: { summary: 'Every workspace on this instance' },
    })
    .post(
      '/workspaces',
      async ({ caller, body, set }) => {
        set.status = 201
        return service.createWorkspace(deps, caller, body)
      },
      {
        operator: true,
        body: createWorkspaceBody,
        detail: { summary: 'Create a workspace (you become its Owner; optionally invite the client as Owner)' },
      },
    )
    .put(
      '/workspaces/:workspaceId/plan',
      ({ caller, params, body }) => service.setPlan(deps, caller, params.workspaceId, body.plan),
      {
        operator: true,
        params: workspaceParams,
        body: setPlanBody,
        response: workspaceView,
        detail: { summary: "Assign a workspace's plan" },
      },
    )
    .get('/plans', () => deps.config.plans, {
      operator: true,
      response: z.record(z.string(), z.unknown()),
      detail: { summary: 'The plans configured on this instance (features and quotas)' },
    })
}
