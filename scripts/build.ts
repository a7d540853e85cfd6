/**
 * Builds dist/wabox: one executable carrying the code, the migrations (static imports) and public/
 * (`--asset`). It reads no .env or bunfig.toml at run time: configuration is flags and WABOX_* only.
 */
import { $ } from 'bun'
import { resolve } from 'node:path'

const root = resolve(import.meta.dir, '..')
const outfile = process.argv[2] ? resolve(process.argv[2]) : resolve(root, 'dist/wabox')
process.chdir(root)
await $`bun build ./src/main.ts --compile --target=bun --minify-whitespace --minify-syntax --no-compile-autoload-dotenv --no-compile-autoload-bunfig --asset=public --outfile ${outfile}`
console.log(`built ${outfile}`)
