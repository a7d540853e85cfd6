/**
 * install.sh end to end: `--prefix` builds and installs a working binary (twice, idempotently), the
 * installed binary serves /readyz from an empty data directory and stops cleanly on SIGTERM, and an
 * unknown argument is refused. `--system` (users, systemd) is not exercised here; the unit it writes is,
 * through `--print-unit`: its hardening directives, the loopback bind behind a proxy, and (where
 * systemd-analyze exists) its `systemd-analyze security` exposure score.
 */
import { expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { unlessSettledWithin } from '../testing/wait.ts'

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
        unlessSettledWithin(Math.max(0, deadline - Date.now()), () => null),
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
      const exitCode = await Promise.race([proc.exited, unlessSettledWithin(20_000, () => 'timeout' as const)])
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

/** The directives the unit must carry (key → exact value). */
const HARDENING: Record<string, string> = {
  User: 'wabox',
  Group: 'wabox',
  UMask: '0077',
  NoNewPrivileges: 'yes',
  CapabilityBoundingSet: '',
  AmbientCapabilities: '',
  ProtectSystem: 'strict',
  ReadWritePaths: '/var/lib/wabox',
  ProtectHome: 'yes',
  PrivateTmp: 'yes',
  PrivateDevices: 'yes',
  ProtectProc: 'invisible',
  ProcSubset: 'pid',
  ProtectClock: 'yes',
  ProtectHostname: 'yes',
  ProtectKernelLogs: 'yes',
  ProtectKernelModules: 'yes',
  ProtectKernelTunables: 'yes',
  ProtectControlGroups: 'yes',
  LockPersonality: 'yes',
  RestrictNamespaces: 'yes',
  RestrictRealtime: 'yes',
  RestrictSUIDSGID: 'yes',
  RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX AF_NETLINK',
  SystemCallArchitectures: 'native',
  SystemCallErrorNumber: 'EPERM',
}

function directives(unit: string): Map<string, string[]> {
  const found = new Map<string, string[]>()
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line)
    if (m) found.set(m[1]!, [...(found.get(m[1]!) ?? []), m[2]!])
  }
  return found
}

/** `systemd-analyze security --offline=true` of a unit text; null where systemd-analyze is missing. */
function exposure(unit: string): number | null {
  if (!Bun.which('systemd-analyze')) return null
  const dir = mkdtempSync(join(tmpdir(), 'wabox-unit-'))
  try {
    const file = join(dir, 'wabox.service')
    writeFileSync(file, unit)
    const res = Bun.spawnSync(['systemd-analyze', 'security', '--offline=true', '--no-pager', file], {
      stdout: 'pipe',
      stderr: 'pipe',
      timeout: 60_000,
    })
    const out = res.stdout.toString() + res.stderr.toString()
    const m = /Overall exposure level for wabox\.service: ([0-9.]+)/.exec(out)
    if (!m) throw new Error(`systemd-analyze gave no score (exit ${res.exitCode}):\n${out}`)
    return Number(m[1])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('the systemd unit is hardened, binds 127.0.0.1 behind a proxy, and scores at most 2.5 in systemd-analyze security', () => {
  const direct = runInstall(['--print-unit'])
  const proxied = runInstall(['--print-unit', '--behind-proxy'])
  expect(direct.code).toBe(0)
  expect(proxied.code).toBe(0)
  for (const unit of [direct.out, proxied.out]) {
    const d = directives(unit)
    for (const [key, value] of Object.entries(HARDENING))
      expect({ key, values: d.get(key) }).toEqual({ key, values: [value] })
    expect(d.get('SystemCallFilter')).toEqual(['@system-service', '~@privileged'])
    // Bun's JIT maps writable and executable memory: this would kill it.
    expect(d.has('MemoryDenyWriteExecute')).toBe(false)
    expect(d.get('EnvironmentFile')).toEqual(['-/etc/wabox/wabox.env'])
  }
  const exec = (unit: string) => directives(unit).get('ExecStart')
  expect(exec(direct.out)).toEqual(['/usr/local/bin/wabox serve --data-dir /var/lib/wabox'])
  // A flag, so the environment file cannot widen it; trusted proxies as a default the file may replace.
  expect(exec(proxied.out)).toEqual(['/usr/local/bin/wabox serve --data-dir /var/lib/wabox --host 127.0.0.1'])
  expect(directives(proxied.out).get('Environment')).toEqual(['WABOX_TRUSTED_PROXIES=127.0.0.1,::1'])
  expect(directives(direct.out).has('Environment')).toBe(false)

  for (const unit of [direct.out, proxied.out]) {
    const score = exposure(unit)
    if (score === null) {
      console.warn('systemd-analyze is not installed: exposure score not measured')
      continue
    }
    expect(score).toBeLessThanOrEqual(2.5)
  }

  const misplaced = runInstall(['--prefix', '/nonexistent', '--behind-proxy'])
  expect(misplaced.code).not.toBe(0)
  expect(misplaced.out).toContain('--behind-proxy')
})
