/**
 * `wabox healthcheck`: asks the server this configuration describes (same --port, --host, --tls-cert as `serve`)
 * for /readyz and exits 0 only on a 200. Container health checks run it directly (exec form), so the image needs no
 * shell and no HTTP client. It always asks on this machine: a wildcard bind is probed on 127.0.0.1 (or ::1).
 */
import type { Config } from '../config.ts'

/** What a probe may take before it counts as a failure (Docker's own --timeout should be a little longer). */
const PROBE_TIMEOUT_MS = 2_500

export function probeUrl(config: Pick<Config, 'host' | 'port' | 'tlsCert'>): string {
  const host =
    config.host === '0.0.0.0' || config.host === 'localhost'
      ? '127.0.0.1'
      : config.host === '::'
        ? '[::1]'
        : config.host.includes(':')
          ? `[${config.host}]`
          : config.host
  return `${config.tlsCert ? 'https' : 'http'}://${host}:${config.port}/readyz`
}

export async function healthcheck(config: Config, out: (line: string) => void): Promise<void> {
  const url = probeUrl(config)
  let res: Response
  try {
    res = await fetch(url, {
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      redirect: 'manual',
      // The certificate names the public host, not the loopback address probed here: the probe checks the server is
      // ready, not who it is (it never leaves this machine).
      tls: { rejectUnauthorized: false },
    })
  } catch (err) {
    process.stderr.write(`wabox: not ready: ${url} could not be reached (${(err as Error).message})\n`)
    process.exit(1)
  }
  const body = (await res.text()).slice(0, 4_000)
  if (res.status !== 200) {
    let reason = `HTTP ${res.status}`
    try {
      // /readyz names each check that failed: { ready: false, checks: { writes: { ok: false, detail } } }.
      const { checks } = JSON.parse(body) as { checks?: Record<string, { ok?: boolean; detail?: string }> }
      const failed = Object.entries(checks ?? {}).filter(([, c]) => c?.ok === false)
      if (failed.length) reason += `: ${failed.map(([name, c]) => `${name} ${c.detail ?? 'failed'}`).join('; ')}`
    } catch {
      // not JSON: the status says enough
    }
    process.stderr.write(`wabox: not ready: ${url} answered ${reason}\n`)
    process.exit(1)
  }
  out(`ready: ${url}`)
}
