/**
 * Meta's rules for what POST /{phone-number-id}/messages and POST /{phone-number-id}/media accept, checked the way
 * the Graph API checks them, for the loopback double (graph-double.ts). Written from Meta's developer pages and
 * cross-checked with independent SDKs (whatsapp-api-js, pywa, netflie, Meta's archived Node SDK); every rule names
 * its source. Pages are cited by title; they live under
 * developers.facebook.com/documentation/business-messaging/whatsapp/ (2025–2026 revisions).
 *
 * Which code a broken rule answers with follows Meta's "WhatsApp error codes" page (Updated Jun 18 2026):
 *   100     Invalid parameter — "unsupported or misspelled parameters": a field the message type does not take, a
 *           field of the wrong JSON type, `id` and `link` together;
 *   131008  Required parameter is missing;
 *   131009  Parameter value is not valid — too long, out of range, counts outside the limits;
 *   131051  Unsupported message type;
 *   131053  Media upload error (the upload endpoint: too large a file);
 *   132000  Number of parameters does not match the expected number of params (registered templates only);
 *   132001  Template name does not exist in the translation.
 * All of them come back as HTTP 400 (the page's table; HTTP 400 for 100/131008/131009 is also in YCloud's copy).
 * Field paths in `details` are written the way Graph writes them: text['body'], interactive['action']['buttons'].
 *
 * Lengths are counted in Unicode code points: an emoji is one character to WhatsApp, not two UTF-16 units.
 */

export type Refusal = { httpStatus: number; code: number; title: string; details: string }

/** Titles from Meta's "WhatsApp error codes" page; Graph puts `(#code) title` in `error.message`. */
export const ERROR_TITLES: Record<number, string> = {
  100: 'Invalid parameter',
  131008: 'Required parameter is missing',
  131009: 'Parameter value is not valid',
  131021: 'Recipient cannot be sender',
  131026: 'Message undeliverable',
  131047: 'Re-engagement message',
  131049: 'This message was not delivered to maintain healthy ecosystem engagement.',
  131051: 'Unsupported message type',
  131053: 'Media upload error',
  132000: 'Number of parameters does not match the expected number of params',
  132001: 'Template name does not exist in the translation',
  132015: 'Template is paused',
  132016: 'Template is disabled',
}

/** `error_data.details` Meta documents for the asynchronous failures (statuses[].errors[], "WhatsApp error codes"). */
export const FAILURE_DETAILS: Record<number, string> = {
  131026:
    'Message undeliverable: the recipient phone number is not a WhatsApp phone number, has not accepted the latest Terms of Service, or uses an old WhatsApp version.',
  131047:
    'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
  131049: 'In order to maintain a healthy ecosystem engagement, the message failed to be delivered.',
  131009: 'The message you are reacting to is more than 30 days old, deleted, not in this chat, or a reaction.',
  131053: 'Unable to upload the media used in the message.',
}

class RuleBroken extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(details)
  }
}

const refuse = (code: number, details: string): never => {
  throw new RuleBroken(code, details)
}

function refusalOf(err: unknown): Refusal {
  if (!(err instanceof RuleBroken)) throw err
  return { httpStatus: 400, code: err.code, title: ERROR_TITLES[err.code] ?? 'Invalid parameter', details: err.details }
}

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const chars = (s: string) => [...s].length
const path = (base: string, key: string | number) => (typeof key === 'number' ? `${base}[${key}]` : `${base}['${key}']`)

/** The object at `key` (131008 when missing, 100 when not an object). */
function object(parent: Json, key: string, at: string): Json {
  const v = parent[key]
  if (v === undefined || v === null) refuse(131008, `The parameter ${path(at, key)} is required.`)
  if (!isObject(v)) refuse(100, `Param ${path(at, key)} must be an object.`)
  return v as Json
}

function array(parent: Json, key: string, at: string): unknown[] {
  const v = parent[key]
  if (v === undefined || v === null) refuse(131008, `The parameter ${path(at, key)} is required.`)
  if (!Array.isArray(v)) refuse(100, `Param ${path(at, key)} must be an array.`)
  return v as unknown[]
}

