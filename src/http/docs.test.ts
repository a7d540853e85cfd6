/**
 * The OpenAPI contract (/docs/json): complete (bodies, parameters, responses, problems, operation ids, tags,
 * security from the access macros) and clean under `@redocly/cli lint` with the recommended rules.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { createTestApp, type TestApp } from '../testing/test-app.ts'
import { tempDir } from '../testing/temp.ts'

type Op = {
  operationId?: string
  tags?: string[]
  security?: Record<string, string[]>[]
  parameters?: { name: string; in: string; schema?: Record<string, unknown> }[]
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }
  responses?: Record<
    string,
    { $ref?: string; description?: string; content?: Record<string, { schema: Record<string, unknown> }> }
  >
  'x-permission'?: string
}

let t: TestApp
let spec: {
  paths: Record<string, Record<string, Op>>
  components: {
    schemas: Record<string, unknown>
    responses: Record<string, unknown>
    securitySchemes: Record<string, unknown>
  }
}
const operations = () =>
  Object.entries(spec.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })))

/**
 * What is missing from the success responses of these operations: each needs one, none the generic 2XX (a route
 * without a `response` schema), a 204 no body, any other a schema for each of its media types.
 */
function successProblems(scoped: ReturnType<typeof operations>): string[] {
  const isSchema = (s: Record<string, unknown> | undefined) =>
    s !== undefined && ['type', 'anyOf', 'oneOf', 'allOf', '$ref'].some((k) => k in s)
  const problems: string[] = []
  for (const { path, method, op } of scoped) {
    const name = `${method} ${path}`
    const success = Object.entries(op.responses ?? {}).filter(([code]) => code.startsWith('2'))
    if (success.length === 0) problems.push(`${name}: no success response`)
    for (const [code, response] of success) {
      const content = Object.entries(response.content ?? {})
      if (code === '2XX') problems.push(`${name}: the generic 2XX (the route has no response schema)`)
      else if (code === '204') {
        if (content.length > 0) problems.push(`${name} 204: a body`)
      } else if (content.length === 0) problems.push(`${name} ${code}: no content`)
      else
        for (const [type, { schema }] of content)
          if (!isSchema(schema)) problems.push(`${name} ${code} ${type}: no schema`)
    }
  }
  return problems
}

const ready = (async () => {
  t = await createTestApp()
  spec = await (await t.request('/docs/json')).json()
})()
afterAll(async () => {
  await ready
  await t.close()
})

