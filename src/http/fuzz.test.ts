/**
 * Fuzzing every operation of the OpenAPI document (in process, through the whole pipeline): malformed,
 * oversized, deeply nested (1,000 levels) and wrongly typed inputs in the body, the query and the path, as an
 * authenticated owner who is also the instance operator (so every access check passes and the inputs reach
 * validation and the handlers), and anonymously for public operations.
 *
 * Asserted: no answer ≥ 500, no stack trace or source path in any body, and no request slower than a generous
 * hang bound (HANG_MS). The 100 ms target is reported (the distribution and the slowest requests are printed),
 * not asserted: the suite makes no timed assertions about performance on a shared machine.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { createSession } from '../auth/sessions.ts'
import * as membershipsRepo from '../workspaces/memberships.repo.ts'
import { createTestApp, TEST_PEER_HEADER, type TestApp } from '../testing/test-app.ts'
import { addMember, buildWorld, makeUser, makeWorkspace, withCookie, type FixtureUser } from '../testing/fixtures.ts'

type Schema = {
  type?: string | string[]
  properties?: Record<string, Schema>
  items?: Schema
  enum?: unknown[]
  anyOf?: Schema[]
  oneOf?: Schema[]
  format?: string
}
type Param = { name: string; in: string; schema?: Schema }
type Op = {
  parameters?: Param[]
  requestBody?: { content: Record<string, { schema: Schema }> }
  'x-permission'?: string
}
type Input = {
  label: string
  realIds?: boolean
  path?: Record<string, string>
  query?: Record<string, string>
  body?: { type: string; text: string | FormData }
}
type Outcome = { op: string; input: string; who: string; status: number; ms: number; problem: string; type: string }

const INPUTS_PER_OPERATION = 6
const HANG_MS = 2_000
const TARGET_MS = 100
const DEPTH = 1_000

const STACK_TRACE = /^\s+at \S.*[(:]/m
const SOURCE_PATH = /(?:\/[\w.@+-]+)+\.(?:ts|tsx|js|mjs|cjs)\b(?::\d+)?|node_modules\/|\/work\/|\/src\//

const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`
const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n)
const typeOf = (s: Schema | undefined): string => {
  if (!s) return 'any'
  if (Array.isArray(s.type)) return s.type.find((t) => t !== 'null') ?? 'any'
  if (s.type) return s.type
  const alt = s.anyOf ?? s.oneOf
  return alt ? typeOf(alt.find((a) => a.type !== 'null')) : s.enum ? typeof s.enum[0] : 'any'
}

/** A value of the wrong JSON type for `schema`. */
function wrongValue(schema: Schema | undefined, depth = 0): unknown {
  switch (typeOf(schema)) {
    case 'string':
      return depth % 2 ? { not: 'a string' } : 12345
    case 'number':
    case 'integer':
      return depth % 2 ? [1, 2] : '1e309'
    case 'boolean':
      return 'yes'
    case 'array':
      return { 0: 'not an array' }
    case 'object':
      return depth > 2
        ? 'not an object'
        : Object.fromEntries(
            Object.entries(schema?.properties ?? { x: {} }).map(([k, v]) => [k, wrongValue(v, depth + 1)]),
          )
    default:
      return [null, { __proto__: { polluted: true } }]
  }
}

/** Boundary values of (almost) the right shape: huge strings and numbers, prototype keys, odd unicode. */
function edgeValue(schema: Schema | undefined, depth = 0): unknown {
  switch (typeOf(schema)) {
    case 'string':
      return schema?.enum ? 'not-one-of-them' : `\u0000\uFFFF\uD800 ${'x'.repeat(20_000)}`
    case 'number':
    case 'integer':
      return depth % 2 ? -1e308 : Number.MAX_SAFE_INTEGER * 1024
    case 'boolean':
      return null
    case 'array':
      return Array.from({ length: 2_000 }, () => edgeValue(schema?.items, depth + 1))
    case 'object':
      return depth > 3
        ? {}
        : {
            ...Object.fromEntries(
              Object.entries(schema?.properties ?? {}).map(([k, v]) => [k, edgeValue(v, depth + 1)]),
            ),
            constructor: { prototype: { x: 1 } },
            ['__proto__']: { admin: true },
          }
    default:
      return ''
  }
}

/** A wrong query value for a parameter of `schema`'s type. */
function wrongQuery(schema: Schema | undefined): string {
  switch (typeOf(schema)) {
    case 'number':
    case 'integer':
      return 'NaN'
    case 'boolean':
      return 'maybe'
    default:
      return schema?.enum ? 'zzz' : '%%%'
  }
}