/** A string of 1…max characters at `key`; `optional` lets it be absent (never empty). */
function text(parent: Json, key: string, at: string, max: number, opts: { optional?: boolean } = {}): string | null {
  const v = parent[key]
  if (v === undefined || v === null) {
    if (opts.optional) return null
    refuse(131008, `The parameter ${path(at, key)} is required.`)
  }
  if (typeof v !== 'string') refuse(100, `Param ${path(at, key)} must be a string.`)
  const s = v as string
  if (s.trim() === '') refuse(131009, `Param ${path(at, key)} must not be empty.`)
  if (chars(s) > max) refuse(131009, `Param ${path(at, key)} must be at most ${max} characters long.`)
  return s
}

function forbid(parent: Json, keys: string[], at: string, why: string) {
  for (const k of keys) if (parent[k] !== undefined) refuse(100, `Param ${path(at, k)} is not allowed: ${why}.`)
}

function count(items: unknown[], at: string, min: number, max: number, what: string) {
  if (items.length < min || items.length > max)
    refuse(131009, `Invalid ${what} count in ${at}. Min allowed: ${min}, Max allowed: ${max}, got ${items.length}.`)
}

function unique(values: string[], at: string, what: string) {
  if (new Set(values).size !== values.length) refuse(131009, `${what} in ${at} must be unique.`)
}

const HTTP_URL = /^https?:\/\/[^\s/$.?#][^\s]*$/i

/**
 * A media object: exactly one of `id` (an uploaded media id) or `link` (a public http(s) URL); caption only on
 * image, video and document (≤ 1024); filename only on documents.
 * Sources: "Image messages" / "Video messages" / "Document messages" / "Audio messages" / "Sticker messages"
 * (Updated Jun 24 2026: "<MEDIA_ID> Required if using uploaded media, otherwise omit", "<MEDIA_URL> Required if
 * using hosted media, otherwise omit", "Media asset caption text. Maximum 1024 characters"; audio and sticker
 * requests have no caption); whatsapp-api-js messages/media.ts (caption only on image, video, document).
 */
function media(kind: string, m: Json, at: string, opts: { inHeader?: boolean } = {}) {
  const hasId = m.id !== undefined
  const hasLink = m.link !== undefined
  if (hasId && hasLink) refuse(100, `Param ${at} must have either 'id' or 'link', not both.`)
  if (!hasId && !hasLink) refuse(131008, `The parameter ${at}['id'] or ${at}['link'] is required.`)
  if (hasId && (typeof m.id !== 'string' || !/^\d{1,30}$/.test(m.id)))
    refuse(131009, `Param ${path(at, 'id')} is not a valid media id.`)
  if (hasLink && (typeof m.link !== 'string' || !HTTP_URL.test(m.link)))
    refuse(131009, `Param ${path(at, 'link')} must be an http:// or https:// URL.`)
  const captioned = kind === 'image' || kind === 'video' || kind === 'document'
  // Interactive headers and template headers carry media without a caption ("Interactive reply buttons messages").
  if (!captioned || opts.inHeader)
    forbid(m, ['caption'], at, `${kind} ${opts.inHeader ? 'headers' : 'messages'} have no caption`)
  else text(m, 'caption', at, 1024, { optional: true })
  if (kind !== 'document') forbid(m, ['filename'], at, 'only documents have a filename')
  else text(m, 'filename', at, 240, { optional: true })
}

/** "Text messages": body required, "Maximum 4096 characters"; preview_url a boolean (whatsapp-api-js text.ts). */
function textMessage(msg: Json) {
  const t = object(msg, 'text', '')
  text(t, 'body', 'text', 4096)
  if (t.preview_url !== undefined && typeof t.preview_url !== 'boolean')
    refuse(100, "Param text['preview_url'] must be a boolean.")
}

/** "Location messages": latitude and longitude required (decimal degrees), name and address optional. */
function locationMessage(msg: Json) {
  const l = object(msg, 'location', '')
  const coordinate = (key: 'latitude' | 'longitude', limit: number) => {
    const raw = l[key]
    if (raw === undefined) refuse(131008, `The parameter location['${key}'] is required.`)
    const n = typeof raw === 'string' ? Number(raw) : raw
    if (typeof n !== 'number' || !Number.isFinite(n)) refuse(100, `Param location['${key}'] must be a number.`)
    if (Math.abs(n as number) > limit)
      refuse(131009, `Param location['${key}'] must be between -${limit} and ${limit}.`)
  }
  coordinate('latitude', 90)
  coordinate('longitude', 180)
  text(l, 'name', 'location', 1000, { optional: true })
  text(l, 'address', 'location', 1000, { optional: true })
}

/** "Contacts messages": a non-empty contacts array; each contact needs name.formatted_name. */
function contactsMessage(msg: Json) {
  const list = array(msg, 'contacts', '')
  count(list, 'contacts', 1, 257, 'contacts')
  list.forEach((c, i) => {
    const at = `contacts[${i}]`
    if (!isObject(c)) refuse(100, `Param ${at} must be an object.`)
    text(object(c as Json, 'name', at), 'formatted_name', `${at}['name']`, 1000)
  })
}

const isEmoji = (e: string) => {
  const graphemes = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(e)]
  // A keycap (1️⃣) is a digit + U+FE0F + U+20E3: not Extended_Pictographic, still one emoji (whatsapp-api-js).
  return graphemes.length === 1 && /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20E3/u.test(e)
}

