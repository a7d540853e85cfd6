/**
 * The one error shape: RFC 9457 `application/problem+json` with a stable `code`, field `errors[]` for
 * validation, and the request id. Services throw AppError (lib/errors.ts); the `errors` plugin maps everything else
 * (Elysia's own errors, unexpected exceptions) so that no response ever carries a stack trace.
 */
import { Elysia } from 'elysia'
import type { Logger } from '../log.ts'
import { storageFailureOf } from '../db/write-health.ts'
import { recordStatus, requestIdOf } from './request-context.ts'
import { AppError, type ErrorCode, type FieldError } from '../lib/errors.ts'

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

export type Problem = {
  type: string
  title: string
  status: number
  detail: string
  code: ErrorCode
  requestId: string | undefined
  errors?: FieldError[]
}

export function problemBody(
  status: number,
  code: ErrorCode,
  detail: string,
  requestId: string | undefined,
  errors?: FieldError[],
): Problem {
  return {
    type: `urn:wabox:problem:${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    requestId,
    ...(errors && errors.length > 0 ? { errors } : {}),
  }
}

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  })
}

/**
 * Elysia's validation issues → field errors. Only path and message: the rejected value may be a secret.
 * (Elysia's ValidationError pretty-prints the whole rejected value when it is built, before this runs: that is
 * what froze the server on a body nested 100,000 deep. The JSON parser's shape check — json-guard.ts — keeps
 * such bodies from ever reaching validation, so that work stays bounded by the body limit.)
 */
function fieldErrorsOf(error: unknown): FieldError[] {
  const all = (error as { all?: { path?: unknown; message?: unknown; summary?: unknown }[] }).all ?? []
  return all.slice(0, 20).map((issue) => {
    const path = typeof issue.path === 'string' ? issue.path.replace(/^\//, '').replace(/\//g, '.') : ''
    return {
      field: path === '' || path === 'root' ? '(body)' : path,
      message: String(issue.message ?? issue.summary ?? 'invalid value'),
    }
  })
}

const VALIDATION_SOURCES: Record<string, string> = {
  body: 'request body',
  query: 'query string',
  params: 'path parameters',
  headers: 'headers',
  cookie: 'cookies',
}

/** Seconds a client is asked to wait when the database could not take a write. */
export const STORAGE_RETRY_AFTER = 10

/** Maps any error thrown while handling a request to a problem response. */
export function toProblem(
  code: string | number,
  error: unknown,
  requestId: string | undefined,
): { problem: Problem; headers?: Record<string, string> } {
  // Elysia wraps whatever a body parser throws in a ParseError; our parser's AppError is the real answer.
  const cause = (error as { cause?: unknown })?.cause
  if (code === 'PARSE' && cause instanceof AppError) error = cause
  if (error instanceof AppError) {
    return {
      problem: problemBody(error.status, error.code, error.detail, requestId, error.errors),
      headers: error.headers,
    }
  }
  switch (code) {
    case 'NOT_FOUND':
      return { problem: problemBody(404, 'not_found', 'No such route or resource.', requestId) }
    case 'PARSE':
      return { problem: problemBody(400, 'malformed_body', 'The request body could not be parsed.', requestId) }
    case 'VALIDATION': {
      const source = String((error as { type?: string }).type ?? 'body')
      const errors = fieldErrorsOf(error)
      const status = source === 'body' ? 422 : 400
      const first = errors[0]
      const detail = first
        ? `Invalid ${VALIDATION_SOURCES[source] ?? source}: ${first.field} — ${first.message}`
        : `Invalid ${VALIDATION_SOURCES[source] ?? source}.`
      return { problem: problemBody(status, 'validation_failed', detail, requestId, errors) }
    }
    case 'INVALID_COOKIE_SIGNATURE':
      return { problem: problemBody(400, 'invalid_cookie', 'A cookie is invalid.', requestId) }
    case 'INVALID_FILE_TYPE':
      return {
        problem: problemBody(415, 'unsupported_media_type', 'The uploaded file type is not accepted.', requestId),
      }
    default: {
      // The database could not take the write (disk full, I/O error, read-only, busy): nothing was stored, and
      // trying again later is the right thing for the client to do.
      const storage = storageFailureOf(error)
      const busy = /^SQLITE_(BUSY|LOCKED)/.test(String((error as { code?: unknown })?.code ?? ''))
      if (storage || busy) {
        const detail = `The request could not be stored (${storage?.detail ?? 'database busy'}); nothing was changed. Retry later.`
        return {
          problem: problemBody(503, 'storage_unavailable', detail, requestId),
          headers: { 'retry-after': String(STORAGE_RETRY_AFTER) },
        }
      }
      return {
        problem: problemBody(
          500,
          'internal_error',
          'Something went wrong on our side; the request id identifies it in the logs.',
          requestId,
        ),
      }
    }
  }
}

/** The global error mapper. Unexpected errors are logged with their stack; the client sees a generic 500. */
export function errorsPlugin(logger: Logger) {
  return new Elysia({ name: 'errors' }).error({ AppError }).onError({ as: 'global' }, ({ code, error, request }) => {
    const requestId = requestIdOf(request)
    const { problem, headers } = toProblem(code, error, requestId)
    if (problem.status >= 500) {
      logger.error({ err: error, requestId, code }, 'unhandled error')
    }
    // Errors thrown before routing (a body over the limit) leave Elysia's own status unset: the log needs this one.
    recordStatus(request, problem.status)
    return problemResponse(problem, headers)
  })
}
