/**
 * A look at JSON text before anything parses or walks it. JSON.parse itself copes with deep nesting, but
 * everything after it recurses: validation, and Elysia's validation error, which pretty-prints the whole
 * rejected body (a body 100,000 levels deep overflows the stack after seconds of work, and a wide body a few
 * dozen levels deep costs its size times its depth). So bodies are refused by shape, in one pass over the
 * characters (brackets counted outside strings), in time proportional to their size:
 * - nesting deeper than `maxDepth` (64: wabox's own bodies and Meta's webhooks stay under 10);
 * - with `maxWeight`, a total depth of all values (the size of their pretty-printed indentation) above it.
 * Malformed text is left to JSON.parse, which names the problem.
 */
import { AppError } from './errors.ts'

export const MAX_JSON_DEPTH = 64

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const COMMA = 0x2c

/** Why `text` is refused, or null when its shape is acceptable (it may still be malformed). */
export function jsonShapeProblem(text: string, opts: { maxDepth?: number; maxWeight?: number } = {}): string | null {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH
  const maxWeight = opts.maxWeight ?? Infinity
  let depth = 0
  let weight = 0
  let inString = false
  for (let i = 0, n = text.length; i < n; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
      continue
    }
    if (c === QUOTE) inString = true
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return `it is nested deeper than ${maxDepth} levels`
      weight += depth
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--
    else if (c === COMMA) weight += depth
    else continue
    if (weight > maxWeight) return 'its values nest too deeply for its size'
  }
  return null
}

/** JSON.parse behind the shape check: a refused or malformed text is a 400 problem naming why. */
export function parseJsonChecked(
  text: string,
  opts: { maxDepth?: number; maxWeight?: number; what?: string } = {},
): unknown {
  const what = opts.what ?? 'The request body'
  const problem = jsonShapeProblem(text, opts)
  if (problem) throw new AppError(400, 'json_too_complex', `${what} is refused: ${problem}.`)
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new AppError(400, 'malformed_json', `${what} is not valid JSON: ${(err as Error).message.slice(0, 120)}`)
  }
}
