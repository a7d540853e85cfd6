/**
 * Configuration: command-line flags and WABOX_* environment variables, parsed once by Zod into one typed
 * object. A flag beats its environment variable, which beats the default. Anything invalid is a ConfigError
 * whose message names the flag, the variable and the bad value; main.ts turns it into exit status 2.
 */
import { parseArgs } from 'node:util'
import { isIP } from 'node:net'
import { resolve, join } from 'node:path'
import { validate as isValidCron } from 'node-cron'
import { z } from 'zod'
import pkg from '../package.json' with { type: 'json' }
import { profileSpec, type Window } from './lib/rate-windows.ts'
import { plansOverrideSchema, type Plans } from './workspaces/plans.ts'
import { keyFromBase64 } from './crypto/keyfile.ts'

/** Where WhatsApp serves the encrypted media of QR-linked numbers (the only host their media is fetched from). */
export const WHATSAPP_MEDIA_ORIGIN = 'https://mmg.whatsapp.net'

export const VERSION: string = pkg.version

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** An IPv4/IPv6 address, optionally with a CIDR prefix length. */
const ipOrCidr = z.string().refine((value) => {
  const [ip, bits, extra] = value.split('/')
  const family = isIP(ip ?? '')
  if (!family || extra !== undefined) return false
  if (bits === undefined) return true
  const n = Number(bits)
  return /^\d+$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128)
}, 'must be an IP address or CIDR range, e.g. 127.0.0.1 or 10.0.0.0/8')

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * Every setting, in the order `--help` prints them. `schema` parses the raw string (from a flag or the
 * environment); `fallback` is the default, possibly derived from settings parsed before it.
 */
/** A WhatsApp Web version (2, 3000, revision), as QR-linked sockets announce it (channels/qr/wa-version.ts). */
export type WaVersion = [number, number, number]
/** Baileys' bundled version, the one WhatsApp Web serves now, or a fixed one. */
export type WaVersionSetting = 'bundled' | 'latest' | WaVersion

/** `2.3000.1029000001` → [2, 3000, 1029000001]; null for anything else. */
function parseWaVersion(text: string): WaVersion | null {
  const m = /^(\d{1,4})\.(\d{1,6})\.(\d{1,12})$/.exec(text.trim())
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null
}

