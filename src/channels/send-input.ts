/**
 * The neutral send input every provider builds its request from: the send API's body, one schema per message
 * type, with Meta's limits (reference/cloud-api.md §3) checked here so a bad message is a 422 naming the field,
 * never a failed send later. What a kind of channel cannot send is its provider's own 422 (buildRequest).
 */
import { z } from 'zod'

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
const singleGrapheme = (s: string) => [...graphemes.segment(s)].length === 1

const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https:// URL' })
const mediaId = z.string().regex(/^\d{1,30}$/, 'must be a media id returned by an upload')

const recipient = {
  /** Send in an existing conversation… */
  conversationId: z.string().min(1).max(64).optional(),
  /** …or to a number through a channel. */
  channelId: z.string().min(1).max(64).optional(),
  to: z
    .string()
    .transform((v) => v.replace(/[\s()-]/g, '').replace(/^\+/, ''))
    .pipe(z.string().regex(/^\d{6,20}$/, 'must be a phone number in international format, e.g. +4915112345678'))
    .optional(),
  /** Quote-reply to a message of the conversation (its id or wamid). */
  replyTo: z.string().min(1).max(200).optional(),
  /** Echoed back by Meta in status updates (at most 512 bytes). */
  callbackData: z
    .string()
    .refine((v) => Buffer.byteLength(v) <= 512, 'must be at most 512 bytes')
    .optional(),
}

const media = (kind: 'image' | 'video' | 'document' | 'audio' | 'sticker') =>
  z
    .object({
      mediaId: mediaId.optional(),
      link: httpsUrl.optional(),
      caption:
        kind === 'audio' || kind === 'sticker'
          ? z.never({ error: `${kind} messages have no caption` }).optional()
          : z.string().min(1).max(1024).optional(),
      filename:
        kind === 'document'
          ? z.string().min(1).max(240).optional()
          : z.never({ error: 'only documents have a filename' }).optional(),
    })
    .refine((m) => (m.mediaId === undefined) !== (m.link === undefined), {
      message: 'give exactly one of mediaId or link',
      path: ['mediaId'],
    })

/** Named parameters (templates created with parameter_format NAMED) may name any parameter type. */
const parameterName = z
  .string()
  .regex(/^[a-z0-9_]{1,60}$/, 'must be the placeholder name (lowercase, digits, underscores)')
  .optional()

const mediaParam = <T extends 'image' | 'video'>(type: T) =>
  z
    .object({ type: z.literal(type), mediaId: mediaId.optional(), link: httpsUrl.optional(), parameterName })
    .refine((m) => (m.mediaId === undefined) !== (m.link === undefined), 'give exactly one of mediaId or link')

/**
 * What a flow, catalog or multi-product (MPM) button is sent with (reference/cloud-api-2026.md §templates):
 * a flow's token and first-screen data, a catalog's thumbnail product, an MPM's thumbnail and product sections.
 */
const buttonAction = z
  .object({
    flowToken: z.string().min(1).max(200).optional(),
    flowActionData: z.record(z.string(), z.unknown()).optional(),
    thumbnailProductRetailerId: z.string().min(1).max(100).optional(),
    sections: z
      .array(
        z.object({
          title: z.string().min(1).max(24),
          productItems: z
            .array(z.object({ productRetailerId: z.string().min(1).max(100) }))
            .min(1)
            .max(30),
        }),
      )
      .min(1)
      .max(10)
      .optional(),
  })
  .refine((a) => Object.values(a).some((v) => v !== undefined), 'give the flow token or the catalog products')

const templateParam = z.discriminatedUnion('type', [
  // The text cap depends on the component (header 60, body 1024 or 32768); checked with the template below.
  z.object({ type: z.literal('text'), text: z.string().min(1).max(32768), parameterName }),
  z.object({
    type: z.literal('currency'),
    fallbackValue: z.string().min(1).max(100),
    code: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 currency code, e.g. EUR'),
    amount1000: z.number().int().positive('must be the amount times 1000, above 0'),
    parameterName,
  }),
  z.object({ type: z.literal('date_time'), fallbackValue: z.string().min(1).max(100), parameterName }),
  mediaParam('image'),
  mediaParam('video'),
  z
    .object({
      type: z.literal('document'),
      mediaId: mediaId.optional(),
      link: httpsUrl.optional(),
      filename: z.string().max(240).optional(),
      parameterName,
    })
    .refine((m) => (m.mediaId === undefined) !== (m.link === undefined), 'give exactly one of mediaId or link'),
  z.object({
    type: z.literal('location'),
    latitude: z.number().min(-90).max(90),
    longitude: z.number().min(-180).max(180),
    name: z.string().max(100).optional(),
    address: z.string().max(300).optional(),
    parameterName,
  }),
  z.object({ type: z.literal('payload'), payload: z.string().min(1).max(256), parameterName }),
  z.object({ type: z.literal('coupon_code'), couponCode: z.string().min(1).max(15), parameterName }),
  z.object({ type: z.literal('action'), action: buttonAction, parameterName }),
])
export type TemplateParam = z.infer<typeof templateParam>