/**
 * "Reaction messages" (Updated May 21 2026): message_id is required ("WhatsApp message ID of message you want to
 * apply the emoji to"); emoji is required, "Unicode escape sequence of the emoji, or the emoji itself"; an empty
 * emoji removes the reaction (netflie test_send_remove_reaction_message).
 */
function reactionMessage(msg: Json) {
  const r = object(msg, 'reaction', '')
  text(r, 'message_id', 'reaction', 128)
  if (r.emoji === undefined) refuse(131008, "The parameter reaction['emoji'] is required.")
  if (typeof r.emoji !== 'string') refuse(100, "Param reaction['emoji'] must be a string.")
  if (r.emoji !== '' && !isEmoji(r.emoji as string)) refuse(131009, "Param reaction['emoji'] must be a single emoji.")
}

/** Interactive header: text ≤ 60, or (reply buttons only) image / video / document without caption. */
function interactiveHeader(i: Json, allowMedia: boolean) {
  if (i.header === undefined) return
  const h = object(i, 'header', 'interactive')
  const at = "interactive['header']"
  const kinds = allowMedia ? ['text', 'image', 'video', 'document'] : ['text']
  if (typeof h.type !== 'string' || !kinds.includes(h.type))
    refuse(131009, `Param ${at}['type'] must be one of ${kinds.join(', ')}.`)
  if (h.type === 'text') text(h, 'text', at, 60)
  else media(h.type as string, object(h, h.type as string, at), `${at}['${h.type}']`, { inHeader: true })
}

function interactiveFooter(i: Json) {
  if (i.footer !== undefined) text(object(i, 'footer', 'interactive'), 'text', "interactive['footer']", 60)
}

/**
 * "Interactive reply buttons messages" (Updated Nov 3 2025): body "Maximum 1024 characters"; "Supports up to 3
 * buttons"; button id "Maximum 256 characters"; label "Must be unique if using multiple buttons. Maximum 20
 * characters"; footer "Maximum 60 characters"; header document, image, text or video. Meta's Node SDK
 * ButtonObject: the id is unique too; whatsapp-api-js interactive.ts: 1–3 buttons, ids unique, titles unique.
 */
function replyButtons(i: Json) {
  interactiveHeader(i, true)
  text(object(i, 'body', 'interactive'), 'text', "interactive['body']", 1024)
  interactiveFooter(i)
  const at = "interactive['action']['buttons']"
  const buttons = array(object(i, 'action', 'interactive'), 'buttons', "interactive['action']")
  count(buttons, at, 1, 3, 'buttons')
  const ids: string[] = []
  const titles: string[] = []
  buttons.forEach((b, n) => {
    if (!isObject(b)) refuse(100, `Param ${at}[${n}] must be an object.`)
    const button = b as Json
    if (button.type !== 'reply') refuse(131009, `Param ${at}[${n}]['type'] must be 'reply'.`)
    const reply = object(button, 'reply', `${at}[${n}]`)
    const id = text(reply, 'id', `${at}[${n}]['reply']`, 256)!
    if (id.trim() !== id) refuse(131009, `Param ${at}[${n}]['reply']['id'] must not start or end with spaces.`)
    ids.push(id)
    titles.push(text(reply, 'title', `${at}[${n}]['reply']`, 20)!)
  })
  unique(ids, at, 'Button ids')
  unique(titles, at, 'Button titles')
}

