import { describe, expect, test } from 'bun:test'
import { resolve } from 'node:path'
import { ConfigError, helpText, parseInvocation } from './config.ts'
import { runBinary } from './testing/binary.ts'
import { tempDir } from './testing/temp.ts'

const parse = (argv: string[], env: Record<string, string> = {}) => parseInvocation(argv, env)

function configError(argv: string[], env: Record<string, string> = {}): string {
  try {
    parse(argv, env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as Error).message
  }
  throw new Error(`expected ${JSON.stringify(argv)} ${JSON.stringify(env)} to be rejected`)
}

describe('config', () => {
  test('defaults', () => {
    const { command, config } = parse([])
    expect(command).toEqual({ name: 'serve' })
    expect(config.dataDir).toBe(resolve('./wabox_data'))
    expect(config.port).toBe(8080)
    expect(config.host).toBe('0.0.0.0')
    expect(config.publicUrl).toBe('http://localhost:8080')
    expect(config.logLevel).toBe('info')
    expect(config.trustedProxies).toEqual([])
    expect(config.bodyLimit).toBe(1024 * 1024)
    expect(config.keyFile).toBe(resolve('./wabox_data/master.key'))
    expect(config.masterKey).toBeUndefined()
    expect(config.rateLimit).toEqual([
      { limit: 3, seconds: 1 },
      { limit: 20, seconds: 10 },
      { limit: 100, seconds: 60 },
    ])
    expect(Object.keys(config.plans)).toEqual(['free', 'team', 'business'])
  })

  test('--plans adds or replaces plans by name', () => {
    const gold = {
      features: { apiAccess: true, broadcasts: true, ai: true },
      quotas: { channels: 99, members: 99, apiKeys: 99, broadcastsPerMonth: 99, retentionDaysMax: 999 },
    }
    const { config } = parse(['--plans', JSON.stringify({ gold }), '--default-plan', 'gold'])
    expect(config.plans.gold).toEqual(gold)
    expect(config.plans.free).toBeDefined()
    expect(config.defaultPlan).toBe('gold')
  })

  test('a flag beats its environment variable, which beats the default', () => {
    const env = { WABOX_PORT: '9000', WABOX_DATA_DIR: '/srv/env-data', WABOX_LOG_LEVEL: 'warn' }
    expect(parse([], env).config.port).toBe(9000)
    expect(parse(['--port', '9100'], env).config.port).toBe(9100)
    expect(parse([], env).config.dataDir).toBe('/srv/env-data')
    expect(parse(['--data-dir', '/srv/flag'], env).config.dataDir).toBe('/srv/flag')
    expect(parse(['--data-dir=/srv/flag'], env).config.keyFile).toBe('/srv/flag/master.key')
    expect(parse([], env).config.logLevel).toBe('warn')
    expect(parse(['--log-level', 'debug'], env).config.logLevel).toBe('debug')
  })

  test('derived defaults follow the values they derive from', () => {
    expect(parse(['--port', '9001']).config.publicUrl).toBe('http://localhost:9001')
    expect(parse(['--public-url', 'https://wa.example.com/']).config.publicUrl).toBe('https://wa.example.com')
    expect(parse(['--trusted-proxies', '127.0.0.1, 10.0.0.0/8,::1']).config.trustedProxies).toEqual([
      '127.0.0.1',
      '10.0.0.0/8',
      '::1',
    ])
  })

  test('WABOX_MASTER_KEY is read from the environment only', () => {
    const key = Buffer.alloc(32, 7).toString('base64')
    expect(parse([], { WABOX_MASTER_KEY: key }).config.masterKey).toBe(key)
    expect(configError(['--master-key', 'abc'])).toContain("'--master-key'")
  })

  test('a malformed WABOX_MASTER_KEY is a configuration error that never shows the value', () => {
    const notBase64 = configError([], { WABOX_MASTER_KEY: 'not*base64*at*all' })
    expect(notBase64).toStartWith('WABOX_MASTER_KEY is not valid base64')
    expect(notBase64).not.toContain('not*base64')
    expect(configError([], { WABOX_MASTER_KEY: Buffer.alloc(16, 1).toString('base64') })).toStartWith(
      'WABOX_MASTER_KEY must decode to 32 bytes (it decodes to 16)',
    )
  })

  test('--public-url is derived from the port unless given; the metrics token is never echoed', () => {
    expect(parse(['--port', '0']).config.publicUrlDerived).toBe(true)
    expect(parse([], { WABOX_PUBLIC_URL: 'https://wa.example.com' }).config.publicUrlDerived).toBe(false)
    expect(parse(['--public-url', 'https://wa.example.com']).config.publicUrlDerived).toBe(false)
    expect(parse([], { WABOX_METRICS_TOKEN: 'a-long-enough-token-1234' }).config.metricsToken).toBe(
      'a-long-enough-token-1234',
    )
    expect(parse([]).config.metricsToken).toBeUndefined()
    const short = configError([], { WABOX_METRICS_TOKEN: 'tooshort' })
    expect(short).toContain('invalid WABOX_METRICS_TOKEN')
    expect(short).not.toContain('tooshort')
  })

  test('the headless commands: apikey create and operator reset-password', () => {
    expect(parse(['apikey', 'create', '--workspace', 'ws_1', '--role', 'agent', '--name', 'CRM']).command).toEqual({
      name: 'apikey-create',
      workspace: 'ws_1',
      role: 'agent',
      keyName: 'CRM',
    })
    expect(parse(['apikey', 'create', '--workspace', 'ws_1', '--role', 'agent']).command).toMatchObject({
      keyName: 'CLI key',
    })
    expect(parse(['operator', 'reset-password', '--email', 'a@example.com']).command).toEqual({
      name: 'operator-reset-password',
      email: 'a@example.com',
    })
    expect(configError(['apikey', 'create', '--role', 'agent'])).toStartWith('usage: wabox apikey create')
    expect(configError(['apikey', 'list'])).toStartWith('usage: wabox apikey create')
    expect(configError(['operator', 'reset-password'])).toStartWith('usage: wabox operator')
    expect(configError(['--role', 'admin'])).toContain('belong to `wabox apikey create`')
    expect(helpText()).toContain('wabox apikey create --workspace W --role admin|agent|analyst')
    expect(helpText()).toContain('wabox operator reset-password --email E')
  })

  const invalid: [string, string[], Record<string, string>, string][] = [
    ['port not a number', ['--port', 'abc'], {}, 'invalid --port: must be a whole number (got "abc")'],
    ['port too large', ['--port', '70000'], {}, 'invalid --port: must be 0-65535 (got "70000")'],
    ['port from env', [], { WABOX_PORT: '-1' }, 'invalid WABOX_PORT: must be a whole number (got "-1")'],
    ['host', ['--host', 'not a host'], {}, 'invalid --host: must be an IP address or "localhost" (got "not a host")'],
    [
      'public url scheme',
      ['--public-url', 'ftp://x.example'],
      {},
      'invalid --public-url: must be an http:// or https:// URL',
    ],
    [
      'public url garbage',
      [],
      { WABOX_PUBLIC_URL: 'nope' },
      'invalid WABOX_PUBLIC_URL: must be an http:// or https:// URL',
    ],
    [
      'log level',
      ['--log-level', 'loud'],
      {},
      'invalid --log-level: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
    ],
    [
      'trusted proxy',
      ['--trusted-proxies', '127.0.0.1,example.com'],
      {},
      'invalid --trusted-proxies: must be an IP address or CIDR range',
    ],
    [
      'trusted proxy cidr',
      ['--trusted-proxies', '10.0.0.0/33'],
      {},
      'invalid --trusted-proxies: must be an IP address or CIDR range',
    ],
    ['body limit', ['--body-limit', '12'], {}, 'invalid --body-limit: must be at least 1024 (got "12")'],
    [
      'body limit unit',
      [],
      { WABOX_BODY_LIMIT: '1mb' },
      'invalid WABOX_BODY_LIMIT: must be a whole number of bytes (got "1mb")',
    ],
    [
      'maintenance schedule',
      ['--maintenance-schedule', 'every day'],
      {},
      'invalid --maintenance-schedule: must be a valid cron expression',
    ],
    [
      'shutdown timeout',
      ['--shutdown-timeout', '9999'],
      {},
      'invalid --shutdown-timeout: must be at most 600 (got "9999")',
    ],
    ['empty data dir', ['--data-dir', ''], {}, 'invalid --data-dir: must not be empty'],
    [
      'rate limit',
      ['--rate-limit', '3 per second'],
      {},
      'invalid --rate-limit: "3 per second" is not LIMIT/WINDOW like 20/10s or 100/1m',
    ],
    ['ui rate limit', [], { WABOX_UI_RATE_LIMIT: '0/1s' }, 'invalid WABOX_UI_RATE_LIMIT: "0/1s" is not LIMIT/WINDOW'],
    ['plans json', ['--plans', '{not json'], {}, 'invalid --plans: must be a JSON object of plans'],
    ['plan shape', ['--plans', '{"gold":{"features":{}}}'], {}, 'invalid --plans:'],
    [
      'default plan',
      ['--default-plan', 'gold'],
      {},
      'invalid --default-plan: no plan named "gold" (plans: free, team, business)',
    ],
    ['operator without email', ['operator', 'create'], {}, 'usage: wabox operator create --email EMAIL'],
    ['unknown flag', ['--prot', '80'], {}, "Unknown option '--prot'"],
    ['unknown command', ['frobnicate'], {}, 'unknown command "frobnicate"'],
    [
      'backup and restore together',
      ['--backup', 'a', '--restore', 'b'],
      {},
      '--backup and --restore cannot be used together',
    ],
    ['migrate without action', ['migrate'], {}, 'usage: wabox migrate status|up'],
  ]
  for (const [name, argv, env, message] of invalid) {
    test(`rejects ${name}`, () => {
      expect(configError(argv, env)).toContain(message)
    })
  }

  test('commands', () => {
    expect(parse(['serve']).command).toEqual({ name: 'serve' })
    expect(parse(['--help']).command).toEqual({ name: 'help' })
    expect(parse(['--version']).command).toEqual({ name: 'version' })
    expect(parse(['migrate', 'status']).command).toEqual({ name: 'migrate', action: 'status' })
    expect(parse(['--backup', 'b.tar.gz']).command).toEqual({ name: 'backup', file: resolve('b.tar.gz') })
    expect(parse(['--restore', 'b.tar.gz', '--key-file', 'k']).command).toEqual({
      name: 'restore',
      file: resolve('b.tar.gz'),
      keyFile: resolve('k'),
    })
  })

  test('--help lists every flag with its environment variable and default', () => {
    const help = helpText()
    for (const [flag, env] of [
      ['--data-dir', 'WABOX_DATA_DIR'],
      ['--port', 'WABOX_PORT'],
      ['--host', 'WABOX_HOST'],
      ['--log-level', 'WABOX_LOG_LEVEL'],
      ['--trusted-proxies', 'WABOX_TRUSTED_PROXIES'],
      ['--public-url', 'WABOX_PUBLIC_URL'],
      ['--body-limit', 'WABOX_BODY_LIMIT'],
      ['--key-file', 'WABOX_KEY_FILE'],
      ['--rate-limit', 'WABOX_RATE_LIMIT'],
      ['--ui-rate-limit', 'WABOX_UI_RATE_LIMIT'],
      ['--plans', 'WABOX_PLANS'],
      ['--default-plan', 'WABOX_DEFAULT_PLAN'],
    ]) {
      expect(help).toMatch(new RegExp(`${flag}\\s+${env}\\s+default: \\S`))
    }
    expect(help).toContain('WABOX_MASTER_KEY')
  })
})

