/**
 * Runs the real compiled binary (dist/wabox) for end-to-end tests: start it on a free port, read its JSON
 * log lines, stop it with a signal. The binary is built once per test run if it is missing.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Subprocess } from 'bun'
import { unlessSettledWithin } from './wait.ts'

export const REPO_ROOT = resolve(import.meta.dir, '../..')
export const BINARY = resolve(REPO_ROOT, 'dist/wabox')

let building: Promise<void> | undefined
/** Builds dist/wabox when it does not exist (scripts/test.sh always builds it fresh first). */
export function ensureBinary(): Promise<void> {
  building ??= (async () => {
    if (existsSync(BINARY)) return
    const proc = Bun.spawn(['bun', 'run', 'scripts/build.ts'], { cwd: REPO_ROOT, stdout: 'inherit', stderr: 'inherit' })
    if ((await proc.exited) !== 0) throw new Error('building dist/wabox failed')
  })()
  return building
}

export type RunResult = { code: number; stdout: string; stderr: string }

/** Runs the binary to completion (CLI commands), optionally through a `prefix` command. */
export async function runBinary(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; prefix?: string[] } = {},
): Promise<RunResult> {
  await ensureBinary()
  const proc = Bun.spawn([...(opts.prefix ?? []), BINARY, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { code, stdout, stderr }
}

export type RunningServer = {
  url: string
  port: number
  proc: Subprocess<'ignore', 'pipe', 'pipe'>
  /** Every stdout line so far (JSON log lines). */
  lines: string[]
  stderr: () => string
  /** Sends `signal` and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number>
}

/**
 * Starts `wabox serve` on port 0 and resolves once it logs that it is listening. `prefix` runs it through
 * another command (e.g. `unshare --pid --fork` for another PID namespace).
 */
export async function startServer(opts: {
  cwd: string
  args?: string[]
  env?: Record<string, string>
  timeoutMs?: number
  prefix?: string[]
}): Promise<RunningServer> {
  await ensureBinary()
  const proc = Bun.spawn([...(opts.prefix ?? []), BINARY, '--port', '0', '--host', '127.0.0.1', ...(opts.args ?? [])], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const lines: string[] = []
  let errText = ''
  void (async () => {
    for await (const chunk of proc.stderr as unknown as AsyncIterable<Uint8Array>)
      errText += new TextDecoder().decode(chunk)
  })()
  const listening = new Promise<string>((resolveUrl, reject) => {
    void (async () => {
      let buffer = ''
      for await (const chunk of proc.stdout as unknown as AsyncIterable<Uint8Array>) {
        buffer += new TextDecoder().decode(chunk)
        let nl: number
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl)
          buffer = buffer.slice(nl + 1)
          lines.push(line)
          if (line.includes('"wabox listening"')) resolveUrl(JSON.parse(line).url)
        }
      }
      reject(new Error(`wabox exited before listening (code ${await proc.exited}): ${errText}`))
    })()
  })
  const timeout = unlessSettledWithin(opts.timeoutMs ?? 15_000, () => null).then(() => {
    throw new Error(`wabox did not start in time: ${errText}`)
  })
  let url: string
  try {
    url = await Promise.race([listening, timeout])
  } catch (err) {
    proc.kill('SIGKILL')
    throw err
  }
  return {
    url,
    port: Number(new URL(url).port),
    proc,
    lines,
    stderr: () => errText,
    stop: async (signal = 'SIGTERM') => {
      proc.kill(signal)
      return proc.exited
    },
  }
}