function inputsFor(op: Op, bodyLimit: number): Input[] {
  const params = op.parameters ?? []
  const queryParams = params.filter((p) => p.in === 'query')
  const bodyEntry = Object.entries(op.requestBody?.content ?? {})[0]
  const bodyType = bodyEntry?.[0] ?? 'application/json'
  const bodySchema = bodyEntry?.[1].schema
  const json = (value: unknown) => ({ type: 'application/json', text: JSON.stringify(value) })
  const allQuery = (value: (p: Param) => string) =>
    Object.fromEntries([
      ...queryParams.map((p) => [p.name, value(p)]),
      ['unknown', value({ name: 'unknown', in: 'query' })],
    ])
  const allPath = (value: string) =>
    Object.fromEntries(params.filter((p) => p.in === 'path' && p.name !== 'workspaceId').map((p) => [p.name, value]))
  const random = fc.sample(fc.jsonValue({ maxDepth: 6 }), { seed: 20261204, numRuns: 4 })
  const inputs: Input[] = [
    // 1. Malformed: broken JSON, control characters and traversal in the path, garbage in the query.
    {
      label: 'malformed',
      path: allPath('..%2F..%2Fetc%2Fpasswd%00'),
      query: allQuery(() => '%E0%A4%A'),
      body: { type: 'application/json', text: '{"a": [1, 2,, }' },
    },
    // 2. Oversized: a body over the limit, a 20 KB path segment, 20 KB query values.
    {
      label: 'oversized',
      path: allPath('p'.repeat(20_000)),
      query: allQuery(() => 'q'.repeat(20_000)),
      body: { type: 'application/json', text: JSON.stringify('a'.repeat(bodyLimit + 1)) },
    },
    // 3. Deeply nested: 1,000 levels of objects in the body, of brackets in the query.
    {
      label: 'nested',
      path: allPath('%5B'.repeat(200)),
      query: allQuery(() => '['.repeat(DEPTH) + ']'.repeat(DEPTH)),
      body: { type: 'application/json', text: deepObject(DEPTH) },
    },
    // 4. Wrongly typed: every field and parameter of the wrong type; the workspace id wrong too.
    {
      label: 'wrong types',
      path: { ...allPath('12345'), workspaceId: '-1' },
      query: allQuery((p) => wrongQuery(p.schema)),
      body: json(wrongValue(bodySchema)),
    },
    // 5. Boundary values of the right shape, and a wrong content type when the route takes JSON.
    // (With the real ids of a populated workspace, so that values that pass validation reach the handlers.)
    {
      label: 'edge values',
      realIds: true,
      path: allPath(`ws_${'é'.repeat(50)}`),
      query: allQuery((p) => (typeOf(p.schema) === 'string' ? `\u202e${'x'.repeat(5_000)}` : '-9007199254740993')),
      body: json(edgeValue(bodySchema)),
    },
    // 6. fast-check: random JSON bodies (and 1,000-deep arrays as a fallback shape), random path and query values.
    {
      label: 'random',
      path: allPath(encodeURIComponent(String(random[0]).slice(0, 200) || '0')),
      query: allQuery(() => JSON.stringify(random[1]).slice(0, 2_000)),
      body:
        bodyType === 'multipart/form-data'
          ? { type: 'text/plain', text: deepArray(DEPTH) }
          : json(random[2] ?? random[3]),
    },
  ]
  if (bodyType === 'multipart/form-data') {
    // Uploads: a form with the wrong fields and a file of the wrong type stands in for the wrongly typed body.
    const form = new FormData()
    form.set('channelId', deepObject(50))
    form.set('file', new File([new Uint8Array(1024)], '../../evil.exe', { type: 'application/x-msdownload' }))
    inputs[3]!.body = { type: 'multipart/form-data', text: form }
  }
  return inputs.slice(0, INPUTS_PER_OPERATION)
}

let t: TestApp
let owner: FixtureUser
/** A populated workspace (members, invite, keys, QR channel, webhook endpoint and delivery) and its objects' ids. */
let real: Record<string, string> = {}
const outcomes: Outcome[] = []

afterAll(async () => {
  await t?.close()
})