describe('config through the compiled binary', () => {
  test('invalid configuration exits 2 with one line naming the value, and creates nothing', async () => {
    const cwd = tempDir()
    for (const [args, env, message] of [
      [['--port', 'abc'], {}, 'wabox: invalid --port: must be a whole number (got "abc")'],
      [[], { WABOX_LOG_LEVEL: 'loud' }, 'wabox: invalid WABOX_LOG_LEVEL'],
      [['--nope'], {}, "wabox: Unknown option '--nope'"],
    ] as [string[], Record<string, string>, string][]) {
      const r = await runBinary(args, { cwd, env })
      expect(r.code).toBe(2)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toContain(message)
    }
    expect(await Bun.file(`${cwd}/wabox_data/wabox.db`).exists()).toBe(false)
  })

  test('--version and --help', async () => {
    const pkg = await Bun.file(resolve(import.meta.dir, '../package.json')).json()
    const version = await runBinary(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toBe(pkg.version)
    const help = await runBinary(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('WABOX_DATA_DIR')
  })
})

describe('TLS flags', () => {
  test('both files: https default public URL (an explicit one wins); paths resolved; flag beats environment', () => {
    const { config } = parse(['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--port', '8443'])
    expect(config).toMatchObject({
      tlsCert: resolve('c.pem'),
      tlsKey: resolve('k.pem'),
      publicUrl: 'https://localhost:8443',
      publicUrlDerived: true,
    })
    expect(parse([], { WABOX_TLS_CERT: '/etc/c.pem', WABOX_TLS_KEY: '/etc/k.pem' }).config).toMatchObject({
      tlsCert: '/etc/c.pem',
      publicUrl: 'https://localhost:8080',
    })
    expect(parse(['--tls-cert', '/a.pem'], { WABOX_TLS_CERT: '/b.pem', WABOX_TLS_KEY: '/k.pem' }).config.tlsCert).toBe(
      '/a.pem',
    )
    expect(
      parse(['--tls-cert', 'c', '--tls-key', 'k', '--public-url', 'https://wabox.example.com']).config.publicUrl,
    ).toBe('https://wabox.example.com')
    expect(parse([]).config).toMatchObject({
      tlsCert: undefined,
      tlsKey: undefined,
      publicUrl: 'http://localhost:8080',
    })
  })

  test('one without the other is a ConfigError naming the missing flag', () => {
    expect(() => parse(['--tls-cert', 'c.pem'])).toThrow(
      new ConfigError(
        '--tls-cert needs --tls-key (WABOX_TLS_KEY): give both PEM files, or neither to serve plain http',
      ),
    )
    expect(() => parse([], { WABOX_TLS_KEY: 'k.pem' })).toThrow(/^--tls-key needs --tls-cert \(WABOX_TLS_CERT\)/)
  })
})
