/**
 * Errors without HTTP: services throw an AppError with a status and a code from the catalogue below; only
 * `http/errors.ts` knows how it becomes an `application/problem+json` answer. The catalogue is the list of every
 * `code` a client can see — a code that is not in it does not compile.
 */

export type FieldError = { field: string; message: string }

/** Every problem code, with what it means for the client. */
export const ERROR_CODES = {
  // Requests in general
  not_found: 'The route, or the resource in this workspace, does not exist',
  validation_failed: 'A field of the request is invalid (errors[] names each one)',
  malformed_json: 'The body is not valid JSON, or not of the declared content type',
  malformed_body: 'The body could not be parsed',
  json_too_complex: 'The JSON body is nested too deeply or too large to walk',
  body_too_large: 'The body is over the size limit',
  unsupported_media_type: 'The content type (or uploaded file type) is not accepted',
  invalid_cookie: 'A cookie is invalid',
  invalid_cursor: 'The pagination cursor is not one this server issued',
  bad_path: 'The path is not one the UI serves',
  cross_site_request: 'A cookie-authenticated write came from another site',
  rate_limited: 'Too many requests from this caller; see Retry-After',
  storage_unavailable: 'The database could not take the write; nothing changed; retry',
  internal_error: 'An unexpected error; the request id finds it in the logs',
  starting: 'The server is starting or stopping',
  // Sign-in, sessions, keys, setup
  unauthenticated: 'No valid session or API key',
  invalid_credentials: 'The e-mail or password is wrong',
  login_throttled: 'Too many failed sign-ins; see Retry-After',
  session_expired: 'The session has expired or was signed out; sign in again',
  session_required: 'This action needs a signed-in person, not an API key',
  wrong_password: 'The current password is wrong',
  invalid_api_key: 'The API key is unknown, revoked or expired',
  already_revoked: 'The key is already revoked',
  account_exists: 'An account with this e-mail already exists',
  invalid_setup_token: 'The setup token is wrong',
  setup_token_expired: 'The setup token has expired; restart the server for a new one',
  setup_complete: 'Setup has been done already',
  operator_only: 'Only the instance operator may do this',
  metrics_token_required: 'The metrics scrape needs its bearer token',
  key_unavailable: 'The master key is not loaded: credentials cannot be sealed or opened',
  // Workspaces, members, invites, plans
  forbidden: 'The caller’s role does not allow this action',
  owner_protected: 'An Admin cannot change or remove an Owner',
  cannot_grant_owner: 'Only an Owner can make someone an Owner',
  last_owner: 'The workspace would be left without an Owner',
  already_member: 'The person is already a member',
  invite_not_found: 'No such invite',
  invite_not_pending: 'The invite was accepted, revoked or has expired',
  invite_accepted: 'The invite was accepted already',
  invite_expired: 'The invite has expired; ask for a new one',
  invite_revoked: 'The invite was revoked',
  invite_email_mismatch: 'The invite is for another e-mail address',
  confirmation_mismatch: 'The typed confirmation does not match',
  unknown_plan: 'No such plan',
  plan_quota_exceeded: 'The workspace’s plan allows no more of these',
  plan_feature_unavailable: 'The workspace’s plan does not include this feature',
  // Channels
  unknown_channel: 'No channel receives webhooks at this URL',
  channel_disconnected: 'The channel is disconnected',
  channel_unavailable: 'The channel cannot send right now',
  phone_number_in_use: 'The number is connected on this instance already',
  phone_number_unavailable: 'Meta does not know this number with this token',
  invalid_access_token: 'Meta rejected the access token',
  graph_unreachable: 'The Meta Graph API could not be reached',
  graph_unavailable: 'The Meta Graph API is temporarily unavailable',
  verification_failed: 'The webhook verify token does not match',
  invalid_signature: 'The webhook signature is missing or wrong',
  unsupported_payload: 'The webhook body is not a WhatsApp Business webhook',
  intake_unavailable: 'The webhook events could not be stored; retry',
  not_a_qr_channel: 'The action is for QR-linked channels only',
  not_linking: 'The channel is not waiting to be linked',
  no_qr: 'No QR code is showing right now',
  pairing_code_failed: 'WhatsApp did not give a pairing code',
  // Messages
  contact_opted_out: 'The contact opted out of messages',
  no_phone_number: 'The contact has no number WhatsApp can deliver to',
  outside_service_window: 'Outside the 24-hour window only a template can be sent',
  not_supported_on_qr: 'QR-linked numbers cannot send this kind of message',
  idempotency_key_reused: 'The Idempotency-Key was used with another body',
  invalid_target: 'The reply or reaction target is not usable',
  media_not_ready: 'The media file has not been downloaded yet',
  media_too_large: 'The file is over WhatsApp’s size for its type',
  upload_failed: 'Meta did not accept the upload',
  upload_refused: 'Meta refused the file itself (its type, size or encoding); details say why',
  // Webhook endpoints
  too_many_endpoints: 'The workspace has the most webhook endpoints allowed',
} as const satisfies Record<string, string>

export type ErrorCode = keyof typeof ERROR_CODES

export class AppError extends Error {
  override name = 'AppError'
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    /** Safe for the client: never include a secret or an internal detail here. */
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail)
  }
}

/** 404 for something that is not in this workspace (or does not exist: the two are never told apart). */
export const notFound = (kind: string, where = 'in this workspace') =>
  new AppError(404, 'not_found', `No such ${kind}${where ? ` ${where}` : ''}.`)

/** 422 naming one invalid field of the request body, in the same shape as schema validation. */
export const invalidField = (field: string, message: string) =>
  new AppError(422, 'validation_failed', `Invalid request body: ${field} — ${message}`, [{ field, message }])