describe('OpenAPI contract', () => {
  test('every route with a Zod body documents it from that schema (none empty)', async () => {
    await ready
    const routes = (
      t.app as never as {
        routes: { method: string; path: string; hooks?: { body?: unknown; detail?: { hide?: boolean } } }[]
      }
    ).routes
    const withBody = routes.filter((r) => r.hooks?.body && !r.hooks.detail?.hide && r.method !== 'GET')
    expect(withBody.length).toBeGreaterThanOrEqual(25)
    for (const r of withBody) {
      const op = spec.paths[r.path.replace(/(.)\/$/, '$1').replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()]
      const content = Object.entries(op?.requestBody?.content ?? {})
      const props = Object.keys((content[0]?.[1].schema.properties as object | undefined) ?? {})
      expect({
        route: `${r.method} ${r.path}`,
        types: content.length,
        documented:
          props.length > 0 || content[0]?.[1].schema.anyOf !== undefined || content[0]?.[1].schema.oneOf !== undefined,
      }).toEqual({
        route: `${r.method} ${r.path}`,
        types: 1,
        documented: true,
      })
    }
    // Spot checks: the schema is the validating one (constraints included), uploads are multipart.
    const login = spec.paths['/api/v1/auth/login']!.post!.requestBody!.content['application/json']!.schema as {
      properties: Record<string, unknown>
      required: string[]
    }
    expect(login.required).toEqual(expect.arrayContaining(['email', 'password']))
    expect(Object.keys(spec.paths['/api/v1/workspaces/{workspaceId}/media']!.post!.requestBody!.content)).toEqual([
      'multipart/form-data',
    ])
  })

  test('every operation has an operationId (unique), tags, a 2xx and problem+json 4xx responses', async () => {
    await ready
    const ops = operations()
    expect(ops.length).toBeGreaterThanOrEqual(60)
    const ids = ops.map((o) => o.op.operationId)
    expect(ids.filter((id) => !id)).toEqual([])
    expect(new Set(ids).size).toBe(ids.length)
    for (const { path, method, op } of ops) {
      const codes = Object.keys(op.responses ?? {})
      expect({
        op: `${method} ${path}`,
        tagged: (op.tags?.length ?? 0) > 0,
        success: codes.some((c) => c.startsWith('2')),
      }).toEqual({ op: `${method} ${path}`, tagged: true, success: true })
      for (const code of codes.filter((c) => c.startsWith('4')))
        expect(op.responses![code]!.$ref).toBe(`#/components/responses/Problem${code}`)
      if (path.startsWith('/api/')) expect(codes).toContain('429')
      // JSON bodies (the webhook ingress takes raw signed bytes and names its own outcomes).
      if (op.requestBody && !path.startsWith('/webhooks/'))
        expect(codes).toEqual(expect.arrayContaining(['400', '413', '415', '422']))
      if (op['x-permission'] !== 'public' && op['x-permission'] !== 'metrics')
        expect(codes).toEqual(expect.arrayContaining(['401', '403']))
    }
    const problemSchema = spec.components.schemas.Problem as { type: string; required: string[] }
    expect(problemSchema.type).toBe('object')
    expect(problemSchema.required).toEqual(expect.arrayContaining(['type', 'title', 'status', 'detail', 'code']))
    const problem = spec.components.responses.Problem422 as { content: Record<string, { schema: { $ref: string } }> }
    expect(problem.content['application/problem+json']!.schema.$ref).toBe('#/components/schemas/Problem')
    // Success responses come from the routes' Zod view schemas where they declare one.
    const me = spec.paths['/api/v1/me']!.get!.responses!['200']!.content!['application/json']!.schema as {
      properties: Record<string, unknown>
    }
    expect(Object.keys(me.properties)).toEqual(expect.arrayContaining(['id', 'email', 'memberships']))
  })

  test('every operation of the API declares its success answer: a schema per media type (JSON, SVG, event stream, file, text), no generic 2XX', async () => {
    await ready
    const all = operations()
    expect(all.length).toBeGreaterThanOrEqual(70)
    expect(successProblems(all)).toEqual([])
    // Answers that are not JSON are listed under their own media type.
    const typesOf = (path: string) => Object.keys(spec.paths[path]?.get?.responses?.['200']?.content ?? {})
    expect(typesOf('/api/v1/workspaces/{workspaceId}/channels/{channelId}/qr')).toEqual(['image/svg+xml'])
    expect(typesOf('/api/v1/workspaces/{workspaceId}/events/stream')).toEqual(['text/event-stream'])
    expect(typesOf('/api/v1/workspaces/{workspaceId}/messages/{messageId}/media')).toEqual(['application/octet-stream'])
    expect(typesOf('/metrics')).toEqual(['text/plain'])
  })

  test('audit, auth, API keys, setup, dead letters, workspaces, members, administration: every success response has its schema', async () => {
    await ready
    // By tag (and the dead letters by path: their "webhooks" tag is shared with other routes), so a route added
    // later to these domains without a `response` schema fails here. The other domains get theirs later.
    const tags = new Set(['audit', 'auth', 'api keys', 'members', 'workspaces', 'instance administration'])
    const deadLetters = /^\/api\/v1\/workspaces\/\{workspaceId\}\/(intake|inbox)\/dead(\/|$)/
    const scoped = operations().filter(({ path, op }) => deadLetters.test(path) || op.tags?.some((t) => tags.has(t)))
    expect(scoped.length).toBeGreaterThanOrEqual(34)
    expect(successProblems(scoped)).toEqual([])
    // The audit log answers JSON or CSV (format=csv), and both are documented.
    const audit = spec.paths['/api/v1/workspaces/{workspaceId}/audit']!.get!.responses!['200']!.content!
    expect(Object.keys(audit).sort()).toEqual(['application/json', 'text/csv'])
    expect(Object.keys(audit['application/json']!.schema.properties as object)).toEqual(['items', 'nextCursor'])
    expect(audit['text/csv']!.schema.type).toBe('string')
    expect(spec.paths['/api/v1/auth/logout']!.post!.responses!['204']).toEqual({ description: 'No content' })
  })

  test('webhook endpoints and their delivery log: every success response has its schema; a secret only where it is made', async () => {
    await ready
    // By path: the "webhooks" tag is shared with the dead letters and WhatsApp's inbound webhooks. The live event
    // stream (events/stream) is not in scope: it answers Server-Sent Events, a `Response` stream.
    const webhooks = /^\/api\/v1\/workspaces\/\{workspaceId\}\/(webhooks|webhook-deliveries)(\/|$)/
    const scoped = operations().filter(({ path }) => webhooks.test(path))
    expect(scoped.length).toBeGreaterThanOrEqual(11)
    expect(successProblems(scoped)).toEqual([])

    type Schema = { properties: Record<string, Schema & { description?: string }>; items: Schema }
    const at = (path: string, method: string, code: string) =>
      spec.paths[`/api/v1/workspaces/{workspaceId}${path}`]![method]!.responses![code]!.content!['application/json']!
        .schema as never as Schema
    // The signing secret is in the two answers that make one, described as shown once, and in no endpoint view.
    for (const [path, code] of [
      ['/webhooks', '201'],
      ['/webhooks/{endpointId}/rotate-secret', '200'],
    ] as const) {
      const made = at(path, 'post', code)
      expect(Object.keys(made.properties)).toEqual(['endpoint', 'secret'])
      expect(made.properties.secret!.description).toContain('returned once')
    }
    const endpointFields = [
      'id',
      'url',
      'description',
      'eventTypes',
      'enabled',
      'disabledReason',
      'failingSince',
      'previousSecretUntil',
      'createdAt',
      'updatedAt',
    ]
    for (const view of [
      at('/webhooks', 'get', '200').properties.items!.items,
      at('/webhooks/{endpointId}', 'get', '200'),
      at('/webhooks/{endpointId}', 'patch', '200'),
      at('/webhooks', 'post', '201').properties.endpoint!,
      at('/webhooks/{endpointId}/rotate-secret', 'post', '200').properties.endpoint!,
    ])
      expect(Object.keys(view.properties)).toEqual(endpointFields)
    // A test event answers 202 with its (pending) delivery; a delivery carries its attempt log.
    const delivery = at('/webhooks/{endpointId}/test', 'post', '202')
    expect(Object.keys(delivery.properties)).toContain('log')
    expect(Object.keys(delivery.properties.log!.items.properties)).toEqual([
      'at',
      'statusCode',
      'latencyMs',
      'response',
      'error',
    ])
    expect(at('/webhook-deliveries', 'get', '200').properties.items!.items).toEqual(delivery)
    expect(spec.paths['/api/v1/workspaces/{workspaceId}/webhooks/{endpointId}']!.delete!.responses!['204']).toEqual({
      description: 'No content',
    })
  })

  test('conversations, messages and contacts: every success response has its schema; the views keep their fields', async () => {
    await ready
    // By path: a route added later under these paths without a `response` schema fails here. Two are not in scope:
    // sending (POST …/messages, the "sending" domain) and a message's media file (file bytes, not JSON).
    const inbox = /^\/api\/v1\/workspaces\/\{workspaceId\}\/(conversations|messages|contacts)(\/|$)/
    const elsewhere = new Set([
      'post /api/v1/workspaces/{workspaceId}/messages',
      'get /api/v1/workspaces/{workspaceId}/messages/{messageId}/media',
    ])
    const scoped = operations().filter(({ path, method }) => inbox.test(path) && !elsewhere.has(`${method} ${path}`))
    expect(scoped.length).toBeGreaterThanOrEqual(9)
    expect(successProblems(scoped)).toEqual([])

    type Schema = { properties: Record<string, Schema>; items: Schema; anyOf?: Schema[]; enum?: string[] }
    const at = (path: string, method: string) =>
      spec.paths[`/api/v1/workspaces/{workspaceId}${path}`]![method]!.responses!['200']!.content!['application/json']!
        .schema as never as Schema
    const keys = (s: Schema) => Object.keys(s.properties)
    const contactFields = [
      'id',
      'waId',
      'phone',
      'bsuid',
      'displayName',
      'name',
      'profileName',
      'username',
      'labels',
      'notes',
      'optedOut',
      'optedOutAt',
      'createdAt',
      'updatedAt',
    ]
    for (const view of [
      at('/contacts', 'get').properties.items!.items,
      at('/contacts/{contactId}', 'get'),
      at('/contacts/{contactId}', 'patch'),
    ])
      expect(keys(view)).toEqual(contactFields)
    const conversationFields = [
      'id',
      'channelId',
      'status',
      'assigneeUserId',
      'unreadCount',
      'lastMessageAt',
      'lastInboundAt',
      'lastMessagePreview',
      'contact',
      'createdAt',
    ]
    // The list carries a few contact fields; one conversation (read, updated, marked read) the whole contact.
    const listed = at('/conversations', 'get').properties.items!.items
    expect(keys(listed)).toEqual(conversationFields)
    expect(keys(listed.properties.contact!)).toEqual(['id', 'waId', 'displayName', 'phone', 'username'])
    for (const view of [at('/conversations/{conversationId}', 'get'), at('/conversations/{conversationId}', 'patch')]) {
      expect(keys(view)).toEqual(conversationFields)
      expect(keys(view.properties.contact!)).toEqual(contactFields)
    }
    const read = at('/conversations/{conversationId}/read', 'post')
    expect(keys(read)).toEqual([...conversationFields, 'readReceipt'])
    expect(read.properties.readReceipt!.enum).toEqual(['sent', 'failed', 'none'])
    // A message: every optional part (quote, error, pricing, media) is there as null when absent.
    const message = at('/messages/{messageId}', 'get')
    expect(keys(message)).toEqual([
      'id',
      'conversationId',
      'channelId',
      'wamid',
      'direction',
      'type',
      'text',
      'content',
      'replyTo',
      'quoted',
      'status',
      'statusAt',
      'error',
      'pricing',
      'media',
      'sentAt',
      'detail',
    ])
    expect(at('/conversations/{conversationId}/messages', 'get').properties.items!.items).toEqual(message)
    const nullable = (s: Schema) => s.anyOf!.find((a) => 'properties' in a)!
    expect(keys(nullable(message.properties.quoted!))).toEqual(['id', 'direction', 'type', 'text'])
    expect(keys(nullable(message.properties.error!))).toEqual(['code', 'title', 'details'])
    expect(keys(nullable(message.properties.media!))).toEqual(['mimeType', 'filename', 'size', 'state', 'sha256'])
    expect(message.properties.status!.enum).toContain('received')
  })

  test('security follows the access macro; parameters come from the validating schemas', async () => {
    await ready
    for (const { path, method, op } of operations()) {
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s)).sort()
      const rule = op['x-permission']
      const expected =
        rule === 'public'
          ? []
          : rule === 'metrics'
            ? ['metricsToken']
            : rule === 'authenticated' || rule === 'operator' || (op as Record<string, unknown>)['x-session-only']
              ? ['session']
              : ['apiKey', 'session']
      expect({ op: `${method} ${path}`, rule, schemes }).toEqual({ op: `${method} ${path}`, rule, schemes: expected })
      // Every path template variable is a documented path parameter.
      for (const name of path.match(/\{(\w+)\}/g) ?? [])
        expect(op.parameters?.some((p) => p.in === 'path' && `{${p.name}}` === name)).toBe(true)
    }
    expect(Object.keys(spec.components.securitySchemes).sort()).toEqual(['apiKey', 'metricsToken', 'session'])
    const limit = spec.paths['/api/v1/workspaces/{workspaceId}/conversations']!.get!.parameters!.find(
      (p) => p.name === 'limit',
    )!
    expect(limit.in).toBe('query')
    expect(typeof limit.schema?.maximum).toBe('number')
  })

  test('@redocly/cli lint (recommended rules): 0 errors', async () => {
    await ready
    const dir = tempDir('wabox-openapi')
    const file = join(dir, 'openapi.json')
    // The document exactly as served (not the parsed copy the other tests read).
    await Bun.write(file, await (await t.request('/docs/json')).text())
    await Bun.write(join(dir, 'redocly.yaml'), 'extends:\n  - recommended\n')
    // Runs under Bun (the CLI's own entry); no telemetry or update check from a test.
    const cli = join(import.meta.dir, '../../node_modules/@redocly/cli/bin/cli.js')
    const proc = Bun.spawn(
      [process.execPath, cli, 'lint', file, '--config', join(dir, 'redocly.yaml'), '--format', 'json'],
      {
        cwd: dir,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
        stdout: 'pipe',
        stderr: 'pipe',
      },
    )
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
    await proc.exited
    const report = JSON.parse(out.slice(out.indexOf('{'))) as {
      totals: { errors: number; warnings: number }
      problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[]
    }
    const lines = report.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`)
    console.log(
      `redocly lint: ${report.totals.errors} errors, ${report.totals.warnings} warnings${lines.length ? `\n  ${lines.join('\n  ')}` : ''}`,
    )
    expect({
      errors: report.problems
        .filter((p) => p.severity === 'error')
        .map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`),
      stderr: proc.exitCode === 0 ? '' : err.slice(0, 500),
    }).toEqual({ errors: [], stderr: '' })
  }, 60_000)
})
