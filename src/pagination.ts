/**
 * Cursor pagination: lists return `{ items, nextCursor }`; the cursor is an opaque base64url token of the
 * last row's sort key, so pages stay stable while rows are added.
 */
import { z } from 'zod'
import { AppError } from './lib/errors.ts'

export const listQuery = z.object({
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
})

export type Page<T> = { items: T[]; nextCursor: string | null }

export function encodeCursor(key: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (cursor === undefined || cursor === '') return undefined
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')))
  } catch {
    throw new AppError(400, 'invalid_cursor', 'The cursor is not one this list returned.', [
      { field: 'cursor', message: 'invalid cursor' },
    ])
  }
}

/** Builds a page from rows fetched with `limit + 1` (the extra row only says whether there is more). */
export function pageOf<R, T>(
  rows: R[],
  limit: number,
  view: (r: R) => T,
  keyOf: (r: R) => Record<string, string | number>,
): Page<T> {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return {
    items: items.map(view),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
  }
}