const SETTINGS = {
  'data-dir': {
    env: 'WABOX_DATA_DIR',
    help: 'directory holding wabox.db, master.key, media/ and backups/',
    fallback: () => './wabox_data',
    schema: z
      .string()
      .min(1, 'must not be empty')
      .transform((p) => resolve(p)),
  },
  port: {
    env: 'WABOX_PORT',
    help: 'TCP port to listen on (0 picks a free port)',
    fallback: () => '8080',
    schema: z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(0, 'must be 0-65535').max(65535, 'must be 0-65535')),
  },
  host: {
    env: 'WABOX_HOST',
    help: 'address to bind',
    fallback: () => '0.0.0.0',
    schema: z.string().refine((h) => h === 'localhost' || isIP(h) !== 0, 'must be an IP address or "localhost"'),
  },
  // Before public-url: serving https makes its default https://.
  'tls-cert': {
    env: 'WABOX_TLS_CERT',
    help: 'PEM certificate (chain) file: wabox serves https itself (with --tls-key; both re-read on SIGHUP)',
    fallback: () => '',
    schema: z.string().transform((p) => (p === '' ? undefined : resolve(p))),
  },
  'tls-key': {
    env: 'WABOX_TLS_KEY',
    help: 'PEM private key file of --tls-cert',
    fallback: () => '',
    schema: z.string().transform((p) => (p === '' ? undefined : resolve(p))),
  },
  'public-url': {
    env: 'WABOX_PUBLIC_URL',
    help: 'the URL users and Meta reach wabox at (links, cookies, webhook URLs)',
    fallback: (s: Partial<Config>) => `${s.tlsCert ? 'https' : 'http'}://localhost:${s.port || 8080}`,
    schema: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .transform((u) => u.replace(/\/+$/, '')),
  },
  'log-level': {
    env: 'WABOX_LOG_LEVEL',
    help: `log verbosity: ${LOG_LEVELS.join(', ')}`,
    fallback: () => 'info',
    schema: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
  },
  'trusted-proxies': {
    env: 'WABOX_TRUSTED_PROXIES',
    help: 'comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed',
    fallback: () => '',
    schema: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean),
      )
      .pipe(z.array(ipOrCidr)),
  },
  'body-limit': {
    env: 'WABOX_BODY_LIMIT',
    help: 'largest accepted request body in bytes',
    fallback: () => String(1024 * 1024),
    schema: z
      .string()
      .regex(/^\d+$/, 'must be a whole number of bytes')
      .transform(Number)
      .pipe(
        z
          .number()
          .int()
          .min(1024, 'must be at least 1024')
          .max(64 * 1024 * 1024, 'must be at most 67108864'),
      ),
  },
  'key-file': {
    env: 'WABOX_KEY_FILE',
    help: 'path of the 32-byte master key file (ignored when WABOX_MASTER_KEY is set)',
    fallback: (s: Partial<Config>) => join(s.dataDir ?? resolve('./wabox_data'), 'master.key'),
    schema: z
      .string()
      .min(1, 'must not be empty')
      .transform((p) => resolve(p)),
  },
  'maintenance-schedule': {
    env: 'WABOX_MAINTENANCE_SCHEDULE',
    help: 'cron expression for SQLite maintenance (checkpoint + optimize)',
    fallback: () => '*/30 * * * *',
    schema: z.string().refine((c) => isValidCron(c), 'must be a valid cron expression'),
  },
  'shutdown-timeout': {
    env: 'WABOX_SHUTDOWN_TIMEOUT',
    help: 'seconds to let in-flight requests finish on SIGTERM/SIGINT',
    fallback: () => '10',
    schema: z
      .string()
      .regex(/^\d+$/, 'must be a whole number of seconds')
      .transform(Number)
      .pipe(z.number().int().min(0).max(600, 'must be at most 600')),
  },
  'rate-limit': {
    env: 'WABOX_RATE_LIMIT',
    help: 'sliding-window limits for API keys and anonymous clients (per key / per IP)',
    fallback: () => '3/1s,20/10s,100/60s',
    schema: profileSpec,
  },
  'ui-rate-limit': {
    env: 'WABOX_UI_RATE_LIMIT',
    help: 'sliding-window limits for signed-in admin UI sessions (per user)',
    fallback: () => '30/1s,300/10s,1500/60s',
    schema: profileSpec,
  },
  plans: {
    env: 'WABOX_PLANS',
    help: 'JSON object of plan definitions replacing the defaults of the same name (free, team, business)',
    fallback: () => '{}',
    schema: plansOverrideSchema,
  },
  'default-plan': {
    env: 'WABOX_DEFAULT_PLAN',
    help: 'plan of the first workspace and of workspaces created without one',
    fallback: () => 'business',
    schema: z.string().min(1),
  },
  'graph-base-url': {
    env: 'WABOX_GRAPH_BASE_URL',
    help: 'Meta Graph API base URL (tests point it at a local double)',
    fallback: () => 'https://graph.facebook.com',
    schema: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .transform((u) => u.replace(/\/+$/, '')),
  },
  'graph-version': {
    env: 'WABOX_GRAPH_VERSION',
    help: 'pinned Graph API version',
    fallback: () => 'v24.0',
    schema: z.string().regex(/^v\d+\.\d+$/, 'must look like v24.0'),
  },
  'send-recovery-grace': {
    env: 'WABOX_SEND_RECOVERY_GRACE',
    help: "seconds a send interrupted by a crash waits for Meta's status update before it is sent again",
    fallback: () => '30',
    schema: z
      .string()
      .regex(/^\d+$/, 'must be a whole number of seconds')
      .transform(Number)
      .pipe(z.number().int().min(1).max(3600, 'must be at most 3600')),
  },
  'graph-timeout': {
    env: 'WABOX_GRAPH_TIMEOUT',
    help: 'milliseconds to wait for a Graph API answer before treating the call as failed (and retryable)',
    fallback: () => '15000',
    schema: z
      .string()
      .regex(/^\d+$/, 'must be a whole number of milliseconds')
      .transform(Number)
      .pipe(z.number().int().min(50, 'must be at least 50').max(120000, 'must be at most 120000')),
  },
  'webhook-allow-http': {
    env: 'WABOX_WEBHOOK_ALLOW_HTTP',
    help: 'allow http:// webhook endpoint URLs (true/false; otherwise https only)',
    fallback: () => 'false',
    schema: z.enum(['true', 'false'], 'must be true or false').transform((v) => v === 'true'),
  },
  'webhook-allowed-networks': {
    env: 'WABOX_WEBHOOK_ALLOWED_NETWORKS',
    help: 'comma-separated CIDRs webhook endpoints may reach although private/loopback/link-local (e.g. 10.0.0.0/8)',
    fallback: () => '',
    schema: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean),
      )
      .pipe(z.array(ipOrCidr)),
  },
  'webhook-timeout': {
    env: 'WABOX_WEBHOOK_TIMEOUT',
    help: 'milliseconds a webhook endpoint has to answer a delivery',
    fallback: () => '10000',
    schema: z
      .string()
      .regex(/^\d+$/, 'must be a whole number of milliseconds')
      .transform(Number)
      .pipe(z.number().int().min(100, 'must be at least 100').max(60000, 'must be at most 60000')),
  },
  'webhook-disable-after': {
    env: 'WABOX_WEBHOOK_DISABLE_AFTER',
    help: 'hours an endpoint may fail without a single success before it is disabled',
    fallback: () => '72',
    schema: z
      .string()
      .regex(/^\d+$/, 'must be a whole number of hours')
      .transform(Number)
      .pipe(z.number().int().min(1, 'must be at least 1').max(8760, 'must be at most 8760')),
  },
  'sse-heartbeat': {
    env: 'WABOX_SSE_HEARTBEAT',
    help: 'seconds between heartbeat comments on live event streams (keeps proxies from closing idle streams)',
    fallback: () => '15',
    schema: z
      .string()
      .regex(/^\d+$/, 'must be a whole number of seconds')
      .transform(Number)
      // Below the server's idle timeout (cli/serve.ts), which would otherwise close quiet streams.
      .pipe(
        z
          .number()
          .int()
          .min(1, 'must be at least 1')
          .max(25, 'must be at most 25 (connections idle for 30 s are closed)'),
      ),
  },
  'event-retention': {
    env: 'WABOX_EVENT_RETENTION',
    help: 'days events and finished webhook deliveries are kept (live-stream resume and the delivery log reach this far)',
    fallback: () => '30',
    schema: z
      .string()
      .regex(/^\d+$/, 'must be a whole number of days')
      .transform(Number)
      .pipe(z.number().int().min(1, 'must be at least 1').max(3650, 'must be at most 3650')),
  },
  'metrics-allowed-networks': {
    env: 'WABOX_METRICS_ALLOWED_NETWORKS',
    help: 'comma-separated IPs/CIDRs allowed to read /metrics (default: loopback only)',
    fallback: () => '',
    schema: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean),
      )
      .pipe(z.array(ipOrCidr)),
  },
  'metrics-token': {
    env: 'WABOX_METRICS_TOKEN',
    help: 'bearer token /metrics requires (prefer the environment variable: flags show in ps)',
    secret: true,
    fallback: () => '',
    schema: z
      .string()
      .refine((t) => t === '' || /^[\x21-\x7e]{16,256}$/.test(t), 'must be 16-256 printable characters without spaces')
      .transform((t) => (t === '' ? undefined : t)),
  },
  'qr-websocket-url': {
    env: 'WABOX_QR_WEBSOCKET_URL',
    help: "WhatsApp Web's socket address for QR-linked numbers (changed only for tests and intercepting proxies)",
    fallback: () => 'wss://web.whatsapp.com/ws/chat',
    schema: z.string().regex(/^wss?:\/\/\S+$/, 'must be a ws:// or wss:// URL'),
  },
  'qr-media-url': {
    env: 'WABOX_QR_MEDIA_URL',
    help: "WhatsApp's media host for QR-linked numbers' inbound media (changed only for tests and intercepting proxies)",
    fallback: () => WHATSAPP_MEDIA_ORIGIN,
    schema: z.string().regex(/^https?:\/\/[^/\s]+$/, 'must be an http:// or https:// origin, without a path'),
  },
  'qr-wa-version': {
    env: 'WABOX_QR_WA_VERSION',
    help: "the WhatsApp Web version QR-linked numbers announce: bundled (Baileys' own), latest (read from WhatsApp Web, again after a 405), or 2.3000.<revision>",
    fallback: () => 'bundled',
    schema: z
      .string()
      .refine(
        (v) => v === 'bundled' || v === 'latest' || parseWaVersion(v) !== null,
        'must be bundled, latest, or a version like 2.3000.1029000001',
      )
      .transform((v): WaVersionSetting => (v === 'bundled' || v === 'latest' ? v : parseWaVersion(v)!)),
  },
  'qr-wa-version-url': {
    env: 'WABOX_QR_WA_VERSION_URL',
    help: "where qr-wa-version latest reads WhatsApp Web's current version (changed only for tests and intercepting proxies)",
    fallback: () => 'https://web.whatsapp.com/sw.js',
    schema: z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL'),
  },
} as const

