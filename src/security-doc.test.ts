/**
 * SECURITY.md cites its evidence: every file it names in backticks (src/…, ui/…, deploy/…) must exist, and
 * every proof — `path/to/x.test.ts` › “title” — must name a test file that holds a test with exactly that title.
 * Renaming or deleting a test that the security page relies on fails here, so the page cannot drift.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dir, '..')
const doc = readFileSync(join(root, 'SECURITY.md'), 'utf8')

/** `src/…` / `ui/…` / `deploy/…` paths in backticks (globs and route patterns excluded). */
export function namedPaths(text: string): string[] {
  const paths = new Set<string>()
  for (const m of text.matchAll(/`((?:src|ui|deploy)\/[^`\s*]+)`/g)) paths.add(m[1]!)
  return [...paths]
}

/** Proofs: a backticked test file, then ›, then the test's title in curly quotes. */
export function proofs(text: string): { file: string; title: string }[] {
  return [...text.matchAll(/`((?:src|ui)\/[^`\s]+\.test\.ts)`\s*›\s*“([^”]+)”/g)].map((m) => ({
    file: m[1]!,
    title: m[2]!,
  }))
}

/** A test title is a whole string literal in the file: '…', "…" or `…`. */
export function hasTitle(source: string, title: string): boolean {
  return ["'", '"', '`'].some((q) => source.includes(`${q}${title}${q}`))
}

describe('SECURITY.md cites real evidence', () => {
  test('the parser finds proofs, paths and whole titles only', () => {
    const sample = 'x `src/a.test.ts` › “one title” and `ui/e2e/b.test.ts` ›  “two” `src/a.ts` `src/**/*.test.ts`'
    expect(proofs(sample)).toEqual([
      { file: 'src/a.test.ts', title: 'one title' },
      { file: 'ui/e2e/b.test.ts', title: 'two' },
    ])
    expect(namedPaths(sample)).toEqual(['src/a.test.ts', 'ui/e2e/b.test.ts', 'src/a.ts'])
    expect(hasTitle("test('one title', () => {})", 'one title')).toBe(true)
    expect(hasTitle("test('one title and more', () => {})", 'one title')).toBe(false)
  })

  test('every file it names exists', () => {
    const paths = namedPaths(doc)
    expect(paths.filter((p) => p.endsWith('.test.ts')).length).toBeGreaterThanOrEqual(20)
    const missing = paths.filter((p) => !existsSync(join(root, p)))
    expect(missing).toEqual([])
  })

  test('every proof names a test that exists, by its exact title', () => {
    const all = proofs(doc)
    expect(all.length).toBeGreaterThanOrEqual(40)
    const wrong = all.filter(({ file, title }) => {
      const path = join(root, file)
      return !existsSync(path) || !hasTitle(readFileSync(path, 'utf8'), title)
    })
    expect(wrong).toEqual([])
  })

  test('no proof is malformed: each quoted title on a proof line belongs to a test file', () => {
    const bad: string[] = []
    for (const line of doc.split('\n')) {
      if (!line.includes('**Proof:**') && !/^\s+`(src|ui)\/[^`]+\.test\.ts` ›/.test(line)) continue
      const quoted = (line.match(/“/g) ?? []).length
      if (quoted !== proofs(line).length) bad.push(line)
    }
    expect(bad).toEqual([])
  })

  test('it says how to report a vulnerability, without a placeholder', () => {
    expect(doc).toContain('## Reporting a vulnerability')
    expect(doc).toMatch(/private (security advisory|vulnerability reporting)/)
    expect(doc).not.toMatch(/security@example|<[a-z-]*email[a-z-]*>|TODO|FIXME|XXX/i)
  })
})