/**
 * "Interactive list messages" (Updated Jun 28 2026): button label "Maximum 20 characters"; footer ≤ 60; header "Supports text header type only. Maximum 60 characters"; "up to 10 sections,
 * with up to 10 rows for all sections combined"; row id ≤ 200, row title ≤ 24, row description ≤ 72; section title
 * ≤ 24, required when there is more than one section (Cloud API messages reference, section object: "Required if
 * the message has more than one section"). Row ids unique (whatsapp-api-js interactive.ts).
 * The body: Meta's current page says 4096, but Meta's Node SDK docs, whatsapp-api-js and Sinch give 1024, and
 * messages over 1024 are refused in practice (cloud-api-2026.md, "Checked against independent sources"); the double
 * is as strict as the strictest source.
 */
function list(i: Json) {
  interactiveHeader(i, false)
  text(object(i, 'body', 'interactive'), 'text', "interactive['body']", 1024)
  interactiveFooter(i)
  const action = object(i, 'action', 'interactive')
  text(action, 'button', "interactive['action']", 20)
  const at = "interactive['action']['sections']"
  const sections = array(action, 'sections', "interactive['action']")
  count(sections, at, 1, 10, 'sections')
  const ids: string[] = []
  sections.forEach((s, n) => {
    if (!isObject(s)) refuse(100, `Param ${at}[${n}] must be an object.`)
    const section = s as Json
    text(section, 'title', `${at}[${n}]`, 24, { optional: sections.length === 1 })
    const rows = array(section, 'rows', `${at}[${n}]`)
    if (rows.length === 0) refuse(131009, `Param ${at}[${n}]['rows'] must have at least 1 row.`)
    rows.forEach((r, k) => {
      const rowAt = `${at}[${n}]['rows'][${k}]`
      if (!isObject(r)) refuse(100, `Param ${rowAt} must be an object.`)
      ids.push(text(r as Json, 'id', rowAt, 200)!)
      text(r as Json, 'title', rowAt, 24)
      text(r as Json, 'description', rowAt, 72, { optional: true })
    })
  })
  if (ids.length > 10) refuse(131009, `Total row count exceeds max allowed count: 10 (got ${ids.length}).`)
  unique(ids, at, 'Row ids')
}

/** "Interactive call-to-action URL button messages": display_text ≤ 20, url required, body ≤ 1024. */
function ctaUrl(i: Json) {
  interactiveHeader(i, true)
  text(object(i, 'body', 'interactive'), 'text', "interactive['body']", 1024)
  interactiveFooter(i)
  const action = object(i, 'action', 'interactive')
  if (action.name !== 'cta_url') refuse(131009, "Param interactive['action']['name'] must be 'cta_url'.")
  const p = object(action, 'parameters', "interactive['action']")
  text(p, 'display_text', "interactive['action']['parameters']", 20)
  const url = text(p, 'url', "interactive['action']['parameters']", 2000)!
  if (!HTTP_URL.test(url)) refuse(131009, "Param interactive['action']['parameters']['url'] must be an http(s) URL.")
}

/** The interactive types of the Cloud API messages reference; wabox sends button and list. */
const OTHER_INTERACTIVE = new Set(['flow', 'product', 'product_list', 'catalog_message', 'location_request_message'])

function interactiveMessage(msg: Json) {
  const i = object(msg, 'interactive', '')
  if (i.type === 'button') return replyButtons(i)
  if (i.type === 'list') return list(i)
  if (i.type === 'cta_url') return ctaUrl(i)
  if (typeof i.type === 'string' && OTHER_INTERACTIVE.has(i.type)) return
  if (i.type === undefined) refuse(131008, "The parameter interactive['type'] is required.")
  refuse(
    131009,
    `Param interactive['type'] must be one of button, list, cta_url, ${[...OTHER_INTERACTIVE].join(', ')}.`,
  )
}

/**
 * A template Meta approved, for the double to check sends against (132000, 132001, 132015/132016): how many
 * parameters each component takes. Unregistered templates are only checked for their shape.
 */
export type KnownTemplate = {
  name: string
  language: string
  category: 'MARKETING' | 'UTILITY' | 'AUTHENTICATION'
  status?: 'APPROVED' | 'PAUSED' | 'DISABLED'
  headerParams?: number
  bodyParams?: number
}

