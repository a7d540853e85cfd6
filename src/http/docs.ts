/**
 * API documentation: the OpenAPI document is generated from the same Zod schemas that validate requests
 * (`/docs/json`); `/docs` is the interactive reference, Swagger UI bundled into the binary (public/docs.html +
 * docs.js; no CDN: appliances run offline; no inline script, so the page keeps the app's CSP).
 *
 * @elysiajs/openapi's `toOpenAPISchema` gives the paths, parameters (path, query, headers) and details. What it
 * cannot see is completed here from the route table, so the contract follows the routes and not a hand list:
 *   - request bodies: the plugin documents a body only for Elysia's named parsers, and every route here is parsed
 *     by our one global JSON parser (security.ts, a function), so it emitted `content: {}`. Bodies are rebuilt from
 *     the route's Zod body schema (input side; a `File` field makes it multipart/form-data);
 *   - success responses from the route's Zod `response` schemas (output side; a generic 2XX where none exists);
 *     a 204 without a body, and a union's text alternatives (responses.ts `textAs`) under their own media type;
 *   - problem+json responses (one shared `Problem` schema) for the 4xx codes the pipeline can answer: derived from
 *     the route's access macro (401/403/404, 402 for a plan feature), its inputs (400 params/query, 422 body,
 *     413/415) and the rate limiter (429 under /api/);
 *   - `security` from the access macro (`x-permission`): public → none; authenticated/operator or session-only →
 *     the session cookie; a workspace permission → the session cookie or an API key;
 *   - an `operationId` (unless the route names one) and tags on every operation.
 * Each operation keeps `x-permission`: the access rule its macro enforces.
 */
import { Elysia, type AnyElysia } from 'elysia'
import { toOpenAPISchema } from '@elysiajs/openapi'
import { z } from 'zod'
import { VERSION } from '../config.ts'
import type { AuthPlugin } from './auth.plugin.ts'
import { defaultPublicDir } from './static.ts'
import { openApiWebhooks } from '../events/catalog.ts'

type JsonSchema = Record<string, unknown>
type Operation = Record<string, unknown> & {
  responses?: Record<string, unknown>
  tags?: string[]
  operationId?: string
}
type RouteHooks = {
  body?: unknown
  response?: unknown
  params?: unknown
  query?: unknown
  detail?: Record<string, unknown>
}
type Route = { method: string; path: string; hooks?: RouteHooks }

/** The problem+json body every error answers with (errors.ts `problemBody`). */
export const problemSchema = z
  .object({
    type: z.string().describe('urn:wabox:problem:<code>'),
    title: z.string().describe('The HTTP status text'),
    status: z.number().int().min(400).max(599),
    detail: z.string().describe('What went wrong, for a person'),
    code: z.string().describe('Stable machine-readable code (e.g. validation_failed, not_found, rate_limited)'),
    requestId: z.string().optional().describe('Echoed as X-Request-ID; quote it when reporting a problem'),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('Field errors (validation only)'),
  })
  .describe('RFC 9457 problem details')

const PROBLEM_TEXT: Record<string, string> = {
  '400': 'Malformed request: invalid path or query parameters, malformed or too deeply nested JSON',
  '401': 'Not authenticated (no session, an expired session, or an invalid API key)',
  '402': "The workspace's plan does not include this feature",
  '403': 'Authenticated but not allowed (role, API key on a session-only route, cross-site request)',
  '404': 'Not found, or not yours (a workspace you are not a member of answers 404 too)',
  '409': 'Conflict with the current state',
  '410': 'Gone (e.g. a disconnected channel)',
  '413': 'The request body exceeds the size limit',
  '415': 'The request body is not application/json',
  '422': 'Valid JSON, invalid content (field errors in `errors[]`)',
  '429': 'Rate limited (see the RateLimit and Retry-After headers)',
}

/** Tag descriptions; a tag a route uses without one here is still listed. */
const TAG_TEXT: Record<string, string> = {
  'api keys': 'Workspace API keys (the token is returned once, at creation)',
  audit: 'The audit trail of a workspace, and of the instance for operators',
  auth: 'Setup, sign-in and sign-out, the current user',
  channels: 'WhatsApp numbers: Cloud API credentials and QR (linked device) sessions',
  contacts: 'Contacts and their consent',
  conversations: 'Conversations, their messages and media',
  events: 'The live event stream (server-sent events)',
  'instance administration': 'Operator only: workspaces and plans',
  members: 'Members, roles and invites',
  operations: 'Health, readiness and metrics',
  sending: 'Sending messages and uploading media',
  webhooks: "Meta's webhook intake, its dead letters, and outbound webhook endpoints and deliveries",
  workspaces: 'Workspaces you belong to',
}

const isZod = (s: unknown): s is z.ZodType => typeof s === 'object' && s !== null && '_zod' in s

