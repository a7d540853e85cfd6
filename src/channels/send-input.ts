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

const textParam = z.object({
  type: z.literal('text'),
  text: z.string().min(1).max(1024),
  parameterName: z
    .string()
    .regex(/^[a-z0-9_]{1,60}$/)
    .optional(),
})
const templateParam = z.discriminatedUnion('type', [
  textParam,
  z.object({
    type: z.literal('currency'),
    fallbackValue: z.string().min(1).max(100),
    code: z.string().regex(/^[A-Z]{3}$/),
    amount1000: z.number().int(),
  }),
  z.object({ type: z.literal('date_time'), fallbackValue: z.string().min(1).max(100) }),
  z
    .object({ type: z.literal('image'), mediaId: mediaId.optional(), link: httpsUrl.optional() })
    .refine((m) => (m.mediaId === undefined) !== (m.link === undefined), 'give exactly one of mediaId or link'),
  z
    .object({ type: z.literal('video'), mediaId: mediaId.optional(), link: httpsUrl.optional() })
    .refine((m) => (m.mediaId === undefined) !== (m.link === undefined), 'give exactly one of mediaId or link'),
  z
    .object({
      type: z.literal('document'),
      mediaId: mediaId.optional(),
      link: httpsUrl.optional(),
      filename: z.string().max(240).optional(),
    })
    .refine((m) => (m.mediaId === undefined) !== (m.link === undefined), 'give exactly one of mediaId or link'),
  z.object({
    type: z.literal('location'),
    latitude: z.number().min(-90).max(90),
    longitude: z.number().min(-180).max(180),
    name: z.string().max(100).optional(),
    address: z.string().max(300).optional(),
  }),
  z.object({ type: z.literal('payload'), payload: z.string().min(1).max(256) }),
  z.object({ type: z.literal('coupon_code'), couponCode: z.string().min(1).max(20) }),
])
export type TemplateParam = z.infer<typeof templateParam>

const templateComponent = z
  .object({
    type: z.enum(['header', 'body', 'button']),
    subType: z.enum(['quick_reply', 'url', 'copy_code', 'flow', 'catalog', 'mpm']).optional(),
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
    body: interactiveText(4096),
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
        components: z.array(templateComponent).max(12).optional(),
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
        emoji: z
          .string()
          .refine(
            (e) => e === '' || (singleGrapheme(e) && /\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(e)),
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