/**
 * Which parameter types each component takes — "Template messages" and Meta's Node SDK ComponentObject /
 * ParameterObject docs: header text, currency, date_time, image, document, video, location (one header parameter,
 * "Text headers support 1 parameter", "Template components"); body text, currency, date_time; buttons by
 * sub_type — quick_reply takes a payload, url a text (the URL suffix), copy_code a coupon_code, flow / catalog /
 * mpm an action (cloud-api-2026.md, checked against whatsapp-api-js template.ts).
 */
const HEADER_PARAMS = new Set(['text', 'currency', 'date_time', 'image', 'document', 'video', 'location'])
const BODY_PARAMS = new Set(['text', 'currency', 'date_time'])
const BUTTON_PARAM: Record<string, string> = {
  quick_reply: 'payload',
  url: 'text',
  copy_code: 'coupon_code',
  flow: 'action',
  catalog: 'action',
  mpm: 'action',
}

function templateParameter(p: unknown, at: string, component: 'header' | 'body', textMax: number) {
  if (!isObject(p)) refuse(100, `Param ${at} must be an object.`)
  const param = p as Json
  const allowed = component === 'header' ? HEADER_PARAMS : BODY_PARAMS
  if (typeof param.type !== 'string' || !allowed.has(param.type))
    refuse(131009, `Param ${at}['type'] must be one of ${[...allowed].join(', ')} in a ${component} component.`)
  // Named parameters (parameter_format NAMED): lowercase letters, digits and underscores ("Template components").
  if (
    param.parameter_name !== undefined &&
    (typeof param.parameter_name !== 'string' || !/^[a-z0-9_]+$/.test(param.parameter_name))
  )
    refuse(131009, `Param ${at}['parameter_name'] must be lowercase letters, digits and underscores.`)
  switch (param.type) {
    case 'text':
      return void text(param, 'text', at, textMax)
    case 'currency': {
      const c = object(param, 'currency', at)
      text(c, 'fallback_value', `${at}['currency']`, 1000)
      const code = text(c, 'code', `${at}['currency']`, 3)!
      if (!/^[A-Z]{3}$/.test(code)) refuse(131009, `Param ${at}['currency']['code'] must be an ISO 4217 code.`)
      // whatsapp-api-js template.ts: "Currency must have an amount_1000 greater than 0".
      if (!Number.isInteger(c.amount_1000) || (c.amount_1000 as number) <= 0)
        refuse(131009, `Param ${at}['currency']['amount_1000'] must be an integer greater than 0.`)
      return
    }
    case 'date_time':
      return void text(object(param, 'date_time', at), 'fallback_value', `${at}['date_time']`, 1000)
    case 'location': {
      const l = object(param, 'location', at)
      for (const key of ['latitude', 'longitude'])
        if (l[key] === undefined) refuse(131008, `The parameter ${at}['location']['${key}'] is required.`)
      return
    }
    default:
      return media(param.type as string, object(param, param.type as string, at), `${at}['${param.type}']`, {
        inHeader: true,
      })
  }
}

/**
 * "Template messages" / Cloud API messages reference, template object: name and language.code required;
 * components of type header, body or button (Meta's samples use lowercase; pywa sends uppercase and Meta takes
 * it); button components need sub_type and a zero-based index (a string in Meta's samples, an integer in netflie's).
 * Text parameters: ≤ 60 in a header (whatsapp-api-js "Header text must be 60 characters or less"), ≤ 1024 in a
 * body, ≤ 32768 when the body is the only component (cloud-api-2026.md, from whatsapp-api-js).
 */
