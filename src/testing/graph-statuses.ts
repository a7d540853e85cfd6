/**
 * Status webhooks as Meta posts them after a send, for the Graph double (graph-double.ts).
 *
 * Shape: "Status messages webhook reference" (Updated May 21 2026) — statuses[] with id, status, timestamp (unix
 * seconds as a string), recipient_id (recipient_user_id instead for a send to a BSUID, "Business-scoped user IDs"),
 * biz_opaque_callback_data echoed, `pricing {billable, pricing_model, category, type}` on sent/delivered/read,
 * `conversation {id, origin {type}, expiration_timestamp}` (the expiration only on `sent`), and for `failed` an
 * errors[] of `{code, title, message, error_data {details}, href}` with no pricing, no conversation and no
 * contacts (pywa tests/data message_status.json; whatsapp-api-js types.ts ServerPricing / ServerConversation;
 * reference/cloud-api.md §2.4). Pricing per-message (PMP) since 2025-07-01: category authentication,
 * authentication_international, marketing, marketing_lite, utility, service or referral_conversion; type regular
 * (charged), free_customer_service or free_entry_point (cloud-api-2026.md "Pricing").
 *
 * Signing: "Create a webhook endpoint" — X-Hub-Signature-256: sha256=<lowercase hex HMAC-SHA256 of the exact
 * body, keyed with the app secret>, over JSON whose non-ASCII characters are escaped (`\u00e9`) and slashes
 * escaped (metaJson in webhooks.ts). The HMAC is computed here, not with wabox's own signature code.
 */
import { createHmac } from 'node:crypto'
import { ERROR_TITLES, FAILURE_DETAILS } from './graph-rules.ts'
import { metaJson } from './webhooks.ts'

export type StatusKind = 'sent' | 'delivered' | 'read' | 'played' | 'failed'
export type PricingCategory =
  | 'authentication'
  | 'authentication_international'
  | 'marketing'
  | 'marketing_lite'
  | 'utility'
  | 'service'
  | 'referral_conversion'
export type Pricing = {
  billable: boolean
  pricing_model: 'PMP' | 'CBP'
  category: PricingCategory
  type: 'regular' | 'free_customer_service' | 'free_entry_point'
}
export type Conversation = { id: string; origin: { type: PricingCategory }; expiration_timestamp?: string }
export type StatusError = {
  code: number
  title: string
  message: string
  error_data: { details: string }
  href: string
}

/** PMP: service messages and utility templates inside the window are free; the rest is charged ("Pricing"). */
export function pricingFor(category: PricingCategory): Pricing {
  const free = category === 'service'
  return {
    billable: !free,
    pricing_model: 'PMP',
    category,
    type: free ? 'free_customer_service' : 'regular',
  }
}

/** One statuses[].errors[] entry, with the title and details Meta documents for the code ("WhatsApp error codes"). */
export function statusError(code: number, details?: string): StatusError {
  const title = ERROR_TITLES[code] ?? 'Unknown error'
  return {
    code,
    title,
    message: title,
    error_data: { details: details ?? FAILURE_DETAILS[code] ?? title },
    href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
  }
}

export type StatusFor = {
  wamid: string
  status: StatusKind
  at: number
  /** The phone number sent to, as Meta normalised it (wa_id); null for a BSUID-only send. */
  waId: string | null
  /** The BSUID, when the send went to one (or the double knows the user's). */
  userId: string | null
  bizOpaqueCallbackData?: unknown
  pricing?: Pricing | null
  conversation?: Conversation | null
  errors?: StatusError[]
}

/** The `statuses[]` entry, without the fields Meta leaves out for this status. */
export function statusEntry(s: StatusFor): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    id: s.wamid,
    status: s.status,
    timestamp: String(Math.floor(s.at / 1000)),
  }
  if (s.waId !== null) entry.recipient_id = s.waId
  else if (s.userId !== null) entry.recipient_user_id = s.userId
  if (s.bizOpaqueCallbackData !== undefined && s.status !== 'failed')
    entry.biz_opaque_callback_data = s.bizOpaqueCallbackData
  if (s.status === 'failed') {
    entry.errors = s.errors?.length ? s.errors : [statusError(131026)]
    return entry
  }
  if (s.conversation) {
    const { expiration_timestamp, ...rest } = s.conversation
    entry.conversation = s.status === 'sent' && expiration_timestamp ? s.conversation : rest
  }
  if (s.pricing) entry.pricing = s.pricing
  return entry
}

/** The whole webhook body for one status, as Meta posts it on the `messages` field. */
export function statusWebhook(opts: {
  wabaId: string
  phoneNumberId: string
  displayPhoneNumber: string
  status: StatusFor
}): Record<string, unknown> {
  const s = opts.status
  const contacts =
    s.status === 'failed' || (s.waId === null && s.userId === null)
      ? undefined
      : [{ ...(s.waId !== null ? { wa_id: s.waId } : {}), ...(s.userId !== null ? { user_id: s.userId } : {}) }]
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: opts.wabaId,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: opts.displayPhoneNumber, phone_number_id: opts.phoneNumberId },
              ...(contacts ? { contacts } : {}),
              statuses: [statusEntry(s)],
            },
          },
        ],
      },
    ],
  }
}

/** Body bytes and headers exactly as Meta sends them. */
export function signedAsMeta(body: unknown, appSecret: string): { body: string; headers: Record<string, string> } {
  const text = metaJson(body)
  return {
    body: text,
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': `sha256=${createHmac('sha256', appSecret).update(text).digest('hex')}`,
    },
  }
}

/** One POST of a signed webhook; the receiver's HTTP status, or 0 when it could not be reached. */
export async function postWebhook(url: string, body: unknown, appSecret: string): Promise<number> {
  const signed = signedAsMeta(body, appSecret)
  try {
    const res = await fetch(url, { method: 'POST', headers: signed.headers, body: signed.body })
    await res.body?.cancel().catch(() => {})
    return res.status
  } catch {
    return 0
  }
}
