/**
 * The shape of the code, checked: the production modules under src/ import each other without circles, and only
 * the HTTP edge (src/http/, app.ts, *.routes.ts, the CLI) reaches into src/http/. Imports are read with the
 * TypeScript parser, type-only ones included: a type is still a dependency of the design, even if the bundler
 * erases it.
 */
import { expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'

const root = join(import.meta.dir, '..')
const srcDir = join(root, 'src')

const isSource = (path: string) => /\.tsx?$/.test(path) && !path.endsWith('.d.ts')

/** Production code: not a test, not a test helper. */
function isProductionSource(path: string): boolean {
  const rel = relative(srcDir, path)
  return isSource(rel) && !rel.startsWith('testing/') && !/\.test\.tsx?$/.test(rel)
}

/** Every module specifier of a file's static `import … from`, `export … from` and `import x = require(…)`. */
function staticSpecifiers(path: string): string[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, false)
  const specifiers: string[] = []
  for (const statement of source.statements) {
    if (
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      specifiers.push(statement.moduleSpecifier.text)
    } else if (
      ts.isImportEqualsDeclaration(statement) &&
      ts.isExternalModuleReference(statement.moduleReference) &&
      ts.isStringLiteral(statement.moduleReference.expression)
    ) {
      specifiers.push(statement.moduleReference.expression.text)
    }
  }
  return specifiers
}

/** The file a relative specifier names (with or without its extension, or a folder's index); packages are not ours. */
function resolveLocal(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined
  const base = resolve(dirname(from), specifier)
  const candidates = [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts'), join(base, 'index.tsx')]
  return candidates.find((candidate) => existsSync(candidate) && candidate.match(/\.tsx?$/))
}

type Graph = Map<string, string[]>

/** The import graph of the files under src/ that `include` accepts, named relative to src/. */
function importGraph(include: (path: string) => boolean): Graph {
  const files = [...new Bun.Glob('**/*.{ts,tsx}').scanSync({ cwd: srcDir, absolute: true })].filter(include).sort()
  const graph: Graph = new Map()
  for (const file of files) {
    const targets = staticSpecifiers(file)
      .map((specifier) => resolveLocal(file, specifier))
      .filter((target): target is string => target !== undefined && include(target))
    graph.set(relative(srcDir, file), [...new Set(targets.map((target) => relative(srcDir, target)))].sort())
  }
  return graph
}

/** The strongly connected components with more than one module, or a module importing itself (Tarjan). */
function tangledComponents(graph: Graph): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  const visit = (node: string) => {
    index.set(node, next)
    low.set(node, next)
    next++
    stack.push(node)
    onStack.add(node)
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target)
        low.set(node, Math.min(low.get(node)!, low.get(target)!))
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!))
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) components.push(component.sort())
    }
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return components
}

/** The shortest import path from `start` back to itself, staying inside `within`. */
function shortestCycle(graph: Graph, start: string, within: Set<string>): string[] {
  const cameFrom = new Map<string, string>()
  const queue = [start]
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!
    for (const target of graph.get(node) ?? []) {
      if (!within.has(target)) continue
      if (target === start) {
        const path = [start]
        for (let step: string | undefined = node; step !== start && step !== undefined; step = cameFrom.get(step)) {
          path.splice(1, 0, step)
        }
        return [...path, start]
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, node)
        queue.push(target)
      }
    }
  }
  return [start]
}

/** Cycles, as paths, until every module of every tangled component appears in at least one of them. */
export function importCycles(graph: Graph): string[][] {
  const cycles: string[][] = []
  for (const component of tangledComponents(graph)) {
    const within = new Set(component)
    const covered = new Set<string>()
    for (const member of component) {
      if (covered.has(member)) continue
      const cycle = shortestCycle(graph, member, within)
      for (const step of cycle) covered.add(step)
      cycles.push(cycle)
    }
  }
  return cycles
}

test('the production modules import each other without circles', () => {
  const cycles = importCycles(importGraph(isProductionSource)).map((cycle) => cycle.join(' → '))
  expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([])
})

test('the cycle finder sees a circle through type-only imports, and none in a tree', () => {
  const tangled: Graph = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts', 'd.ts']],
    ['d.ts', []],
  ])
  expect(importCycles(tangled)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']])
  expect(importCycles(new Map([['self.ts', ['self.ts']]]))).toEqual([['self.ts', 'self.ts']])
  const tree: Graph = new Map([
    ['a.ts', ['b.ts', 'c.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', []],
  ])
  expect(importCycles(tree)).toEqual([])
  // The parser reads `import type` and `export … from` as dependencies too.
  const graph = importGraph(isProductionSource)
  expect(graph.get('app.ts')).toContain('runtime.ts')
  expect(graph.get('deps.ts')).toContain('config.ts')
  expect(graph.get('health/health.routes.ts')).toContain('http/auth.plugin.ts') // `import type` only
})

/** Who may import from src/http/: the HTTP edge itself, the composition root, the routes, the CLI, test helpers. */
function mayUseHttp(module: string): boolean {
  return (
    module.startsWith('http/') ||
    module === 'app.ts' ||
    module.endsWith('.routes.ts') ||
    module.startsWith('cli/') ||
    module.startsWith('testing/')
  )
}

test('only the HTTP edge imports from src/http/ (services never see HTTP)', () => {
  const violations: string[] = []
  // Every file under src/, tests included: a service's tests have no business with HTTP internals either.
  for (const [module, targets] of importGraph(isSource)) {
    if (mayUseHttp(module)) continue
    for (const target of targets) if (target.startsWith('http/')) violations.push(`${module} → ${target}`)
  }
  expect(violations, `imports of src/http/ outside the HTTP edge:\n${violations.join('\n')}`).toEqual([])
})