async function send(
  method: string,
  path: string,
  op: Op,
  input: Input,
  who: 'owner' | 'anonymous',
  workspaceId: string,
): Promise<Outcome> {
  // An input that passes validation may act (POST …/leave needs no body): the owner rejoins the populated workspace.
  if (input.realIds && !(await membershipsRepo.findMembership(t.db.db, real.workspaceId!, owner.id)))
    await addMember(t, real.workspaceId!, owner, 'owner')
  const values: Record<string, string> = input.realIds ? { ...input.path, ...real } : { workspaceId, ...input.path }
  const url = path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? 'x')
  const query = new URLSearchParams(input.query ?? {}).toString()
  const headers: Record<string, string> = { [TEST_PEER_HEADER]: '127.0.0.1' }
  if (who === 'owner') {
    // A fresh session per request: a fuzzed input that signs out or changes the password cannot end the run.
    const { token } = await createSession(t.db.db, t.clock, owner.id, {
      ip: '127.0.0.1',
      requestId: 'fuzz',
      userAgent: 'fuzz',
      at: t.clock.now(),
    })
    Object.assign(headers, withCookie(`wabox_session=${token}`).headers)
  }
  for (const p of op.parameters ?? []) if (p.in === 'header') headers[p.name] = 'k'.repeat(300)
  const init: RequestInit = { method: method.toUpperCase(), headers }
  if (input.body && method !== 'get' && method !== 'head') {
    if (typeof input.body.text === 'string') headers['content-type'] = input.body.type
    init.body = input.body.text
  }
  const started = performance.now()
  const res = await t.request(url + (query ? `?${query}` : ''), init)
  let text = ''
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) await res.body?.cancel()
  else text = await res.text()
  const ms = performance.now() - started
  const leak = STACK_TRACE.test(text) || SOURCE_PATH.test(text) ? text.slice(0, 300) : ''
  return {
    op: `${method.toUpperCase()} ${path}`,
    input: input.label,
    who,
    status: res.status,
    ms,
    problem: leak,
    type: res.headers.get('content-type') ?? '',
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0

describe('fuzzing every OpenAPI operation', () => {
  test('the leak detectors recognise a stack trace and source paths, not ordinary problems', () => {
    const trace =
      'TypeError: x is undefined\n    at handler (/work/main/src/messaging/messaging.routes.ts:42:7)\n    at async run (native)'
    expect(STACK_TRACE.test(trace)).toBe(true)
    expect(SOURCE_PATH.test('failed in /app/node_modules/elysia/dist/index.mjs:10')).toBe(true)
    expect(SOURCE_PATH.test('see src/http/errors.ts')).toBe(true)
    const problem = JSON.stringify({
      type: 'urn:wabox:problem:validation_failed',
      title: 'Unprocessable Content',
      detail: 'Invalid body: at — Expected string',
      code: 'validation_failed',
    })
    expect(STACK_TRACE.test(problem) || SOURCE_PATH.test(problem)).toBe(false)
  })

  test(`${INPUTS_PER_OPERATION} hostile inputs per operation: no 5xx, no stack trace, no hang`, async () => {
    t = await createTestApp()
    owner = await makeUser(t, 'fuzz-owner@a.example', { operator: true })
    const world = await buildWorld(t)
    await addMember(t, world.a.id, owner, 'owner')
    real = {
      workspaceId: world.a.id,
      userId: world.a.target.id,
      inviteId: world.a.inviteId,
      keyId: world.a.targetKey.id,
      channelId: world.a.qrChannelId,
      endpointId: world.a.hooks.endpointId,
      deliveryId: world.a.hooks.deliveryId,
    }
    const spec = (await (await t.request('/docs/json')).json()) as { paths: Record<string, Record<string, Op>> }
    const operations = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method, op })),
    )
    expect(operations.length).toBeGreaterThanOrEqual(60)
    for (const { path, method, op } of operations) {
      // A fresh workspace per operation: a fuzzed input that deletes or changes one cannot spoil the next.
      const workspaceId = await makeWorkspace(t, 'Fuzz', owner)
      for (const input of inputsFor(op, t.config.bodyLimit)) {
        outcomes.push(await send(method, path, op, input, 'owner', workspaceId))
        if (op['x-permission'] === 'public')
          outcomes.push(await send(method, path, op, input, 'anonymous', workspaceId))
      }
    }
    const times = outcomes.map((o) => o.ms).sort((a, b) => a - b)
    const slowest = [...outcomes].sort((a, b) => b.ms - a.ms).slice(0, 8)
    const byStatus = Object.entries(Object.groupBy(outcomes, (o) => String(o.status))).map(
      ([s, list]) => `${s}×${list!.length}`,
    )
    console.log(
      `fuzz: ${outcomes.length} requests over ${operations.length} operations; statuses ${byStatus.join(' ')}\n` +
        `  latency ms: p50 ${percentile(times, 50).toFixed(1)}, p95 ${percentile(times, 95).toFixed(1)}, p99 ${percentile(times, 99).toFixed(1)}, max ${times.at(-1)!.toFixed(1)}; ` +
        `${outcomes.filter((o) => o.ms > TARGET_MS).length} over the ${TARGET_MS} ms target\n` +
        `  slowest:\n${slowest.map((o) => `    ${o.ms.toFixed(1)} ms ${o.status} ${o.op} [${o.input}, ${o.who}]`).join('\n')}`,
    )
    // Errors are problem+json (RFC 9457) everywhere.
    const notProblem = outcomes.filter((o) => o.status >= 400 && !o.type.startsWith('application/problem+json'))
    if (notProblem.length)
      console.log(
        `  4xx without problem+json: ${[...new Set(notProblem.map((o) => `${o.status} ${o.op} (${o.type || 'no type'})`))].join('; ')}`,
      )
    const fmt = (o: Outcome) => `${o.status} ${o.op} [${o.input}, ${o.who}]${o.problem ? `: ${o.problem}` : ''}`
    expect(outcomes.filter((o) => o.status >= 500).map(fmt)).toEqual([])
    expect(outcomes.filter((o) => o.problem).map(fmt)).toEqual([])
    expect(outcomes.filter((o) => o.ms > HANG_MS).map((o) => `${o.ms.toFixed(0)} ms ${fmt(o)}`)).toEqual([])
  }, 180_000)
})