type SettingName = keyof typeof SETTINGS
const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())

export type Config = {
  dataDir: string
  port: number
  host: string
  /** PEM files wabox serves https with (both or neither); undefined: plain http (a proxy terminates TLS). */
  tlsCert?: string | undefined
  tlsKey?: string | undefined
  publicUrl: string
  logLevel: (typeof LOG_LEVELS)[number]
  trustedProxies: string[]
  bodyLimit: number
  keyFile: string
  maintenanceSchedule: string
  shutdownTimeout: number
  rateLimit: Window[]
  uiRateLimit: Window[]
  plans: Plans
  defaultPlan: string
  graphBaseUrl: string
  graphVersion: string
  graphTimeout: number
  sendRecoveryGrace: number
  webhookAllowHttp: boolean
  webhookAllowedNetworks: string[]
  webhookTimeout: number
  webhookDisableAfter: number
  sseHeartbeat: number
  eventRetention: number
  qrWebsocketUrl: string
  qrMediaUrl: string
  qrWaVersion: WaVersionSetting
  qrWaVersionUrl: string
  metricsAllowedNetworks: string[]
  metricsToken: string | undefined
  /** True when --public-url was not given: serve derives it from the port it actually bound (--port 0). */
  publicUrlDerived: boolean
  /** Base64 master key from WABOX_MASTER_KEY; environment only, never a flag (flags show in `ps`). */
  masterKey: string | undefined
}