function templateMessage(msg: Json, templates: KnownTemplate[]) {
  const t = object(msg, 'template', '')
  const name = text(t, 'name', 'template', 512)!
  const language = text(object(t, 'language', 'template'), 'code', "template['language']", 20)!
  const components = t.components === undefined ? [] : array(t, 'components', 'template')
  const kinds = components.map((c, n) => {
    if (!isObject(c)) refuse(100, `Param template['components'][${n}] must be an object.`)
    return String((c as Json).type ?? '').toLowerCase()
  })
  const bodyOnly = kinds.length === 1 && kinds[0] === 'body'
  const counts = { header: 0, body: 0 }
  const buttonIndexes: number[] = []
  components.forEach((c, n) => {
    const at = `template['components'][${n}]`
    const component = c as Json
    const kind = kinds[n] as 'header' | 'body' | 'button'
    if (kind !== 'header' && kind !== 'body' && kind !== 'button')
      refuse(131009, `Param ${at}['type'] must be header, body or button.`)
    const params = component.parameters === undefined ? [] : array(component, 'parameters', at)
    if (kind === 'button') {
      const sub = component.sub_type
      if (sub === undefined) refuse(131008, `The parameter ${at}['sub_type'] is required.`)
      if (typeof sub !== 'string' || !(sub in BUTTON_PARAM))
        refuse(131009, `Param ${at}['sub_type'] must be one of ${Object.keys(BUTTON_PARAM).join(', ')}.`)
      if (component.index === undefined) refuse(131008, `The parameter ${at}['index'] is required.`)
      const index = Number(component.index)
      if (!Number.isInteger(index) || index < 0 || index > 9 || String(component.index).trim() === '')
        refuse(131009, `Param ${at}['index'] must be a button position from 0 to 9.`)
      buttonIndexes.push(index)
      params.forEach((p, k) => {
        const pAt = `${at}['parameters'][${k}]`
        const want = BUTTON_PARAM[sub as string]!
        if (!isObject(p) || (p as Json).type !== want)
          refuse(131009, `Param ${pAt}['type'] must be '${want}' for a ${sub} button.`)
        if (want === 'action') object(p as Json, 'action', pAt)
        else text(p as Json, want, pAt, want === 'coupon_code' ? 15 : want === 'payload' ? 256 : 2000)
      })
      return
    }
    if (kind === 'header' && params.length > 1) refuse(131009, `Param ${at}['parameters'] takes at most 1 parameter.`)
    const textMax = kind === 'header' ? 60 : bodyOnly ? 32768 : 1024
    params.forEach((p, k) => {
      templateParameter(p, `${at}['parameters'][${k}]`, kind, textMax)
    })
    counts[kind] += params.length
  })
  for (const kind of ['header', 'body'])
    if (kinds.filter((k) => k === kind).length > 1)
      refuse(131009, `Param template['components'] takes at most one ${kind} component.`)
  unique(buttonIndexes.map(String), "template['components']", 'Button indexes')

  const known = templates.filter((k) => k.name === name)
  if (known.length === 0) return null
  const template = known.find((k) => k.language === language)
  if (!template) {
    refuse(132001, `Template name does not exist in the translation: ${name} in ${language}.`)
    return null
  }
  if (template.status === 'PAUSED') refuse(132015, `Template ${name} is paused.`)
  if (template.status === 'DISABLED') refuse(132016, `Template ${name} is disabled.`)
  const expect = { header: template.headerParams ?? 0, body: template.bodyParams ?? 0 }
  for (const kind of ['header', 'body'] as const)
    if (counts[kind] !== expect[kind])
      refuse(
        132000,
        `${kind}: number of localizable_params (${counts[kind]}) does not match the expected number of params (${expect[kind]})`,
      )
  return template
}

/** The types of the Cloud API messages reference ("Messages" — type values). */
const MESSAGE_TYPES = [
  'text',
  'template',
  'image',
  'video',
  'audio',
  'document',
  'sticker',
  'location',
  'contacts',
  'interactive',
  'reaction',
] as const

/** BSUID, "Business-scoped user IDs" (Updated May 28 2026): `CC.` + up to 128 letters and digits (`ENT.` for parents). */
export const BSUID = /^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$/

export type CheckedSend = {
  type: (typeof MESSAGE_TYPES)[number]
  /** The phone number the message goes to (digits), or null for a BSUID-only send. */
  to: string | null
  /** The BSUID the message goes to when `to` is absent ("if both to and recipient are present, to wins"). */
  recipient: string | null
  template: KnownTemplate | null
}

/**
 * A send body as Meta checks it; `Refusal` when Meta would answer HTTP 400 (nothing is sent then).
 * Common keys: Cloud API messages reference — messaging_product "whatsapp" required; recipient_type "individual"
 * (default) or "group"; `to` (a phone number, "+" and formatting allowed) or, since v25, `recipient` (a BSUID);
 * `context.message_id` for a reply; biz_opaque_callback_data "maximum 512 characters".
 */
