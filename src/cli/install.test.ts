/**
 * install.sh end to end: `--prefix` builds and installs a working binary (twice, idempotently), the
 * installed binary serves /readyz from an empty data directory and stops cleanly on SIGTERM, and an
 * unknown argument is refused. `--system` (users, systemd) is not exercised here.
 */
import { expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dir, '..', '..')
const installSh = join(root, 'install.sh')
const pkgVersion: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version

function runInstall(args: string[]) {
  const res = Bun.spawnSync(['bash', installSh, ...args], {
    cwd: root,
    env: process.env,
    stdout: 'pipe',
    stderr: 'pipe',
    timeout: 240_000,
  })
  return { code: res.exitCode, out: res.stdout.toString() + res.stderr.toString() }
}

/** Reads JSON log lines from stdout until one says "wabox listening"; returns its url. */
async function waitForListening(stream: ReadableStream<Uint8Array>, timeoutMs: number): Promise<string> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  let buffered = ''
  const deadline = Date.now() + timeoutMs
  try {
    while (Date.now() < deadline) {
      const chunk = await Promise.race([
        reader.read(),
        Bun.sleep(Math.max(0, deadline - Date.now())).then(() => null),
      ])
      if (chunk === null) break
      if (chunk.done) throw new Error(`wabox exited before listening; output:\n${buffered}`)
      buffered += decoder.decode(chunk.value, { stream: true })
      for (const line of buffered.split('\n')) {
        if (!line.includes('wabox listening')) continue
        const entry = JSON.parse(line) as { msg: string; url: string }
        expect(entry.msg).toBe('wabox listening')
        return entry.url
      }
    }
    throw new Error(`timed out waiting for "wabox listening"; output:\n${buffered}`)
  } finally {
    reader.releaseLock()
  }
}

test(
  'install.sh --prefix installs a working binary, and re-running it succeeds',
  async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'wabox-install-'))
    let proc: ReturnType<typeof Bun.spawn> | undefined
    try {
      const prefix = join(tmp, 'prefix')
      for (const round of [1, 2]) {
        const res = runInstall(['--prefix', prefix])
        if (res.code !== 0) console.error(`install.sh round ${round} output:\n${res.out}`)
        expect(res.code).toBe(0)
        expect(res.out).toContain(`${prefix}/bin/wabox`)
      }

      const bin = join(prefix, 'bin', 'wabox')
      const st = statSync(bin)
      expect(st.isFile()).toBe(true)
      expect(st.mode & 0o111).toBe(0o111)

      const version = Bun.spawnSync([bin, '--version'], { stdout: 'pipe', stderr: 'pipe' })
      expect(version.exitCode).toBe(0)
      expect(version.stdout.toString().trim()).toBe(pkgVersion)

      // Start the installed binary from an empty directory, away from the source tree.
      const work = join(tmp, 'work')
      const dataDir = join(tmp, 'data')
      mkdirSync(work)
      const env: Record<string, string> = {}
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WABOX_') && v !== undefined) env[k] = v
      proc = Bun.spawn([bin, 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir], {
        cwd: work,
        env,
        stdout: 'pipe',
        stderr: 'inherit',
      })
      const url = await waitForListening(proc.stdout as ReadableStream<Uint8Array>, 30_000)
      const port = Number(new URL(url).port)
      expect(port).toBeGreaterThan(0)

      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(10_000) })
      expect(res.status).toBe(200)
      const body = (await res.json()) as { ready: unknown }
      expect(body.ready).toBe(true)

      expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600)

      proc.kill('SIGTERM')
      const exitCode = await Promise.race([proc.exited, Bun.sleep(20_000).then(() => 'timeout' as const)])
      expect(exitCode).toBe(0)
    } finally {
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL')
        await proc.exited
      }
      rmSync(tmp, { recursive: true, force: true })
    }
  },
  { timeout: 300_000 },
)

test('install.sh rejects an unknown argument', () => {
  const res = runInstall(['--bogus'])
  expect(res.code).not.toBe(0)
  expect(res.out).toContain('unknown argument')
})