const buttonSubTypes = ['quick_reply', 'url', 'copy_code', 'flow', 'catalog', 'mpm'] as const

/**
 * Which parameter types each component takes (Meta's template parameter object; whatsapp-api-js agrees): a
 * header one text, currency, date/time, media or location; a body text, currency and date/time; a button the
 * one its sub-type wants — a quick reply its payload, a URL button the URL's suffix, copy-code the coupon, and
 * flow, catalog and MPM buttons an action.
 */
const HEADER_PARAMS = new Set(['text', 'currency', 'date_time', 'image', 'video', 'document', 'location'])
const BODY_PARAMS = new Set(['text', 'currency', 'date_time'])
const BUTTON_PARAM: Record<(typeof buttonSubTypes)[number], TemplateParam['type']> = {
  quick_reply: 'payload',
  url: 'text',
  copy_code: 'coupon_code',
  flow: 'action',
  catalog: 'action',
  mpm: 'action',
}

const templateComponent = z
  .object({
    type: z.enum(['header', 'body', 'button']),
    subType: z.enum(buttonSubTypes).optional(),
    index: z.number().int().min(0).max(9).optional(),
    parameters: z.array(templateParam).max(20).default([]),
  })
  .refine((c) => c.type !== 'button' || (c.subType !== undefined && c.index !== undefined), {
    message: 'button components need subType and index',
    path: ['subType'],
  })
  .refine((c) => c.type === 'button' || (c.subType === undefined && c.index === undefined), {
    message: 'only button components take subType and index',
    path: ['subType'],
  })

type TemplateComponent = z.infer<typeof templateComponent>

/** The checks that need the whole template: what each component allows, and text caps that depend on the others. */
function checkComponents(components: TemplateComponent[], ctx: z.RefinementCtx) {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message })
  const bodyOnly = components.length === 1 && components[0]!.type === 'body'
  const seen = { header: 0, body: 0 }
  const buttonIndexes = new Set<number>()
  components.forEach((c, n) => {
    if (c.type === 'button') {
      if (c.index !== undefined && buttonIndexes.has(c.index)) issue([n, 'index'], 'each button index only once')
      if (c.index !== undefined) buttonIndexes.add(c.index)
      const want = c.subType ? BUTTON_PARAM[c.subType] : undefined
      if (c.parameters.length > 1) issue([n, 'parameters'], 'a button takes at most one parameter')
      c.parameters.forEach((p, k) => {
        if (want && p.type !== want) issue([n, 'parameters', k, 'type'], `a ${c.subType} button takes a ${want}`)
        if (p.type === 'text' && p.text.length > 2000) issue([n, 'parameters', k, 'text'], 'at most 2000 characters')
      })
      return
    }
    seen[c.type] += 1
    if (seen[c.type] > 1) issue([n, 'type'], `a template has at most one ${c.type}`)
    if (c.type === 'header' && c.parameters.length > 1) issue([n, 'parameters'], 'a header takes at most one parameter')
    const allowed = c.type === 'header' ? HEADER_PARAMS : BODY_PARAMS
    const textMax = c.type === 'header' ? 60 : bodyOnly ? 32768 : 1024
    c.parameters.forEach((p, k) => {
      if (!allowed.has(p.type)) issue([n, 'parameters', k, 'type'], `a ${c.type} does not take ${p.type} parameters`)
      else if (p.type === 'text' && p.text.length > textMax) {
        const why = c.type === 'header' ? 'in a header' : bodyOnly ? '' : 'when the body is not the only component'
        issue([n, 'parameters', k, 'text'], `at most ${textMax} characters ${why}`.trim())
      }
    })
  })
}

const interactiveText = (max: number) => z.object({ text: z.string().min(1).max(max) })

