/**
 * The typed API client: Eden Treaty over the server's own `App` type, so every request and response type here
 * comes from the routes' schemas and handlers — none is written by hand. `unwrap` turns Eden's
 * `{ data, error }` into a value or a thrown ApiError carrying the problem+json body (RFC 9457) the server sent.
 */
import { treaty } from '@elysiajs/eden'
import type { App } from '../../src/app.ts'
import { fill, messages } from '../i18n/index.ts'

export const api = treaty<App>(typeof location === 'undefined' ? 'http://localhost' : location.origin, {
  fetch: { credentials: 'same-origin' },
})

/** A workspace's routes: ws(id).conversations.get(…) and so on. */
export const ws = (workspaceId: string) => api.api.v1.workspaces({ workspaceId })

export type Problem = {
  status: number
  code?: string
  title?: string
  detail?: string
  errors?: { field: string; message: string }[]
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? fill(messages.app.unknownError, { status }))
  }
  /** The message for one field of a 422, if the server named it. */
  fieldError(field: string): string | undefined {
    return this.problem.errors?.find((e) => e.field === field || e.field.endsWith(`.${field}`))?.message
  }
}

/** Called when any request answers 401: the session ended (expired, signed out elsewhere, member removed). */
let onUnauthenticated: () => void = () => {}
export const setUnauthenticatedHandler = (fn: () => void) => {
  onUnauthenticated = fn
}

type EdenResult = { data: unknown; error: { status: unknown; value: unknown } | null; status: number }

/** The data of a successful call, or an ApiError (a network failure is status 0). */
export async function unwrap<R extends EdenResult>(
  call: Promise<R>,
  opts: { quiet401?: boolean } = {},
): Promise<NonNullable<R['data']>> {
  let result: R
  try {
    result = await call
  } catch {
    throw new ApiError(0, { status: 0, detail: messages.app.networkError })
  }
  if (result.error) {
    const status = Number(result.error.status) || result.status
    const value = result.error.value
    const problem: Problem =
      value && typeof value === 'object'
        ? (value as Problem)
        : { status, detail: typeof value === 'string' && value ? value : undefined }
    if (status === 401 && !opts.quiet401) onUnauthenticated()
    throw new ApiError(status, problem)
  }
  return result.data as NonNullable<R['data']>
}

/** A readable reason from anything a call may throw. */
export const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err))