/** A Zod schema as JSON Schema; `File` fields (instanceof) become binary strings. */
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      const def = (ctx.zodSchema as { _zod: { def: { type: string } } })._zod.def
      if (def.type === 'custom') Object.assign(ctx.jsonSchema, { type: 'string', format: 'binary' })
    },
  }) as JsonSchema
  delete out.$schema
  return out
}

const hasBinary = (s: unknown): boolean =>
  typeof s === 'object' &&
  s !== null &&
  ((s as JsonSchema).format === 'binary' || Object.values(s as JsonSchema).some(hasBinary))

/** `{ 200: zod, 503: zod }`, a bare zod schema (= 200), or nothing. */
function responseSchemas(response: unknown): [string, z.ZodType][] {
  if (!response || typeof response !== 'object') return []
  if (isZod(response)) return [['200', response]]
  return Object.entries(response as Record<string, unknown>).filter((e): e is [string, z.ZodType] => isZod(e[1]))
}

/**
 * The media types of a success response: application/json, unless alternatives of a union name their own
 * `contentMediaType` (responses.ts `textAs`, e.g. the audit log as CSV); each of those is listed under its type.
 */
function successContent(json: JsonSchema): Record<string, { schema: JsonSchema }> {
  // One answer in another media type than JSON (an SVG, an event stream, a file): listed under that type.
  if (typeof json.contentMediaType === 'string') return { [json.contentMediaType]: { schema: json } }
  const alternatives = (json.anyOf as JsonSchema[] | undefined) ?? []
  const typed = alternatives.filter((a) => typeof a.contentMediaType === 'string')
  if (typed.length === 0) return { 'application/json': { schema: json } }
  const { anyOf: _, description: __, ...shared } = json // e.g. $defs, which every alternative may point into
  const untyped = alternatives.filter((a) => typeof a.contentMediaType !== 'string')
  const content: Record<string, { schema: JsonSchema }> = {}
  if (untyped.length > 0)
    content['application/json'] = { schema: { ...shared, ...(untyped.length === 1 ? untyped[0] : { anyOf: untyped }) } }
  for (const a of typed) content[a.contentMediaType as string] = { schema: { ...shared, ...a } }
  return content
}

const camel = (s: string) => s.replace(/[-_.]+(\w)/g, (_, c: string) => c.toUpperCase())
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

/** get /api/v1/workspaces/:workspaceId/api-keys → getWorkspacesByWorkspaceIdApiKeys */
export function operationIdOf(method: string, path: string): string {
  const segments = path
    .replace(/^\/api\/v1(?=\/|$)/, '')
    .split('/')
    .filter(Boolean)
  const words = segments.map((s) => (s.startsWith(':') ? `By${cap(camel(s.slice(1)))}` : cap(camel(s))))
  return method.toLowerCase() + (words.join('') || 'Index')
}

const docPath = (path: string) => (path.length > 1 ? path.replace(/\/$/, '') : path).replace(/:(\w+)/g, '{$1}')

/** The security requirement of an access rule (`x-permission`); undefined = public. */
function securityOf(rule: unknown, sessionOnly: boolean): Record<string, string[]>[] | undefined {
  if (rule === 'public' || rule === undefined) return undefined
  if (rule === 'metrics') return [{}, { metricsToken: [] }]
  if (rule === 'authenticated' || rule === 'operator' || sessionOnly) return [{ session: [] }]
  return [{ session: [] }, { apiKey: [] }]
}

function problemCodes(route: Route, op: Operation): string[] {
  const detail = route.hooks?.detail ?? {}
  const rule = detail['x-permission']
  const codes = new Set<string>()
  const params = (op.parameters as { in: string }[] | undefined) ?? []
  if (params.some((p) => p.in === 'path' || p.in === 'query')) codes.add('400')
  if (isZod(route.hooks?.body)) for (const c of ['400', '413', '415', '422']) codes.add(c) // the JSON parser and validation
  if (rule !== 'public' && rule !== 'metrics') codes.add('401').add('403')
  if (rule === 'metrics') codes.add('403').add('404')
  if (params.some((p) => p.in === 'path') || (typeof rule === 'string' && rule.includes('.'))) codes.add('404')
  if (detail['x-plan-feature']) codes.add('402')
  if (route.path.startsWith('/api/')) codes.add('429')
  return [...codes].sort()
}

