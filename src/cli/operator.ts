/**
 * `wabox operator create --email E [--workspace-name N]`: for headless installs. The password comes from
 * standard input when it is piped; otherwise a strong one is generated and printed once.
 */
import { join } from 'node:path'
import type { Config } from '../config.ts'
import { ConfigError } from '../config.ts'
import { buildServiceDeps } from '../deps.ts'
import { randomAlphanumeric } from '../crypto/tokens.ts'
import { DB_FILE, openDatabase } from '../db/client.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { createLogger } from '../log.ts'
import { systemCaller } from '../auth/principal.ts'
import { emailSchema } from '../auth/auth.schema.ts'
import { passwordSchema } from '../auth/passwords.ts'
import { createOperator } from '../auth/auth.service.ts'

export async function operatorCreate(config: Config, args: { email: string; workspaceName: string }, out: (line: string) => void): Promise<void> {
  const email = emailSchema.safeParse(args.email)
  if (!email.success) throw new ConfigError(`invalid --email: must be an email address (got ${JSON.stringify(args.email)})`)
  let password: string
  let generated = false
  if (process.stdin.isTTY) {
    password = randomAlphanumeric(24)
    generated = true
  } else {
    password = (await new Response(Bun.stdin.stream()).text()).replace(/\r?\n$/, '')
    if (password === '') {
      password = randomAlphanumeric(24)
      generated = true
    }
  }
  const policy = passwordSchema.safeParse(password)
  if (!policy.success) throw new ConfigError(`the password from standard input ${policy.error.issues[0]?.message ?? 'is invalid'}`)

  const db = openDatabase(join(config.dataDir, DB_FILE))
  try {
    await migrateToLatest(db.db)
    const logger = createLogger('silent')
    const result = await createOperator(buildServiceDeps({ db, config, logger, keyring: undefined }), systemCaller('cli: operator create'), {
      email: email.data,
      password,
      workspaceName: args.workspaceName,
    })
    if (!result.created) {
      out(`${email.data} already had an account; it is now an instance operator (password unchanged)`)
      return
    }
    if (generated) out(`generated password (shown once): ${password}`)
    out(`operator ${email.data} created${result.workspaceId ? ` with the first workspace "${args.workspaceName}" (${result.workspaceId})` : ''}`)
  } finally {
    await db.close()
  }
}
