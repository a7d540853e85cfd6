/**
 * Authentication and authorization for every route, as macros:
 *
 *   { public: true }            anyone; metered per client IP under /api/
 *   { authenticated: true }     a signed-in user (browser session); API keys are refused
 *   { operator: true }          a signed-in instance operator
 *   { permission: 'x.y' }       a member of :workspaceId (session or that workspace's API key) whose role
 *                               has permission x.y in auth/permissions.ts
 *   { metrics: true }           the Prometheus scrape: loopback only, unless --metrics-allowed-networks and/or
 *                               --metrics-token say otherwise (elsewhere 404; a missing or wrong token 403)
 *   { sessionOnly: true }       with permission: a person must act (API keys get 403)
 *   { plan: 'feature' }         with permission: the workspace's plan must include the feature (else 402)
 *
 * The checks run in `transform`, before body validation, so an anonymous caller learns nothing about a
 * route's schema. Membership and role are read from the database on every request. A workspace the caller
 * is not a member of answers 404, exactly like one that does not exist. Each macro also writes
 * `x-permission` into the route's OpenAPI detail, which the deny-by-default test reads.
 */
import { Elysia, type DocumentDecoration } from 'elysia'
import type { ServiceDeps } from '../deps.ts'
import { can, type Permission, type Role } from '../auth/permissions.ts'
import { ANONYMOUS, type Caller, type RequestMeta } from '../auth/principal.ts'
import { authenticateApiKey, looksLikeApiKey } from '../auth/apikeys.service.ts'
import {
  clearedSessionCookie,
  cookiesSecure,
  resolveSession,
  sessionTokenFrom,
  type SessionUser,
} from '../auth/sessions.ts'
import * as workspacesRepo from '../workspaces/workspaces.repo.ts'
import * as membershipsRepo from '../workspaces/memberships.repo.ts'
import type { WorkspaceContext } from '../workspaces/workspace-context.ts'
import type { WorkspacesTable } from '../workspaces/workspaces.table.ts'
import { requireFeature, type Feature } from '../workspaces/plans.ts'
import { AppError, notFound } from '../lib/errors.ts'
import { clientIp, trustedProxies } from './client-ip.ts'
import { RateLimiter } from './rate-limit.ts'
import { requestIdOf } from './request-context.ts'
import { constantTimeEqual } from '../crypto/tokens.ts'

/** How the socket peer's address is found; tests driving app.handle (no socket) supply their own. */
export type PeerAddress = (
  request: Request,
  server: { requestIP(r: Request): { address: string } | null } | null,
) => string | undefined

type AuthState = { caller: Caller; session?: SessionUser; tenant?: WorkspaceContext }

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Marks a route's access rule in its OpenAPI detail (an `x-` extension; read by /docs and the route audit test). */
export const accessDetail = (rule: string): DocumentDecoration => ({ 'x-permission': rule }) as DocumentDecoration

