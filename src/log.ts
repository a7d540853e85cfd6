/**
 * Structured JSON logs to stdout (pino). Secrets never reach a line: known paths are redacted by pino, and
 * every logged object is walked so that any field named like a credential is censored wherever it sits.
 */
import pino, { type DestinationStream, type Logger } from 'pino'
import { REDACTED, redactSecrets } from './crypto/redact.ts'

export type { Logger }

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'wabox' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
          'headers.cookie',
          'headers["x-hub-signature-256"]',
          '*.token',
          '*.secret',
          '*.password',
          '*.key',
        ],
        censor: REDACTED,
      },
      formatters: {
        log: (object) => redactSecrets(object) as Record<string, unknown>,
      },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  )
}

/** How much of a dependency's console message is kept: enough to say what happened, never a dump. */
const CONSOLE_MESSAGE_CHARS = 200

/**
 * Sends every console write of the process through `logger`. wabox itself never uses the console; its dependencies
 * do, outside pino's redaction — libsignal (under Baileys) prints whole Signal sessions, root and chain keys included,
 * with `console.info("Closing session:", session)` during normal operation. So only a call's leading text is kept
 * (cut short, at debug for log/info, warn and error as such) and every other argument is dropped unread: the objects
 * are where the key material is. Returns a function that puts the original console back (tests).
 */
export function routeConsoleThrough(logger: Logger): () => void {
  const out = logger.child({ component: 'dependency-console' })
  const methods = ['log', 'info', 'debug', 'trace', 'warn', 'error', 'dir', 'table'] as const
  const originals = methods.map((m) => [m, console[m]] as const)
  for (const method of methods) {
    const level = method === 'warn' ? 'warn' : method === 'error' ? 'error' : 'debug'
    console[method] = (...args: unknown[]) => {
      const [first] = args
      const text = typeof first === 'string' ? first.slice(0, CONSOLE_MESSAGE_CHARS) : `(${typeof first})`
      out[level]({ method, droppedArguments: Math.max(0, args.length - 1) }, text)
    }
  }
  return () => {
    for (const [method, original] of originals) console[method] = original as never
  }
}

/** The logger of a server process: JSON lines to stdout at `level`, and the console of its dependencies through it. */
export function serverLogger(level: string): Logger {
  const logger = createLogger(level)
  routeConsoleThrough(logger)
  return logger
}