const buttons = z.object({
  type: z.literal('button'),
  header: z.object({ type: z.literal('text'), text: z.string().min(1).max(60) }).optional(),
  body: interactiveText(1024),
  footer: interactiveText(60).optional(),
  buttons: z
    .array(
      z.object({
        id: z
          .string()
          .min(1)
          .max(256)
          .refine((s) => s.trim() === s, 'no leading or trailing spaces'),
        title: z.string().min(1).max(20),
      }),
    )
    .min(1, 'needs 1 to 3 buttons')
    .max(3, 'needs 1 to 3 buttons')
    .refine((b) => new Set(b.map((x) => x.id)).size === b.length, 'button ids must be unique')
    .refine((b) => new Set(b.map((x) => x.title)).size === b.length, 'button titles must be unique'),
})

const list = z
  .object({
    type: z.literal('list'),
    header: z.object({ type: z.literal('text'), text: z.string().min(1).max(60) }).optional(),
    body: interactiveText(1024),
    footer: interactiveText(60).optional(),
    button: z.string().min(1).max(20),
    sections: z
      .array(
        z.object({
          title: z.string().min(1).max(24).optional(),
          rows: z
            .array(
              z.object({
                id: z.string().min(1).max(200),
                title: z.string().min(1).max(24),
                description: z.string().max(72).optional(),
              }),
            )
            .min(1),
        }),
      )
      .min(1)
      .max(10),
  })
  .refine((l) => l.sections.reduce((n, s) => n + s.rows.length, 0) <= 10, {
    message: 'at most 10 rows across all sections',
    path: ['sections'],
  })
  .refine((l) => l.sections.length === 1 || l.sections.every((s) => s.title), {
    message: 'every section needs a title when there are several',
    path: ['sections'],
  })
  .refine(
    (l) => {
      const ids = l.sections.flatMap((s) => s.rows.map((r) => r.id))
      return new Set(ids).size === ids.length
    },
    { message: 'row ids must be unique', path: ['sections'] },
  )

export const sendMessageBody = z
  .discriminatedUnion('type', [
    z.object({
      ...recipient,
      type: z.literal('text'),
      text: z.object({
        body: z
          .string()
          .max(4096)
          .refine((b) => b.trim() !== '', 'must not be empty'),
        previewUrl: z.boolean().optional(),
      }),
    }),
    z.object({
      ...recipient,
      type: z.literal('template'),
      template: z.object({
        name: z.string().regex(/^[a-z0-9_]{1,512}$/, 'must be the template name (lowercase, digits, underscores)'),
        language: z
          .string()
          .regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'must be the language code the template was approved in, e.g. en_US'),
        components: z
          .array(templateComponent)
          .max(12)
          .optional()
          .superRefine((c, ctx) => c && checkComponents(c, ctx)),
      }),
    }),
    z.object({ ...recipient, type: z.literal('image'), image: media('image') }),
    z.object({ ...recipient, type: z.literal('video'), video: media('video') }),
    z.object({ ...recipient, type: z.literal('audio'), audio: media('audio') }),
    z.object({ ...recipient, type: z.literal('document'), document: media('document') }),
    z.object({ ...recipient, type: z.literal('sticker'), sticker: media('sticker') }),
    z.object({
      ...recipient,
      type: z.literal('location'),
      location: z.object({
        latitude: z.number().min(-90).max(90),
        longitude: z.number().min(-180).max(180),
        name: z.string().max(100).optional(),
        address: z.string().max(300).optional(),
      }),
    }),
    z.object({
      ...recipient,
      type: z.literal('interactive'),
      interactive: z.discriminatedUnion('type', [buttons, list]),
    }),
    z.object({
      ...recipient,
      type: z.literal('reaction'),
      // An empty emoji removes the reaction (reference §3.5).
      reaction: z.object({
        messageId: z.string().min(1).max(200),
        emoji: z.string().refine(
          // Keycaps (1️⃣, #️⃣) are a digit, # or * with the combining keycap; they are emoji to WhatsApp too.
          (e) =>
            e === '' ||
            (singleGrapheme(e) && /\p{Extended_Pictographic}|\p{Regional_Indicator}|^[0-9#*]\uFE0F?\u20E3$/u.test(e)),
          'must be one emoji, or empty to remove the reaction',
        ),
      }),
    }),
  ])
  .refine((b) => b.conversationId !== undefined || (b.channelId !== undefined && b.to !== undefined), {
    message: 'send to a conversationId, or to a channelId and a phone number (to)',
    path: ['conversationId'],
  })

export type SendMessageInput = z.infer<typeof sendMessageBody>