export function checkSend(body: unknown, opts: { templates?: KnownTemplate[] } = {}): CheckedSend | Refusal {
  try {
    if (!isObject(body)) return refuse(100, 'The request body must be a JSON object.')
    if (body.messaging_product === undefined) refuse(131008, 'The parameter messaging_product is required.')
    if (body.messaging_product !== 'whatsapp') refuse(131009, "Param messaging_product must be 'whatsapp'.")
    if (body.recipient_type !== undefined && body.recipient_type !== 'individual' && body.recipient_type !== 'group')
      refuse(131009, "Param recipient_type must be 'individual' or 'group'.")
    let to: string | null = null
    let recipient: string | null = null
    if (body.to !== undefined) {
      if (typeof body.to !== 'string') refuse(100, 'Param to must be a string.')
      const digits = (body.to as string).replace(/[\s()+-]/g, '')
      if (!/^\d+$/.test(digits)) refuse(100, 'Param to must be a phone number.')
      to = digits
    } else if (body.recipient !== undefined) {
      if (typeof body.recipient !== 'string' || !BSUID.test(body.recipient))
        refuse(131009, 'Param recipient must be a business-scoped user id (e.g. US.13491208655302741918).')
      recipient = body.recipient as string
    } else refuse(131008, 'The parameter to is required.')
    if (body.context !== undefined) text(object(body, 'context', ''), 'message_id', 'context', 128)
    if (body.biz_opaque_callback_data !== undefined) {
      if (typeof body.biz_opaque_callback_data !== 'string')
        refuse(100, 'Param biz_opaque_callback_data must be a string.')
      if (chars(body.biz_opaque_callback_data as string) > 512)
        refuse(131009, 'Param biz_opaque_callback_data must be at most 512 characters long.')
    }
    const type = body.type ?? 'text'
    if (typeof type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(type))
      refuse(131051, `Message type ${String(type)} is not supported.`)
    let template: KnownTemplate | null = null
    switch (type as CheckedSend['type']) {
      case 'text':
        textMessage(body)
        break
      case 'image':
      case 'video':
      case 'audio':
      case 'document':
      case 'sticker':
        media(type as string, object(body, type as string, ''), type as string)
        break
      case 'location':
        locationMessage(body)
        break
      case 'contacts':
        contactsMessage(body)
        break
      case 'interactive':
        interactiveMessage(body)
        break
      case 'reaction':
        reactionMessage(body)
        break
      case 'template':
        template = templateMessage(body, opts.templates ?? [])
        // "Business-scoped user IDs": authentication templates still need a phone number.
        if (template?.category === 'AUTHENTICATION' && to === null)
          refuse(131009, 'Authentication templates must be sent to a phone number (to), not a recipient BSUID.')
        break
    }
    return { type: type as CheckedSend['type'], to, recipient, template }
  } catch (err) {
    return refusalOf(err)
  }
}

/**
 * POST /{phone-number-id}/messages with `status: "read"` (mark as read, and the typing indicator):
 * "Mark messages as read" / "Typing indicators" — message_id required; typing_indicator.type "text".
 */
export function checkMarkRead(body: Json): Refusal | null {
  try {
    if (body.messaging_product !== 'whatsapp') refuse(131008, 'The parameter messaging_product is required.')
    text(body, 'message_id', '', 128)
    if (!String(body.message_id).startsWith('wamid.')) refuse(131009, 'Param message_id is not a valid message id.')
    if (body.typing_indicator !== undefined) {
      const t = object(body, 'typing_indicator', '')
      if (t.type !== 'text') refuse(131009, "Param typing_indicator['type'] must be 'text'.")
    }
    return null
  } catch (err) {
    return refusalOf(err)
  }
}

/**
 * "Supported media types" (Media page, Updated Dec 2 2025; the same table on "Image/Audio/… messages" pages and
 * AWS End User Messaging's copy): the MIME types the upload endpoint takes, and their size caps in decimal
 * megabytes (whatsapp-api-js uploadMedia uses 5 000 000 / 16 000 000 / 100 000 000 / 500 000). Stickers: static
 * 100 KB, animated 500 KB (a WebP with an ANIM chunk is animated). audio/ogg is OPUS only (not checked here).
 */