export type Command =
  | { name: 'serve' }
  | { name: 'help' }
  | { name: 'version' }
  | { name: 'backup'; file: string }
  | { name: 'restore'; file: string; keyFile: string | undefined }
  | { name: 'migrate'; action: 'status' | 'up' }
  | { name: 'operator-create'; email: string; workspaceName: string }
  | { name: 'operator-reset-password'; email: string }
  | { name: 'apikey-create'; workspace: string; role: string; keyName: string }
  | { name: 'healthcheck' }

export type Invocation = { command: Command; config: Config }

/** Parses argv (without the executable and script) and the environment into a command and its config. */
export function parseInvocation(argv: string[], env: Record<string, string | undefined>): Invocation {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...Object.fromEntries(Object.keys(SETTINGS).map((k) => [k, { type: 'string' as const }])),
        backup: { type: 'string' },
        restore: { type: 'string' },
        email: { type: 'string' },
        'workspace-name': { type: 'string' },
        workspace: { type: 'string' },
        role: { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    })
  } catch (err) {
    // node:util's messages name the flag ("Unknown option '--x'"); keep the first sentence only.
    throw new ConfigError(String((err as Error).message).split('. ')[0]!)
  }
  const { values, positionals } = parsed
  const command = parseCommand(values, positionals)
  return { command, config: parseSettings(values as Record<string, string | undefined>, env) }
}

