import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { jsonShapeProblem, MAX_JSON_DEPTH } from './json-guard.ts'
import { createTestApp } from '../testing/test-app.ts'

/** The nesting depth of a parsed JSON value (a scalar is 0, `[]` is 1). */
const depthOf = (v: unknown): number =>
  v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0
const nested = (n: number) => '['.repeat(n) + ']'.repeat(n)

describe('the JSON shape check', () => {
  test('depth is counted outside strings only; 64 levels pass, 65 do not', () => {
    expect(jsonShapeProblem(nested(MAX_JSON_DEPTH))).toBeNull()
    expect(jsonShapeProblem(nested(MAX_JSON_DEPTH + 1))).toBe('it is nested deeper than 64 levels')
    // Brackets inside strings, escaped quotes included, are text.
    expect(jsonShapeProblem(JSON.stringify({ a: '['.repeat(1000), b: '\\"[[[[', c: '"{{{{' }))).toBeNull()
    expect(jsonShapeProblem(`{"a":"\\\\"${'['.repeat(65)}`)).toBe('it is nested deeper than 64 levels')
  })

  test('the total depth of all values is bounded when asked (a wide body a few dozen levels deep)', () => {
    const wide = (depth: number, values: number) =>
      '['.repeat(depth) + Array(values).fill('0').join(',') + ']'.repeat(depth)
    expect(jsonShapeProblem(wide(2, 1000), { maxWeight: 10_000 })).toBeNull()
    expect(jsonShapeProblem(wide(40, 1000), { maxWeight: 10_000 })).toBe('its values nest too deeply for its size')
    expect(jsonShapeProblem(wide(40, 1000))).toBeNull()
  })

  test('property: the verdict on depth is the parsed value’s real depth', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 0, max: 12 }), (value, limit) => {
        const text = JSON.stringify(value)
        const refused = jsonShapeProblem(text, { maxDepth: limit }) !== null
        return refused === depthOf(JSON.parse(text)) > limit
      }),
      { numRuns: 500 },
    )
  })
})

describe('deeply nested bodies over HTTP', () => {
  test('100,000 levels to login, setup and invite acceptance: 400 in milliseconds, and the next request is served', async () => {
    const t = await createTestApp()
    const body = nested(100_000)
    for (const path of ['/api/v1/auth/login', '/api/v1/setup', '/api/v1/invites/accept']) {
      const started = performance.now()
      const res = await t.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      expect({ path, fast: performance.now() - started < 250 }).toEqual({ path, fast: true })
      expect(res.status).toBe(400)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(await res.json()).toMatchObject({
        code: 'json_too_complex',
        detail: 'The request body is refused: it is nested deeper than 64 levels.',
      })
    }
    // 64 levels of a wide array, under the body limit: refused before it is walked, too.
    const wide = `{"email":${'['.repeat(60)}${Array(200_000).fill('0').join(',')}${']'.repeat(60)}}`
    const started = performance.now()
    const res = await t.request('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: wide,
    })
    expect(performance.now() - started).toBeLessThan(250)
    expect((await res.json()).code).toBe('json_too_complex')
    const normal = await t.request('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'nobody@example.com', password: 'a wrong password' }),
    })
    expect(normal.status).toBe(401)
    expect(t.logLines.filter((l) => l.includes('unhandled error'))).toEqual([])
  })
})
