/**
 * The formatter and linter (Biome, pinned; configuration in biome.jsonc) over the whole code base: a file that is
 * not formatted, or breaks a lint rule, fails the suite with Biome's own report.
 */
import { expect, test } from 'bun:test'
import { join } from 'node:path'

test('biome ci: every file is formatted and passes the lint rules', () => {
  const root = join(import.meta.dir, '..')
  const run = Bun.spawnSync([join(root, 'node_modules/.bin/biome'), 'ci', '--colors=off', '.'], {
    cwd: root,
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const report = `${run.stdout.toString()}\n${run.stderr.toString()}`
  expect(report, report).not.toContain('×')
  expect(run.exitCode).toBe(0)
})
