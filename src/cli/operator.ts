/**
 * `wabox operator create --email E [--workspace-name N]` and `wabox operator reset-password --email E`: for
 * headless installs. The password comes from standard input when it is piped; otherwise a strong one is
 * generated and printed once.
 */
import { join } from 'node:path'
import type { Config } from '../config.ts'
import { ConfigError } from '../config.ts'
import { buildServiceDeps, type ServiceDeps } from '../deps.ts'
import { randomAlphanumeric } from '../crypto/tokens.ts'
import { DB_FILE, openDatabase } from '../db/client.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { createLogger } from '../log.ts'
import { systemCaller } from '../auth/principal.ts'
import { emailSchema } from '../auth/auth.schema.ts'
import { passwordSchema } from '../auth/passwords.ts'
import { resetPassword } from '../auth/auth.service.ts'
import { createOperator } from '../onboarding/onboarding.service.ts'
import { AppError } from '../lib/errors.ts'
import { buildProviders } from '../channels/registry.ts'

function parseEmail(value: string): string {
  const email = emailSchema.safeParse(value)
  if (!email.success) throw new ConfigError(`invalid --email: must be an email address (got ${JSON.stringify(value)})`)
  return email.data
}

/** The password piped on standard input, or a generated one (a terminal, or nothing piped). */
async function readPassword(): Promise<{ password: string; generated: boolean }> {
  let password = process.stdin.isTTY ? '' : (await new Response(Bun.stdin.stream()).text()).replace(/\r?\n$/, '')
  const generated = password === ''
  if (generated) password = randomAlphanumeric(24)
  const policy = passwordSchema.safeParse(password)
  if (!policy.success)
    throw new ConfigError(`the password from standard input ${policy.error.issues[0]?.message ?? 'is invalid'}`)
  return { password, generated }
}

/**
 * Runs `work` on the migrated database of the data directory, through the same services as the API (a quiet
 * logger; no master key: these commands seal nothing).
 */
export async function withServices<T>(config: Config, work: (deps: ServiceDeps) => Promise<T>): Promise<T> {
  const db = openDatabase(join(config.dataDir, DB_FILE))
  try {
    await migrateToLatest(db.db)
    const deps = buildServiceDeps({
      db,
      config,
      logger: createLogger('silent'),
      keyring: undefined,
      providers: buildProviders(config),
    })
    return await work(deps)
  } finally {
    await db.close()
  }
}

export async function operatorCreate(
  config: Config,
  args: { email: string; workspaceName: string },
  out: (line: string) => void,
): Promise<void> {
  const email = parseEmail(args.email)
  const { password, generated } = await readPassword()
  await withServices(config, async (deps) => {
    const result = await createOperator(deps, systemCaller('cli: operator create'), {
      email,
      password,
      workspaceName: args.workspaceName,
    })
    if (!result.created) {
      out(`${email} already had an account; it is now an instance operator (password unchanged)`)
      return
    }
    if (generated) out(`generated password (shown once): ${password}`)
    out(
      `operator ${email} created${result.workspaceId ? ` with the first workspace "${args.workspaceName}" (${result.workspaceId})` : ''}`,
    )
  })
}

export async function operatorResetPassword(
  config: Config,
  args: { email: string },
  out: (line: string) => void,
): Promise<void> {
  const email = parseEmail(args.email)
  const { password, generated } = await readPassword()
  await withServices(config, async (deps) => {
    let result
    try {
      result = await resetPassword(deps, systemCaller('cli: operator reset-password'), { email, password })
    } catch (err) {
      if (err instanceof AppError && err.status === 404)
        throw new ConfigError(`no account has the email ${email} (--email)`)
      throw err
    }
    if (generated) out(`generated password (shown once): ${password}`)
    out(
      `password of ${email} reset; ${result.revokedSessions} session${result.revokedSessions === 1 ? '' : 's'} signed out`,
    )
  })
}