export const UPLOAD_TYPES: Record<string, { kind: string; maxBytes: number }> = {
  'audio/aac': { kind: 'audio', maxBytes: 16_000_000 },
  'audio/amr': { kind: 'audio', maxBytes: 16_000_000 },
  'audio/mpeg': { kind: 'audio', maxBytes: 16_000_000 },
  'audio/mp4': { kind: 'audio', maxBytes: 16_000_000 },
  'audio/ogg': { kind: 'audio', maxBytes: 16_000_000 },
  'text/plain': { kind: 'document', maxBytes: 100_000_000 },
  'application/pdf': { kind: 'document', maxBytes: 100_000_000 },
  'application/msword': { kind: 'document', maxBytes: 100_000_000 },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': {
    kind: 'document',
    maxBytes: 100_000_000,
  },
  'application/vnd.ms-excel': { kind: 'document', maxBytes: 100_000_000 },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { kind: 'document', maxBytes: 100_000_000 },
  'application/vnd.ms-powerpoint': { kind: 'document', maxBytes: 100_000_000 },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': {
    kind: 'document',
    maxBytes: 100_000_000,
  },
  'image/jpeg': { kind: 'image', maxBytes: 5_000_000 },
  'image/png': { kind: 'image', maxBytes: 5_000_000 },
  'image/webp': { kind: 'sticker', maxBytes: 500_000 },
  'video/mp4': { kind: 'video', maxBytes: 16_000_000 },
  'video/3gpp': { kind: 'video', maxBytes: 16_000_000 },
}

const STATIC_STICKER_MAX = 100_000

/** A WebP whose VP8X header sets the animation flag, or that has an ANIM chunk (Google's WebP container spec). */
function isAnimatedWebp(bytes: Uint8Array): boolean {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to))
  if (ascii(0, 4) !== 'RIFF' || ascii(8, 12) !== 'WEBP') return false
  if (ascii(12, 16) === 'VP8X' && bytes.length > 20 && (bytes[20]! & 0x02) !== 0) return true
  return ascii(0, Math.min(bytes.length, 4096)).includes('ANIM')
}

const bareMime = (m: string) => m.split(';')[0]!.trim().toLowerCase()

/**
 * The multipart upload: messaging_product, type and file required (Media page, "Upload media" parameters:
 * "file Required", "type Required", "messaging_product Required"); the type must be supported (Graph answers
 * `(#100) Param file must be a file with one of the following types: …`); the file must fit its type's cap (131053).
 */
export function checkUpload(
  form: { messagingProduct: unknown; type: unknown; file: unknown },
  bytes: Uint8Array | null,
): Refusal | { mime: string } {
  try {
    if (form.messagingProduct === undefined || form.messagingProduct === null)
      refuse(131008, 'The parameter messaging_product is required.')
    if (form.messagingProduct !== 'whatsapp') refuse(131009, "Param messaging_product must be 'whatsapp'.")
    if (typeof form.type !== 'string' || form.type === '') refuse(131008, 'The parameter type is required.')
    if (!(form.file instanceof Blob) || !bytes) refuse(131008, 'The parameter file is required.')
    const mime = bareMime(form.type as string)
    const fileMime = bareMime((form.file as Blob).type || mime)
    for (const m of new Set([mime, fileMime]))
      if (!UPLOAD_TYPES[m])
        refuse(
          100,
          `Param file must be a file with one of the following types: ${Object.keys(UPLOAD_TYPES).join(', ')}. Received file of type '${m}'.`,
        )
    const rule = UPLOAD_TYPES[mime]!
    const max = rule.kind === 'sticker' && !isAnimatedWebp(bytes!) ? STATIC_STICKER_MAX : rule.maxBytes
    if (bytes!.length > max)
      refuse(
        131053,
        `Media upload error: ${mime} ${rule.kind === 'sticker' ? (max === STATIC_STICKER_MAX ? 'static sticker' : 'animated sticker') : rule.kind} files may be at most ${max} bytes, got ${bytes!.length}.`,
      )
    return { mime }
  } catch (err) {
    return refusalOf(err)
  }
}

export const isRefusal = (v: unknown): v is Refusal => isObject(v) && typeof v.code === 'number' && 'details' in v