function parseCommand(values: Record<string, unknown>, positionals: string[]): Command {
  if (values.help) return { name: 'help' }
  if (values.version) return { name: 'version' }
  const [verb, sub, ...rest] = positionals
  if (values.backup !== undefined || values.restore !== undefined) {
    if (values.backup !== undefined && values.restore !== undefined) {
      throw new ConfigError('--backup and --restore cannot be used together')
    }
    if (verb !== undefined) throw new ConfigError(`unexpected argument "${verb}" with --backup/--restore`)
    if (values.backup !== undefined) {
      if (!String(values.backup).trim()) throw new ConfigError('--backup needs a file name')
      return { name: 'backup', file: resolve(String(values.backup)) }
    }
    if (!String(values.restore).trim()) throw new ConfigError('--restore needs a file name')
    return {
      name: 'restore',
      file: resolve(String(values.restore)),
      keyFile: typeof values['key-file'] === 'string' ? resolve(values['key-file']) : undefined,
    }
  }
  const stray = (names: string[]) => names.some((n) => values[n] !== undefined)
  if (verb === undefined || (verb === 'serve' && sub === undefined)) {
    if (stray(['email', 'workspace-name']))
      throw new ConfigError('--email and --workspace-name belong to `wabox operator`')
    if (stray(['workspace', 'role', 'name']))
      throw new ConfigError('--workspace, --role and --name belong to `wabox apikey create`')
    return { name: 'serve' }
  }
  if (verb === 'migrate' && (sub === 'status' || sub === 'up') && rest.length === 0) {
    return { name: 'migrate', action: sub }
  }
  if (verb === 'migrate') throw new ConfigError('usage: wabox migrate status|up')
  if (verb === 'healthcheck' && sub === undefined) {
    if (stray(['email', 'workspace-name', 'workspace', 'role', 'name']))
      throw new ConfigError('`wabox healthcheck` takes only the server options (--port, --host, --tls-cert)')
    return { name: 'healthcheck' }
  }
  if (verb === 'healthcheck') throw new ConfigError('usage: wabox healthcheck [--port P] [--host H] [--tls-cert F]')
  const operatorUsage =
    'usage: wabox operator create --email EMAIL [--workspace-name NAME] | wabox operator reset-password --email EMAIL'
  const apikeyUsage = 'usage: wabox apikey create --workspace WORKSPACE_ID --role admin|agent|analyst [--name NAME]'
  if (verb === 'operator' && sub === 'create' && rest.length === 0) {
    if (typeof values.email !== 'string') throw new ConfigError(operatorUsage)
    if (values.workspace !== undefined || values.role !== undefined || values.name !== undefined)
      throw new ConfigError('--workspace, --role and --name belong to `wabox apikey create`')
    return {
      name: 'operator-create',
      email: values.email,
      workspaceName: typeof values['workspace-name'] === 'string' ? values['workspace-name'] : 'My workspace',
    }
  }
  if (verb === 'operator' && sub === 'reset-password' && rest.length === 0) {
    if (typeof values.email !== 'string') throw new ConfigError(operatorUsage)
    if (
      values['workspace-name'] !== undefined ||
      values.workspace !== undefined ||
      values.role !== undefined ||
      values.name !== undefined
    ) {
      throw new ConfigError('`wabox operator reset-password` takes only --email')
    }
    return { name: 'operator-reset-password', email: values.email }
  }
  if (verb === 'operator') throw new ConfigError(operatorUsage)
  if (verb === 'apikey' && sub === 'create' && rest.length === 0) {
    if (typeof values.workspace !== 'string' || typeof values.role !== 'string') throw new ConfigError(apikeyUsage)
    if (values.email !== undefined || values['workspace-name'] !== undefined)
      throw new ConfigError('--email and --workspace-name belong to `wabox operator`')
    return {
      name: 'apikey-create',
      workspace: values.workspace,
      role: values.role,
      keyName: typeof values.name === 'string' ? values.name : 'CLI key',
    }
  }
  if (verb === 'apikey') throw new ConfigError(apikeyUsage)
  if (values.email !== undefined || values['workspace-name'] !== undefined) {
    throw new ConfigError('--email and --workspace-name belong to `wabox operator`')
  }
  if (values.workspace !== undefined || values.role !== undefined || values.name !== undefined) {
    throw new ConfigError('--workspace, --role and --name belong to `wabox apikey create`')
  }
  throw new ConfigError(`unknown command "${positionals.join(' ')}" (see wabox --help)`)
}

