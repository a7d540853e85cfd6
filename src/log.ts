/**
 * Structured JSON logs to stdout (pino). Secrets never reach a line: known paths are redacted by pino, and
 * every logged object is walked so that any field named like a credential is censored wherever it sits.
 */
import pino, { type DestinationStream, type Logger } from 'pino'

export type { Logger }

const CENSOR = '[redacted]'

/** Field names that hold credentials. Matching is by name, so a new `fooToken` field is covered too. */
const SECRET_FIELD = /(token|secret|password|passwd|authorization|cookie|api[-_]?key|master[-_]?key|^key$|private[-_]?key|signature)/i

function censorDeep(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value
  if (value instanceof Error) return value
  if (Array.isArray(value)) return value.map((v) => censorDeep(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? CENSOR : censorDeep(v, depth + 1)
  return out
}

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
        censor: CENSOR,
      },
      formatters: {
        log: (object) => censorDeep(object) as Record<string, unknown>,
      },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  )
}
