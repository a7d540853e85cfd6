/**
 * What a provider sends with a message or a status beyond wabox's columns, in a neutral shape: kept as JSON in
 * messages.detail and message_statuses.detail, shown in the message view (`detail`) and in message events. Only
 * what was sent is present: an absent key means the provider did not say.
 */
import { z } from 'zod'
import type { InboundMessageEvent, InboundStatusEvent } from '../channels/inbound-events.ts'

const errorDetail = z.object({
  code: z.number(),
  title: z.string(),
  message: z.string().nullable(),
  details: z.string().nullable(),
  href: z.string().nullable().describe('Where WhatsApp explains the code'),
})
const group = z.object({
  id: z.string().describe('The group'),
  participant: z.string().nullable().describe('On a status: the member of the group it is about'),
})
const other = z
  .record(z.string(), z.unknown())
  .describe('Fields WhatsApp sent that this version does not map, as they came')

/** What one status report carried beyond status, time, recipient, first error and pricing. */
export const statusDetailSchema = z.object({
  errors: z.array(errorDetail).optional().describe('Every error WhatsApp listed (`error` is the first)'),
  billingConversation: z
    .object({
      id: z.string().nullable(),
      origin: z.string().nullable().describe('What opened it: marketing, utility, service, authentication…'),
      expiresAt: z.string().nullable().describe('When it closes (ISO 8601); only on its first status'),
    })
    .optional()
    .describe("WhatsApp's conversation (the billing window) the message was counted in — not a wabox conversation"),
  recipientBsuid: z.string().optional().describe("The recipient's business-scoped user id"),
  recipientParentBsuid: z.string().optional().describe('The business-scoped id shared by linked portfolios'),
  group: group.optional().describe('A status about one member of a group the message was sent to'),
  other: other.optional(),
})
export type StatusDetail = z.infer<typeof statusDetailSchema>

export const messageDetailSchema = z
  .object({
    errors: z.array(errorDetail).optional().describe('Every error WhatsApp listed (`error` is the first)'),
    referredProduct: z
      .object({ catalogId: z.string().nullable(), productId: z.string().nullable() })
      .optional()
      .describe('The catalog product the customer asked about ("message business" on a product)'),
    identity: z
      .object({
        acknowledged: z.boolean().nullable(),
        createdAt: z.string().nullable().describe('When WhatsApp noticed the change (ISO 8601)'),
        hash: z.string().nullable(),
        keyHash: z.string().nullable().describe("The hash of the sender's identity key, as the contact came"),
      })
      .optional()
      .describe("WhatsApp's identity check on the sender (its identity key changed)"),
    senderParentBsuid: z.string().optional().describe('The business-scoped id shared by linked portfolios'),
    group: group.optional().describe('The group it was sent in'),
    other: other.optional(),
    statusReports: z
      .record(z.string(), statusDetailSchema.extend({ at: z.string().describe('When (ISO 8601)') }))
      .optional()
      .describe(
        'On a message wabox sent: per status (sent, delivered, read…), what its latest report carried beyond the columns',
      ),
  })
  .describe('What WhatsApp sent beyond the other fields; only what it sent is present')
export type MessageDetail = z.infer<typeof messageDetailSchema>

/** Keeps the keys that have something; null when none has. */
function compact<T extends Record<string, unknown>>(o: T): T | null {
  const kept = Object.entries(o).filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && !v.length))
  return kept.length > 0 ? (Object.fromEntries(kept) as T) : null
}

export function messageDetailOf(e: InboundMessageEvent): MessageDetail | null {
  return compact({
    errors: e.errors,
    referredProduct: e.referredProduct ?? undefined,
    identity: e.identity ?? undefined,
    senderParentBsuid: e.contact.parentBsuid ?? undefined,
    group: e.group ?? undefined,
    other: e.other ?? undefined,
  })
}

export function statusDetailOf(e: InboundStatusEvent): StatusDetail | null {
  return compact({
    errors: e.errors,
    billingConversation: e.billingConversation ?? undefined,
    // The phone number is `recipient` already; the BSUID is worth keeping only where it adds to it.
    recipientBsuid: e.recipientBsuid && e.recipientBsuid !== e.recipient ? e.recipientBsuid : undefined,
    recipientParentBsuid: e.recipientParentBsuid ?? undefined,
    group: e.group ?? undefined,
    other: e.other ?? undefined,
  })
}

/** A message's detail with one more status report: the latest report of each status is kept. */
export function withStatusReport(
  stored: string | null,
  status: string,
  at: string,
  report: StatusDetail,
): MessageDetail {
  const detail = stored ? (JSON.parse(stored) as MessageDetail) : {}
  const previous = detail.statusReports?.[status]
  if (previous && previous.at > at) return detail
  return { ...detail, statusReports: { ...detail.statusReports, [status]: { ...report, at } } }
}

export const parseDetail = (stored: string | null): MessageDetail | null =>
  stored ? (JSON.parse(stored) as MessageDetail) : null
