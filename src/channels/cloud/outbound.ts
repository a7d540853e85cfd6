/** Builds the Cloud API request body (reference §3) from a validated send request. */
import type { SendMessageInput, TemplateParam } from '../send-input.ts'

type Resolved = { to: string; contextWamid: string | null; reactionWamid: string | null; callbackData: string }

const mediaRef = (m: { mediaId?: string; link?: string }) => (m.mediaId ? { id: m.mediaId } : { link: m.link })

/** Meta's action parameter of flow, catalog and MPM buttons, in its snake_case. */
function buttonAction(a: Extract<TemplateParam, { type: 'action' }>['action']): Record<string, unknown> {
  return {
    ...(a.flowToken ? { flow_token: a.flowToken } : {}),
    ...(a.flowActionData ? { flow_action_data: a.flowActionData } : {}),
    ...(a.thumbnailProductRetailerId ? { thumbnail_product_retailer_id: a.thumbnailProductRetailerId } : {}),
    ...(a.sections
      ? {
          sections: a.sections.map((s) => ({
            title: s.title,
            product_items: s.productItems.map((i) => ({ product_retailer_id: i.productRetailerId })),
          })),
        }
      : {}),
  }
}

function parameterValue(p: TemplateParam): Record<string, unknown> {
  switch (p.type) {
    case 'text':
      return { text: p.text }
    case 'currency':
      return { currency: { fallback_value: p.fallbackValue, code: p.code, amount_1000: p.amount1000 } }
    case 'date_time':
      return { date_time: { fallback_value: p.fallbackValue } }
    case 'image':
    case 'video':
      return { [p.type]: mediaRef(p) }
    case 'document':
      return { document: { ...mediaRef(p), ...(p.filename ? { filename: p.filename } : {}) } }
    case 'location':
      return {
        location: {
          latitude: p.latitude,
          longitude: p.longitude,
          ...(p.name ? { name: p.name } : {}),
          ...(p.address ? { address: p.address } : {}),
        },
      }
    case 'payload':
      return { payload: p.payload }
    case 'coupon_code':
      return { coupon_code: p.couponCode }
    case 'action':
      return { action: buttonAction(p.action) }
  }
}

/** A template parameter; a named template's parameters carry their placeholder's name whatever their type. */
function templateParameter(p: TemplateParam): Record<string, unknown> {
  return { type: p.type, ...(p.parameterName ? { parameter_name: p.parameterName } : {}), ...parameterValue(p) }
}

function content(input: SendMessageInput, r: Resolved): Record<string, unknown> {
  switch (input.type) {
    case 'text':
      return {
        text: {
          body: input.text.body,
          ...(input.text.previewUrl !== undefined ? { preview_url: input.text.previewUrl } : {}),
        },
      }
    case 'template':
      return {
        template: {
          name: input.template.name,
          language: { code: input.template.language },
          ...(input.template.components?.length
            ? {
                components: input.template.components.map((c) => ({
                  type: c.type,
                  ...(c.subType ? { sub_type: c.subType } : {}),
                  ...(c.index !== undefined ? { index: String(c.index) } : {}),
                  parameters: c.parameters.map(templateParameter),
                })),
              }
            : {}),
        },
      }
    case 'image':
    case 'video':
    case 'audio':
    case 'sticker': {
      const m = (input as unknown as Record<string, { mediaId?: string; link?: string; caption?: string }>)[input.type]!
      return { [input.type]: { ...mediaRef(m), ...(m.caption ? { caption: m.caption } : {}) } }
    }
    case 'document':
      return {
        document: {
          ...mediaRef(input.document),
          ...(input.document.caption ? { caption: input.document.caption } : {}),
          ...(input.document.filename ? { filename: input.document.filename } : {}),
        },
      }
    case 'location':
      return {
        location: {
          latitude: input.location.latitude,
          longitude: input.location.longitude,
          ...(input.location.name ? { name: input.location.name } : {}),
          ...(input.location.address ? { address: input.location.address } : {}),
        },
      }
    case 'interactive': {
      const i = input.interactive
      const common = {
        ...(i.header ? { header: i.header } : {}),
        body: i.body,
        ...(i.footer ? { footer: i.footer } : {}),
      }
      if (i.type === 'button') {
        return {
          interactive: {
            type: 'button',
            ...common,
            action: { buttons: i.buttons.map((b) => ({ type: 'reply', reply: { id: b.id, title: b.title } })) },
          },
        }
      }
      return { interactive: { type: 'list', ...common, action: { button: i.button, sections: i.sections } } }
    }
    case 'reaction':
      return { reaction: { message_id: r.reactionWamid, emoji: input.reaction.emoji } }
  }
}

/** A Cloud API message request, as POSTed to /<phone-number-id>/messages; the rest depends on its type. */
export type CloudRequest = {
  messaging_product: 'whatsapp'
  recipient_type: 'individual'
  to: string
  type: SendMessageInput['type']
  biz_opaque_callback_data: string
  [field: string]: unknown
}

export function toCloudRequest(input: SendMessageInput, r: Resolved): CloudRequest {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: r.to,
    type: input.type,
    ...content(input, r),
    ...(r.contextWamid ? { context: { message_id: r.contextWamid } } : {}),
    biz_opaque_callback_data: r.callbackData,
  }
}
