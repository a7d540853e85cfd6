/**
 * Builds Meta-shaped webhook bodies (reference/cloud-api.md §2) and signs them the way Meta does: over the
 * exact bytes, which are JSON with non-ASCII characters (and slashes) escaped, lowercase hex.
 */
import { signatureFor } from '../channels/cloud/signature.ts'

export const WABA_ID = '102290129340398'

/** JSON as Meta serialises it: `é` → `\u00e9`, `/` → `\/`. */
export function metaJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\//g, '\\/')
}

export function signed(body: unknown, appSecret: string): { body: string; headers: Record<string, string> } {
  const text = typeof body === 'string' ? body : metaJson(body)
  return {
    body: text,
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureFor(text, appSecret) },
  }
}

export function envelope(
  changes: { field: string; value: Record<string, unknown> }[],
  opts: { wabaId?: string; time?: number } = {},
) {
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: opts.wabaId ?? WABA_ID, ...(opts.time ? { time: opts.time } : {}), changes }],
  }
}

export function messagesChange(
  phoneNumberId: string,
  v: { messages?: unknown[]; statuses?: unknown[]; contacts?: unknown[]; errors?: unknown[] },
) {
  return {
    field: 'messages',
    value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
      ...v,
    },
  }
}

export const contact = (waId = '16505551234', name = 'Sheena Nelson') => ({
  profile: { name },
  wa_id: waId,
  user_id: `US.${waId}0000`,
})

let seq = 0
export const wamid = () =>
  `wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ${(++seq).toString(36).toUpperCase().padStart(8, '0')}${Math.random().toString(36).slice(2, 8)}=`

export function textMessage(text: string, o: { from?: string; id?: string; timestamp?: number } = {}) {
  return {
    from: o.from ?? '16505551234',
    id: o.id ?? wamid(),
    timestamp: String(o.timestamp ?? 1749416383),
    type: 'text',
    text: { body: text },
  }
}

export function inboundText(
  phoneNumberId: string,
  text: string,
  o: { from?: string; id?: string; timestamp?: number; name?: string } = {},
) {
  const m = textMessage(text, o)
  return {
    body: envelope([messagesChange(phoneNumberId, { contacts: [contact(m.from, o.name)], messages: [m] })]),
    id: m.id,
  }
}

export function statusUpdate(
  phoneNumberId: string,
  id: string,
  status: string,
  o: { timestamp?: number; errors?: unknown[] } = {},
) {
  const s: Record<string, unknown> = {
    id,
    status,
    timestamp: String(o.timestamp ?? 1750263773),
    recipient_id: '16505551234',
  }
  if (o.errors) s.errors = o.errors
  else s.pricing = { billable: true, pricing_model: 'PMP', category: 'utility', type: 'regular' }
  return envelope([messagesChange(phoneNumberId, { ...(o.errors ? {} : { contacts: [contact()] }), statuses: [s] })])
}
