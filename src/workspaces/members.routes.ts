/** Members and invites of a workspace, and the public invite acceptance. */
import { Elysia } from 'elysia'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { noContent } from '../http/responses.ts'
import { cookiesSecure, sessionCookie } from '../auth/sessions.ts'
import { listQuery } from '../pagination.ts'
import {
  acceptedInviteView,
  acceptInviteBody,
  changeRoleBody,
  createdInviteView,
  createInviteBody,
  inviteParams,
  invitePreviewQuery,
  invitePreviewView,
  inviteView,
  memberParams,
  memberView,
  page,
  workspaceParams,
} from './workspaces.schema.ts'
import * as members from './members.service.ts'
import * as invites from './invites.service.ts'

export function memberRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  return new Elysia({ prefix: '/api/v1/workspaces/:workspaceId', tags: ['members'] })
    .use(auth)
    .get('/members', ({ tenant, query }) => members.listMembers(deps, tenant, query.cursor, query.limit), {
      permission: 'members.read',
      params: workspaceParams,
      query: listQuery,
      response: page(memberView),
      detail: { summary: 'List members with their roles' },
    })
    .get('/members/:userId', ({ tenant, params }) => members.getMember(deps, tenant, params.userId), {
      permission: 'members.read',
      params: memberParams,
      response: memberView,
      detail: { summary: 'One member' },
    })
    .patch(
      '/members/:userId',
      ({ tenant, params, body }) => members.changeRole(deps, tenant, params.userId, body.role),
      {
        permission: 'members.manage',
        params: memberParams,
        body: changeRoleBody,
        response: memberView,
        detail: { summary: "Change a member's role (Admins cannot touch Owners or grant Owner; the last Owner stays)" },
      },
    )
    .delete(
      '/members/:userId',
      async ({ tenant, params, set }) => {
        await members.removeMember(deps, tenant, params.userId, { self: false })
        set.status = 204
      },
      {
        permission: 'members.manage',
        params: memberParams,
        response: { 204: noContent },
        detail: { summary: 'Remove a member; their sessions end at once' },
      },
    )
    .get('/invites', ({ tenant, query }) => invites.listInvites(deps, tenant, query.cursor, query.limit), {
      permission: 'members.manage',
      params: workspaceParams,
      query: listQuery,
      response: page(inviteView),
      detail: { summary: 'List invites with their status' },
    })
    .post(
      '/invites',
      async ({ tenant, body, set }) => {
        set.status = 201
        return invites.inviteMember(deps, tenant, body)
      },
      {
        permission: 'members.manage',
        params: workspaceParams,
        body: createInviteBody,
        detail: { summary: 'Invite someone by email with a role; the accept link is returned once' },
        response: { 201: createdInviteView },
      },
    )
    .delete(
      '/invites/:inviteId',
      async ({ tenant, params, set }) => {
        await invites.revokeInvite(deps, tenant, params.inviteId)
        set.status = 204
      },
      {
        permission: 'members.manage',
        params: inviteParams,
        response: { 204: noContent },
        detail: { summary: 'Revoke a pending invite' },
      },
    )
}

export function inviteAcceptRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  const secure = cookiesSecure(deps.config)
  return new Elysia({ prefix: '/api/v1/invites', tags: ['members'] })
    .use(auth)
    .get('/preview', ({ query }) => invites.previewInvite(deps, query.token), {
      public: true,
      query: invitePreviewQuery,
      response: invitePreviewView,
      detail: { summary: 'What an invite link offers (workspace, email, role) before accepting' },
    })
    .post(
      '/accept',
      async ({ caller, body, set }) => {
        const result = await invites.acceptInvite(deps, caller, body)
        set.headers['set-cookie'] = sessionCookie(result.token, secure)
        return { user: result.user, workspaceId: result.workspaceId, role: result.role }
      },
      {
        public: true,
        body: acceptInviteBody,
        response: acceptedInviteView,
        detail: { summary: 'Accept an invite: create the account (or confirm the existing one) and sign in' },
      },
    )
}
