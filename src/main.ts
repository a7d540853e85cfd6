/** Entry point: argv → command. Exit 2 for bad configuration, 1 for any other failure. */
import { ConfigError, helpText, parseInvocation, VERSION } from './config.ts'

async function main(): Promise<void> {
  let invocation
  try {
    invocation = parseInvocation(process.argv.slice(2), process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`wabox: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  const { command, config } = invocation
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`)
  }
  switch (command.name) {
    case 'help':
      return out(helpText())
    case 'version':
      return out(VERSION)
    case 'serve':
      return (await import('./cli/serve.ts')).serve(config)
    case 'migrate':
      return (await import('./cli/migrate.ts')).migrate(config, command.action, out)
    case 'backup':
      return (await import('./cli/backup.ts')).backupCommand(config, command.file, out)
    case 'operator-create':
      return (await import('./cli/operator.ts')).operatorCreate(config, command, out)
    case 'operator-reset-password':
      return (await import('./cli/operator.ts')).operatorResetPassword(config, command, out)
    case 'apikey-create':
      return (await import('./cli/apikey.ts')).apikeyCreate(config, command, out)
    case 'healthcheck':
      return (await import('./cli/healthcheck.ts')).healthcheck(config, out)
    case 'restore':
      return (await import('./cli/restore.ts')).restoreCommand(config, command.file, command.keyFile, out)
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`wabox: ${err.message}\n`)
    process.exit(2)
  }
  // Known failures carry a message meant for the operator; anything else is a bug worth its stack.
  // So do the system's own errors (a file that cannot be opened, a full disk): their message names the call and the path.
  const known =
    err instanceof Error &&
    ((/Error$/.test(err.name) && err.name !== 'Error' && err.name !== 'TypeError') ||
      typeof (err as NodeJS.ErrnoException).syscall === 'string')
  process.stderr.write(`wabox: ${known ? (err as Error).message : err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
