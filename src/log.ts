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