function parseSettings(flags: Record<string, string | undefined>, env: Record<string, string | undefined>): Config {
  const out: Record<string, unknown> = {}
  for (const [name, setting] of Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]) {
    const fromFlag = flags[name]
    const fromEnv = env[setting.env]
    const raw =
      fromFlag ??
      (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined) ??
      setting.fallback(out as Partial<Config>)
    const result = (setting.schema as z.ZodType).safeParse(raw)
    if (!result.success) {
      const source = fromFlag !== undefined ? `--${name}` : fromEnv ? setting.env : `default of --${name}`
      // A secret's value is never echoed, not even a wrong one.
      const got = 'secret' in setting ? '' : ` (got ${JSON.stringify(raw)})`
      throw new ConfigError(`invalid ${source}: ${result.error.issues[0]?.message ?? 'invalid'}${got}`)
    }
    out[camel(name)] = result.data
  }
  if ((out.tlsCert === undefined) !== (out.tlsKey === undefined)) {
    const [given, missing] = out.tlsCert === undefined ? ['tls-key', 'tls-cert'] : ['tls-cert', 'tls-key']
    throw new ConfigError(
      `--${given} needs --${missing} (${SETTINGS[missing as SettingName].env}): give both PEM files, or neither to serve plain http`,
    )
  }
  const plans = out.plans as Plans
  if (!(String(out.defaultPlan) in plans)) {
    throw new ConfigError(
      `invalid --default-plan: no plan named ${JSON.stringify(out.defaultPlan)} (plans: ${Object.keys(plans).join(', ')})`,
    )
  }
  const masterKey = env.WABOX_MASTER_KEY === '' ? undefined : env.WABOX_MASTER_KEY
  // A malformed key is bad configuration like any other (exit 2); the message names the problem, never the value.
  if (masterKey !== undefined) {
    try {
      keyFromBase64(masterKey)
    } catch (err) {
      throw new ConfigError(
        `${(err as Error).message}: set it to the base64 of 32 random bytes (openssl rand -base64 32), or unset it to use the key file`,
      )
    }
  }
  const publicUrlDerived = flags['public-url'] === undefined && !env.WABOX_PUBLIC_URL
  return { ...(out as Omit<Config, 'masterKey' | 'publicUrlDerived'>), publicUrlDerived, masterKey }
}

/** The text of `wabox --help`, generated from the settings table so it cannot drift. */
export function helpText(): string {
  const lines = [
    `wabox ${VERSION} — self-hosted WhatsApp operations appliance`,
    '',
    'Usage:',
    '  wabox [serve] [options]            start the server (default)',
    '  wabox --backup FILE [options]      write a consistent online backup archive (server may run)',
    '  wabox --restore FILE [options]     verify an archive and restore it into the data directory',
    '                                     (the server must be stopped; --key-file names the key to install',
    '                                     when the data directory has none)',
    '  wabox migrate status|up [options]  list or apply database migrations',
    '  wabox operator create --email E [--workspace-name N]',
    '                                     create an instance operator without the web setup (password',
    '                                     from standard input, or generated and printed once)',
    '  wabox operator reset-password --email E',
    '                                     set a new password (standard input, or generated and printed',
    '                                     once) and sign out every session of that account',
    '  wabox apikey create --workspace W --role admin|agent|analyst [--name N]',
    '                                     create an API key in workspace W; prints the token once',
    '  wabox healthcheck [options]        exit 0 when the server on --port/--host answers /readyz 200',
    '                                     (for container health checks: no shell or HTTP client needed)',
    '  wabox --help | --version',
    '',
    'Options (flag, environment variable, default):',
  ]
  for (const [name, s] of Object.entries(SETTINGS)) {
    const def =
      name === 'public-url'
        ? 'http://localhost:<port> (https:// with --tls-cert)'
        : name === 'key-file'
          ? '<data-dir>/master.key'
          : s.fallback({})
    lines.push(`  --${name.padEnd(22)} ${s.env.padEnd(28)} default: ${def === '' ? '(none)' : def}`)
    lines.push(`      ${s.help}`)
  }
  lines.push(`  (no flag)                ${'WABOX_MASTER_KEY'.padEnd(28)} default: (none)`)
  lines.push('      base64 of a 32-byte master key; replaces the key file')
  return lines.join('\n')
}
