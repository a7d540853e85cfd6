/**
 * Media types that come from strangers (a webhook's `mime_type`, Graph's media lookup, a QR message) end up in a
 * response header. Anything that is not a plain `type/subtype` with well-formed parameters — a CR/LF, a control
 * character, a quote left open, an absurd length — is replaced by `application/octet-stream`, both when it is
 * stored and when it is served, so one bad value can neither inject a header nor make its download fail forever.
 */
export const FALLBACK_MIME = 'application/octet-stream'

const TOKEN = "[A-Za-z0-9!#$%&'*+.^_`|~-]+"
// RFC 9110 media-type: type "/" subtype *( OWS ";" OWS parameter ), parameter values a token or a quoted string.
const MEDIA_TYPE = new RegExp(
  `^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t \\x21-\\x7e])*"))*$`,
)
const MAX_LENGTH = 255

/** The media type as it may be stored and sent: lower-cased type/subtype, or the fallback. Null stays null (unknown). */
export function safeMimeType(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null
  const trimmed = value.trim()
  if (trimmed === '' || trimmed.length > MAX_LENGTH || !MEDIA_TYPE.test(trimmed)) return FALLBACK_MIME
  const semicolon = trimmed.indexOf(';')
  return semicolon < 0
    ? trimmed.toLowerCase()
    : trimmed.slice(0, semicolon).trimEnd().toLowerCase() + trimmed.slice(semicolon)
}

/** For a Content-Type header: always a safe value. */
export const contentTypeOf = (value: string | null | undefined): string => safeMimeType(value) ?? FALLBACK_MIME