export function authPlugin(deps: ServiceDeps, peerAddress?: PeerAddress) {
  const { config, clock } = deps
  const trusted = trustedProxies(config.trustedProxies)
  const apiLimiter = new RateLimiter({ name: 'api', windows: config.rateLimit }, clock)
  const uiLimiter = new RateLimiter({ name: 'ui', windows: config.uiRateLimit }, clock)
  const secureCookies = cookiesSecure(config)
  const publicOrigin = new URL(config.publicUrl).origin
  const states = new WeakMap<Request, AuthState>()
  const loopback = trustedProxies(['127.0.0.0/8', '::1/128'])
  const metricsNetworks =
    config.metricsAllowedNetworks.length > 0 ? trustedProxies(config.metricsAllowedNetworks) : null

  type Ctx = {
    request: Request
    server: unknown
    set: { headers: Record<string, unknown> }
    params?: Record<string, string>
  }
  // Macros destructure exactly what they use: Elysia builds only the context fields a hook's source names
  // (its static analysis cannot follow a context object passed on to a helper, least of all minified).

  const metaOf = ({ request, server }: Ctx): RequestMeta => {
    const peer = peerAddress
      ? peerAddress(request, server as never)
      : (server as { requestIP?(r: Request): { address: string } | null } | null)?.requestIP?.(request)?.address
    return {
      ip: clientIp(peer, request.headers.get('x-forwarded-for'), trusted),
      requestId: requestIdOf(request) ?? '',
      userAgent: (request.headers.get('user-agent') ?? '').slice(0, 300),
      at: clock.now(),
    }
  }

  /** Takes a token from `key`'s buckets (API paths only); refuses with 429 when a window is empty. */
  const meter = (ctx: Ctx, limiter: RateLimiter, key: string) => {
    if (!new URL(ctx.request.url).pathname.startsWith('/api/')) return
    const decision = limiter.take(key)
    const headers = limiter.headers(decision)
    Object.assign(ctx.set.headers, headers)
    if (!decision.allowed) {
      throw new AppError(
        429,
        'rate_limited',
        `Too many requests; retry in ${decision.retryAfterSeconds} s.`,
        undefined,
        headers,
      )
    }
  }

  /** A cookie-authenticated change must come from our own pages (CSRF): Sec-Fetch-Site, else Origin. */
  const isSameOrigin = (request: Request): boolean => {
    const site = request.headers.get('sec-fetch-site')
    if (site) return site === 'same-origin' || site === 'none'
    const origin = request.headers.get('origin')
    return origin !== null && (origin === publicOrigin || origin === new URL(request.url).origin)
  }

  const authenticate = async (ctx: Ctx, opts: { apiKeys: boolean }): Promise<AuthState> => {
    const meta = metaOf(ctx)
    const anonymous = `ip:${meta.ip}`
    const authorization = ctx.request.headers.get('authorization')
    if (authorization !== null) {
      const bearer = authorization.match(/^Bearer\s+(\S+)\s*$/i)?.[1]
      const key = bearer && looksLikeApiKey(bearer) ? await authenticateApiKey(deps, bearer) : null
      if (!key) {
        meter(ctx, apiLimiter, anonymous)
        throw new AppError(
          401,
          'invalid_api_key',
          'The API key is missing, malformed, expired or revoked.',
          undefined,
          { 'www-authenticate': 'Bearer' },
        )
      }
      meter(ctx, apiLimiter, `key:${key.id}`)
      if (!opts.apiKeys)
        throw new AppError(403, 'session_required', 'This endpoint needs a signed-in user; API keys cannot use it.')
      return {
        caller: {
          actor: { type: 'api_key', id: key.id, label: key.name, workspaceId: key.workspace_id, role: key.role },
          meta,
        },
      }
    }
    const token = sessionTokenFrom(ctx.request.headers.get('cookie'))
    const session = token ? await resolveSession(deps.db, clock, token) : null
    if (!session) {
      meter(ctx, apiLimiter, anonymous)
      if (token) ctx.set.headers['set-cookie'] = clearedSessionCookie(secureCookies)
      throw new AppError(
        401,
        token ? 'session_expired' : 'unauthenticated',
        token ? 'Your session has ended; sign in again.' : 'Sign in, or send an API key as Authorization: Bearer.',
      )
    }
    meter(ctx, uiLimiter, `user:${session.userId}`)
    if (!SAFE_METHODS.has(ctx.request.method) && !isSameOrigin(ctx.request)) {
      throw new AppError(
        403,
        'cross_site_request',
        'Cross-site requests cannot change anything; use the wabox UI or an API key.',
      )
    }
    return {
      caller: {
        actor: { type: 'user', id: session.userId, label: session.email, isOperator: session.isOperator },
        meta,
      },
      session,
    }
  }

  const authorizeWorkspace = async (ctx: Ctx, permission: Permission): Promise<AuthState> => {
    const state = await authenticate(ctx, { apiKeys: true })
    const actor = state.caller.actor
    const noSuchWorkspace = notFound('workspace', '')
    const workspaceId = ctx.params?.workspaceId
    const workspace: WorkspacesTable | undefined = workspaceId
      ? await workspacesRepo.findWorkspace(deps.db, workspaceId)
      : undefined
    if (!workspace) throw noSuchWorkspace
    let role: Role
    if (actor.type === 'api_key') {
      if (actor.workspaceId !== workspace.id) throw noSuchWorkspace
      requireFeature(config.plans, workspace.plan, 'apiAccess')
      role = actor.role
    } else if (actor.type === 'user') {
      const membership = await membershipsRepo.findMembership(deps.db, workspace.id, actor.id)
      if (!membership) throw noSuchWorkspace
      role = membership.role
    } else throw noSuchWorkspace
    if (!can(role, permission)) {
      throw new AppError(
        403,
        'forbidden',
        `Your role (${role}) does not have the ${permission} permission in this workspace.`,
      )
    }
    return { ...state, tenant: { caller: state.caller, workspace, role } }
  }

  const stateOf = (request: Request): AuthState => {
    const state = states.get(request)
    if (!state) throw new Error('auth state missing: the macro transform did not run')
    return state
  }

  return new Elysia({ name: 'auth' }).macro({
    public: (_: true) => ({
      detail: accessDetail('public'),
      transform({ request, server, set, params }) {
        const ctx = { request, server, set, params } as Ctx
        const meta = metaOf(ctx)
        meter(ctx, apiLimiter, `ip:${meta.ip}`)
        // Public endpoints that sign people in (login, setup, invites) must not be driven by another site.
        if (!SAFE_METHODS.has(ctx.request.method) && ctx.request.headers.get('sec-fetch-site') === 'cross-site') {
          throw new AppError(403, 'cross_site_request', 'Cross-site requests are refused.')
        }
        states.set(ctx.request, { caller: { actor: ANONYMOUS, meta } })
      },
      resolve: ({ request }) => ({ caller: stateOf(request).caller }),
    }),
    authenticated: (_: true) => ({
      detail: accessDetail('authenticated'),
      async transform({ request, server, set, params }) {
        const ctx = { request, server, set, params } as Ctx
        states.set(ctx.request, await authenticate(ctx, { apiKeys: false }))
      },
      resolve: ({ request }) => {
        const s = stateOf(request)
        return { caller: s.caller, session: s.session! }
      },
    }),
    operator: (_: true) => ({
      detail: accessDetail('operator'),
      async transform({ request, server, set, params }) {
        const ctx = { request, server, set, params } as Ctx
        const state = await authenticate(ctx, { apiKeys: false })
        if (!state.session?.isOperator)
          throw new AppError(403, 'operator_only', 'Only an instance operator can do this.')
        states.set(ctx.request, state)
      },
      resolve: ({ request }) => {
        const s = stateOf(request)
        return { caller: s.caller as Caller & { actor: { type: 'user' } }, session: s.session! }
      },
    }),
    metrics: (_: true) => ({
      detail: accessDetail('metrics'),
      transform({ request, server, set, params }) {
        const ctx = { request, server, set, params } as Ctx
        const meta = metaOf(ctx)
        // By default only this machine: a local Prometheus or agent. A request a proxy forwarded comes from the
        // proxy's address, which may be loopback too — so any forwarding header rules the default out, and so does
        // an address configured as a trusted proxy (a proxy that adds no header is still a proxy).
        const forwarded = ['x-forwarded-for', 'forwarded', 'x-real-ip'].some((h) => request.headers.has(h))
        const fromAllowedNetwork = metricsNetworks
          ? metricsNetworks.has(meta.ip)
          : !config.metricsToken && loopback.has(meta.ip) && !forwarded && !trusted.has(meta.ip)
        const hidden = notFound('route or resource', '')
        if (config.metricsToken) {
          if (metricsNetworks && !fromAllowedNetwork) throw hidden
          const bearer = request.headers.get('authorization')?.match(/^Bearer\s+(\S+)\s*$/i)?.[1]
          if (!bearer || !constantTimeEqual(bearer, config.metricsToken)) {
            throw new AppError(
              403,
              'metrics_token_required',
              'Send the metrics token as Authorization: Bearer.',
              undefined,
              { 'www-authenticate': 'Bearer' },
            )
          }
        } else if (!fromAllowedNetwork) throw hidden
        states.set(request, { caller: { actor: ANONYMOUS, meta } })
      },
    }),
    /** With `permission`: the route acts as a person (leave, transfer ownership), so API keys get 403. */
    sessionOnly: (_: true) => ({
      detail: { 'x-session-only': true } as DocumentDecoration,
      transform({ request, server, set, params }) {
        const ctx = { request, server, set, params } as Ctx
        if (states.get(ctx.request)?.caller.actor.type === 'api_key') {
          throw new AppError(403, 'session_required', 'This action needs a signed-in user; API keys cannot do it.')
        }
      },
    }),
    /** With `permission`: the workspace's plan must include this feature (PlanGuard), else 402. */
    plan: (feature: Feature) => ({
      detail: { 'x-plan-feature': feature } as DocumentDecoration,
      transform({ request }) {
        const tenant = states.get(request)?.tenant
        if (!tenant) throw new Error('the plan macro needs the permission macro before it')
        requireFeature(config.plans, tenant.workspace.plan, feature)
      },
    }),
    permission: (permission: Permission) => ({
      detail: accessDetail(permission),
      async transform({ request, server, set, params }) {
        const ctx = { request, server, set, params } as Ctx
        states.set(ctx.request, await authorizeWorkspace(ctx, permission))
      },
      resolve: ({ request }) => ({ tenant: stateOf(request).tenant! }),
    }),
  })
}

export type AuthPlugin = ReturnType<typeof authPlugin>
