/**
 * Which WhatsApp Web revision QR-linked sockets announce. Baileys ships one fixed revision; when WhatsApp retires it,
 * every connection is refused with 405 and a socket that kept retrying would show "reconnecting" forever. The
 * `qr-wa-version` setting picks: `bundled` (Baileys' own), a fixed `2.3000.<revision>`, or `latest` — read from
 * WhatsApp Web's service worker (the `client_revision` it carries, as Baileys' fetchLatestWaWebVersion reads it) at
 * the first connection, again every FETCH_TTL_MS, and at once after a 405; the bundled one when the fetch fails.
 */
import type { Clock } from '../../clock.ts'
import type { Config, WaVersion } from '../../config.ts'
import type { Logger } from '../../log.ts'

/** How long a fetched revision is used before it is read again. */
export const FETCH_TTL_MS = 6 * 60 * 60_000
const FETCH_TIMEOUT_MS = 10_000
/** What WhatsApp Web serves the service worker with; an answer over this is not the file. */
const MAX_SERVICE_WORKER_BYTES = 4 * 1024 * 1024

export type { WaVersion }

export const formatWaVersion = (v: WaVersion | undefined) => (v ? v.join('.') : "Baileys' bundled version")

/** The revision WhatsApp Web currently serves, from its service worker (`"client_revision": <n>`, maybe escaped). */
export async function fetchCurrentWaVersion(url: string): Promise<WaVersion> {
  const res = await fetch(url, {
    // WhatsApp answers a bare request with an error page; these are the headers a browser's first visit sends.
    headers: {
      'sec-fetch-site': 'none',
      'user-agent':
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    },
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    redirect: 'follow',
  })
  if (!res.ok) throw new Error(`WhatsApp Web answered HTTP ${res.status}`)
  const declared = Number(res.headers.get('content-length') ?? 0)
  if (declared > MAX_SERVICE_WORKER_BYTES) throw new Error('WhatsApp Web answered with an oversized file')
  const text = await res.text()
  const revision = /\\?"client_revision\\?":\s*(\d+)/.exec(text.slice(0, MAX_SERVICE_WORKER_BYTES))?.[1]
  if (!revision) throw new Error('no client_revision in what WhatsApp Web answered')
  return [2, 3000, Number(revision)]
}

/** One per process: every QR session asks it which version its next socket announces. */
export class WaVersions {
  private fetched: { version: WaVersion; at: number } | null = null

  constructor(
    private readonly deps: { config: Pick<Config, 'qrWaVersion' | 'qrWaVersionUrl'>; clock: Clock; logger: Logger },
  ) {}

  /** For the next socket; undefined means Baileys' bundled revision. */
  async current(): Promise<WaVersion | undefined> {
    const setting = this.deps.config.qrWaVersion
    if (setting === 'bundled') return undefined
    if (setting !== 'latest') return setting
    const cached = this.fetched
    if (cached && this.deps.clock.now() - cached.at < FETCH_TTL_MS) return cached.version
    return (await this.fetch()) ?? cached?.version
  }

  /**
   * After WhatsApp refused `used` with 405: another revision worth one more try (only with `latest`, read again at
   * once), or null — then the session stops and a person changes the setting.
   */
  async afterRefusal(used: WaVersion | undefined): Promise<WaVersion | null> {
    if (this.deps.config.qrWaVersion !== 'latest') return null
    const fresh = await this.fetch()
    return fresh && formatWaVersion(fresh) !== formatWaVersion(used) ? fresh : null
  }

  private async fetch(): Promise<WaVersion | null> {
    try {
      const version = await fetchCurrentWaVersion(this.deps.config.qrWaVersionUrl)
      this.fetched = { version, at: this.deps.clock.now() }
      this.deps.logger.info({ version: formatWaVersion(version) }, 'QR: current WhatsApp Web version read')
      return version
    } catch (err) {
      this.deps.logger.warn(
        { err: (err as Error).message },
        "QR: could not read WhatsApp Web's current version; using the last known one",
      )
      return null
    }
  }
}
