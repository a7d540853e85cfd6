/**
 * Field names that hold credentials. Logs and audit metadata both censor by name, so a new `fooToken`
 * field is covered the day it is added.
 */
export const SECRET_FIELD =
  /(token|secret|password|passwd|authorization|cookie|api[-_]?key|master[-_]?key|^key$|private[-_]?key|signature)/i

export const REDACTED = '[redacted]'

/** A copy of `value` with every credential-named field replaced by REDACTED, at any depth. */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value
  if (value instanceof Error) return value
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? REDACTED : redactSecrets(v, depth + 1)
  return out
}
