/**
 * Builds dist/wabox: one executable carrying the code, the migrations (static imports) and the admin UI.
 *
 * The UI (`ui/`, Preact + TSX) is bundled first into dist/ui: content-hashed files under /assets/ (served
 * `immutable`), an index.html that names them (served `no-cache`), and the files of `public/` that need no
 * build (the API reference page). dist/ui is then embedded with `--asset`. The executable reads no .env or
 * bunfig.toml at run time: configuration is flags and WABOX_* only.
 *
 * `bun run build --ui-only` stops after the UI (in-process tests and UI work need no new binary).
 */
import { $ } from 'bun'
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'

const root = resolve(import.meta.dir, '..')
const args = process.argv.slice(2)
const uiOnly = args.includes('--ui-only')
const outArg = args.find((a) => !a.startsWith('--'))
const outfile = outArg ? resolve(outArg) : resolve(root, 'dist/wabox')
process.chdir(root)

/** The whole app's JavaScript, gzipped, may not exceed this (issue 11's budget). */
const JS_BUDGET_GZIP = 150 * 1024

export async function buildUi(
  outdir = resolve(root, 'dist/ui'),
): Promise<{ js: string; css: string[]; gzipBytes: number }> {
  rmSync(outdir, { recursive: true, force: true })
  mkdirSync(outdir, { recursive: true })
  const result = await Bun.build({
    entrypoints: [resolve(root, 'ui/main.tsx')],
    outdir,
    target: 'browser',
    minify: true,
    splitting: false,
    naming: {
      entry: 'assets/[name]-[hash].[ext]',
      chunk: 'assets/[name]-[hash].[ext]',
      asset: 'assets/[name]-[hash].[ext]',
    },
    define: { 'process.env.NODE_ENV': '"production"' },
  })
  if (!result.success) {
    for (const log of result.logs) console.error(log)
    throw new Error('the UI bundle failed')
  }
  const outputs = result.outputs.map((o) => `/${o.path.slice(outdir.length + 1)}`)
  const js = outputs.find((p) => p.endsWith('.js'))
  const css = outputs.filter((p) => p.endsWith('.css'))
  if (!js) throw new Error('the UI bundle produced no script')
  let gzipBytes = 0
  for (const o of result.outputs) if (o.path.endsWith('.js')) gzipBytes += gzipSync(readFileSync(o.path)).byteLength
  if (gzipBytes > JS_BUDGET_GZIP)
    throw new Error(`the UI's JavaScript is ${gzipBytes} bytes gzipped, over the budget of ${JS_BUDGET_GZIP}`)
  const template = readFileSync(resolve(root, 'ui/index.html'), 'utf8')
  const html = template
    .replace('<!-- styles -->', css.map((href) => `<link rel="stylesheet" href="${href}">`).join('\n  '))
    .replace('<!-- script -->', `<script type="module" src="${js}"></script>`)
  writeFileSync(resolve(outdir, 'index.html'), html)
  // Files that need no build (the API reference page) keep their names.
  cpSync(resolve(root, 'public'), outdir, { recursive: true })
  copySwaggerUi(outdir)
  console.log(`built ${basename(outdir)}: ${js} (${(gzipBytes / 1024).toFixed(1)} KB gzipped)`)
  return { js, css, gzipBytes }
}

/**
 * The interactive API reference (/docs) is Swagger UI, served from the binary like the app: its bundle and styles
 * under a versioned /assets/ path (immutable), named in docs.html at build time.
 */
function copySwaggerUi(outdir: string): void {
  const from = resolve(root, 'node_modules/swagger-ui-dist')
  const { version } = JSON.parse(readFileSync(resolve(from, 'package.json'), 'utf8')) as { version: string }
  const to = resolve(outdir, `assets/swagger-ui-${version}`)
  mkdirSync(to, { recursive: true })
  for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css']) cpSync(resolve(from, file), resolve(to, file))
  const page = resolve(outdir, 'docs.html')
  writeFileSync(page, readFileSync(page, 'utf8').replaceAll('@VERSION@', version))
}

if (import.meta.main) {
  await buildUi()
  if (!uiOnly) {
    await $`bun build ./src/main.ts --compile --target=bun --minify-whitespace --minify-syntax --no-compile-autoload-dotenv --no-compile-autoload-bunfig --asset=dist/ui --outfile ${outfile}`
    console.log(`built ${outfile}`)
  }
}
