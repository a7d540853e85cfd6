/**
 * The provider boundary, as a structure test: only a provider's own folder (src/channels/<provider>/) and the
 * registry that composes them (registry.ts, its routes registry.routes.ts, and its leaf list of names provider-names.ts) know which providers exist. Anywhere else in src/ (test files and the test
 * support in src/testing/ aside), code that names a provider — the string 'cloud' or 'qr', or an import from a
 * provider's folder — fails here; so does importing Baileys outside src/channels/qr/, src/testing/ included.
 * Comments may name providers: the files are parsed, and only string literals and module specifiers count.
 */
import { describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'

const SRC = resolve(import.meta.dir, '..')
const CHANNELS = join(SRC, 'channels')
const REGISTRY = join(CHANNELS, 'registry.ts')
/** The registry's HTTP side (the provider-only routes), kept apart so registry.ts imports nothing from src/http/. */
const REGISTRY_ROUTES = join(CHANNELS, 'registry.routes.ts')
/** The registry's leaf list of names: types can name the providers without importing their composition. */
const NAMES = join(CHANNELS, 'provider-names.ts')
const TESTING = join(SRC, 'testing')
const BAILEYS_HOME = join(CHANNELS, 'qr')

/** Each provider folder under src/channels/ (a folder with a name.ts), with the name it gives itself. */
const providers = readdirSync(CHANNELS)
  .map((entry) => join(CHANNELS, entry))
  .filter((path) => statSync(path).isDirectory() && statSync(join(path, 'name.ts'), { throwIfNoEntry: false }))
  .map((folder) => ({ folder, name: (require(join(folder, 'name.ts')) as { name: string }).name }))

type SourceFile = { path: string; text: string }

function sourceFiles(dir: string): SourceFile[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return /\.tsx?$/.test(entry) && !/\.test\.tsx?$/.test(entry) ? [{ path, text: readFileSync(path, 'utf8') }] : []
  })
}

const inside = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`)

type Finding = { file: string; line: number; what: string }

/** The string literals and module specifiers of a file, with their lines. */
function literalsOf(file: SourceFile) {
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true)
  const specifiers: { text: string; line: number }[] = []
  const strings: { text: string; line: number }[] = []
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart()).line + 1
  const visit = (node: ts.Node) => {
    const moduleSpecifier =
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier
        ? node.moduleSpecifier
        : ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword
          ? node.arguments[0]
          : ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)
            ? node.argument.literal
            : undefined
    if (moduleSpecifier && ts.isStringLiteralLike(moduleSpecifier))
      specifiers.push({ text: moduleSpecifier.text, line: lineOf(moduleSpecifier) })
    else if (ts.isStringLiteralLike(node) && !isSpecifierOf(node)) strings.push({ text: node.text, line: lineOf(node) })
    ts.forEachChild(node, visit)
  }
  visit(source)
  return { specifiers, strings }
}

/** Module specifiers are collected once, from their import; this keeps them out of the plain strings. */
function isSpecifierOf(node: ts.Node): boolean {
  const parent = node.parent
  return (
    ((ts.isImportDeclaration(parent) || ts.isExportDeclaration(parent)) && parent.moduleSpecifier === node) ||
    (ts.isCallExpression(parent) && parent.expression.kind === ts.SyntaxKind.ImportKeyword) ||
    (ts.isLiteralTypeNode(parent) && ts.isImportTypeNode(parent.parent))
  )
}

/** What a file outside the providers must not contain: provider names, imports from their folders, Baileys. */
function boundaryFindings(files: SourceFile[]): Finding[] {
  const names = new Set(providers.map((p) => p.name))
  const findings: Finding[] = []
  for (const source of files) {
    const file = source.path
    const mayNameProviders =
      file === REGISTRY ||
      file === REGISTRY_ROUTES ||
      file === NAMES ||
      inside(file, TESTING) ||
      providers.some((p) => inside(file, p.folder))
    const mayImportBaileys = inside(file, BAILEYS_HOME)
    const rel = relative(SRC, file)
    const { specifiers, strings } = literalsOf(source)
    for (const { text, line } of specifiers) {
      if (!mayImportBaileys && (text === 'baileys' || text.startsWith('baileys/')))
        findings.push({ file: rel, line, what: `imports ${text} (only src/channels/qr/ may)` })
      if (mayNameProviders || !text.startsWith('.')) continue
      const target = resolve(dirname(file), text)
      const provider = providers.find((p) => inside(target, p.folder))
      if (provider) findings.push({ file: rel, line, what: `imports ${text} from the ${provider.name} provider` })
    }
    if (mayNameProviders) continue
    for (const { text, line } of strings)
      if (names.has(text)) findings.push({ file: rel, line, what: `names the provider '${text}'` })
  }
  return findings
}

describe('the provider boundary', () => {
  test('each provider folder names itself after its folder (the registry collects the names)', () => {
    expect(providers.map((p) => ({ folder: relative(CHANNELS, p.folder), name: p.name }))).toEqual(
      providers.map((p) => ({ folder: p.name, name: p.name })),
    )
    expect(providers.length).toBeGreaterThanOrEqual(2)
  })

  test('outside src/channels/<provider>/ and the registry, no code names a provider or imports one; Baileys only in src/channels/qr/', () => {
    expect(boundaryFindings(sourceFiles(SRC))).toEqual([])
  })

  test('the check finds each kind of violation, and ignores comments', () => {
    const [first, second] = providers.map((p) => p.name)
    const probe = {
      path: join(SRC, 'messaging', 'probe.ts'),
      text: [
        `// A comment may say '${first}' and import from './${first}/x.ts'.`,
        `import type { WAMessage } from 'baileys'`,
        `import { name } from '../channels/${second}/name.ts'`,
        `export const kind = (p: string) => p === '${first}'`,
        `export const later = () => import(\`../channels/${first}/outbound.ts\`)`,
      ].join('\n'),
    }
    expect(boundaryFindings([probe])).toEqual([
      { file: 'messaging/probe.ts', line: 2, what: 'imports baileys (only src/channels/qr/ may)' },
      {
        file: 'messaging/probe.ts',
        line: 3,
        what: `imports ../channels/${second}/name.ts from the ${second} provider`,
      },
      {
        file: 'messaging/probe.ts',
        line: 5,
        what: `imports ../channels/${first}/outbound.ts from the ${first} provider`,
      },
      { file: 'messaging/probe.ts', line: 4, what: `names the provider '${first}'` },
    ])
    // The same text is allowed in the registry, and Baileys inside the QR folder; test support still may not import Baileys.
    expect(boundaryFindings([{ ...probe, path: REGISTRY }])).toEqual([
      { file: 'channels/registry.ts', line: 2, what: 'imports baileys (only src/channels/qr/ may)' },
    ])
    expect(boundaryFindings([{ ...probe, path: join(BAILEYS_HOME, 'probe.ts') }])).toEqual([])
    expect(boundaryFindings([{ ...probe, path: join(TESTING, 'probe.ts') }]).map((f) => f.what)).toEqual([
      'imports baileys (only src/channels/qr/ may)',
    ])
  })
})