export function buildOpenApiDocument(app: AnyElysia) {
  const { paths, components } = toOpenAPISchema(app, { paths: ['/docs', '/docs/json', '/*'] }, undefined, {
    // Documents what clients send (the input side of transforms), without warnings for transforms.
    zod: (schema: z.ZodType) => jsonSchemaOf(schema, 'input'),
  }) as { paths: Record<string, Record<string, Operation>>; components: { schemas?: Record<string, unknown> } }

  const documented: Record<string, Record<string, Operation>> = {}
  const usedProblems = new Set<string>()
  const tags = new Set<string>()
  for (const route of app.routes as Route[]) {
    const method = route.method.toLowerCase()
    const op = paths[route.path.replace(/:(\w+)/g, '{$1}')]?.[method]
    if (!op) continue // hidden, excluded, or not an HTTP method the document lists
    const hooks = route.hooks ?? {}
    const detail = hooks.detail ?? {}

    if (isZod(hooks.body) && method !== 'get' && method !== 'head') {
      const schema = jsonSchemaOf(hooks.body, 'input')
      const type = hasBinary(schema) ? 'multipart/form-data' : 'application/json'
      op.requestBody = { required: true, content: { [type]: { schema } } }
    } else if (!detail.requestBody) delete op.requestBody // the plugin's empty one; a route may describe a raw body in its detail

    // A route's detail may name more outcomes (e.g. the webhook ingress' 401 for a bad signature): 4xx ones
    // become the shared problem responses.
    const responses: Record<string, unknown> = {}
    const declared = (detail.responses ?? {}) as Record<string, unknown>
    for (const [status, response] of Object.entries(declared)) {
      if (/^4\d\d$/.test(status)) {
        usedProblems.add(status)
        responses[status] = { $ref: `#/components/responses/Problem${status}` }
      } else responses[status] = response
    }
    for (const [status, schema] of responseSchemas(hooks.response)) {
      const json = jsonSchemaOf(schema, 'output')
      const isProblem = Number(status) >= 400
      const description =
        (json.description as string | undefined) ?? (isProblem ? (PROBLEM_TEXT[status] ?? 'Error') : 'Success')
      // A 204 has no body by definition: its schema (responses.ts `noContent`) only says so to the validator.
      if (status === '204') responses[status] = { description }
      else if (isProblem) responses[status] = { description, content: { 'application/problem+json': { schema: json } } }
      else responses[status] = { description, content: successContent(json) }
    }
    if (!Object.keys(responses).some((s) => s.startsWith('2')))
      responses['2XX'] = { description: 'Success (see the summary for what is returned)' }
    for (const code of problemCodes(route, op)) {
      if (responses[code]) continue
      usedProblems.add(code)
      responses[code] = { $ref: `#/components/responses/Problem${code}` }
    }
    op.responses = responses

    const security = securityOf(detail['x-permission'], detail['x-session-only'] === true)
    if (security) op.security = security
    else op.security = []
    op.operationId = (detail.operationId as string | undefined) ?? operationIdOf(method, route.path)
    if (!op.tags?.length) op.tags = [route.path.startsWith('/api/') ? 'api' : 'operations']
    for (const tag of op.tags) tags.add(tag)
    const p = docPath(route.path)
    documented[p] = { ...documented[p], [method]: op }
  }

  const problemResponses = Object.fromEntries(
    [...usedProblems].sort().map((code) => [
      `Problem${code}`,
      {
        description: PROBLEM_TEXT[code] ?? 'Error',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      },
    ]),
  )

  return {
    openapi: '3.1.0',
    info: {
      title: 'wabox API',
      version: VERSION,
      description:
        'Self-hosted WhatsApp operations appliance. Authenticate with the session cookie (admin UI) or `Authorization: Bearer wbx_…` (API keys). ' +
        'Errors are application/problem+json (RFC 9457). `x-permission` on each operation names the access rule.',
      license: { name: 'AGPL-3.0-or-later', identifier: 'AGPL-3.0-or-later' },
    },
    servers: [{ url: '/', description: 'This wabox instance' }],
    tags: [...tags].sort().map((name) => (TAG_TEXT[name] ? { name, description: TAG_TEXT[name] } : { name })),
    components: {
      ...components,
      schemas: { ...components.schemas, Problem: jsonSchemaOf(problemSchema, 'output') },
      responses: problemResponses,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A workspace API key: wbx_<prefix>_<secret>' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'wabox_session',
          description: 'The admin UI session (sign in with POST /api/v1/auth/login)',
        },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'The --metrics-token, when one is configured' },
      },
    },
    paths: documented,
    webhooks: webhooksDocumented(),
  }
}

/** The event catalogue's webhooks, each with an operation id; deliveries are signed (Standard Webhooks), not authenticated. */
function webhooksDocumented() {
  const hooks = openApiWebhooks() as Record<string, { post: Operation }>
  for (const [type, item] of Object.entries(hooks)) {
    item.post.operationId ??= `event${cap(camel(type))}`
    item.post.security ??= []
    item.post.tags ??= ['events']
  }
  return hooks
}

export function docsRoutes(auth: AuthPlugin, getApp: () => AnyElysia, publicDir = defaultPublicDir()) {
  let spec: unknown
  return new Elysia({ name: 'docs' })
    .use(auth)
    .get(
      '/docs/json',
      () => {
        // Built on first request: by then every route is registered.
        spec ??= buildOpenApiDocument(getApp())
        return spec
      },
      { public: true, detail: { hide: true } },
    )
    .get(
      '/docs',
      ({ set }) => {
        set.headers['cache-control'] = 'no-cache'
        return Bun.file(`${publicDir}/docs.html`)
      },
      { public: true, detail: { hide: true } },
    )
}
