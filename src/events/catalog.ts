/**
 * The event catalogue: every type a webhook endpoint or the live stream can receive, with its payload.
 * Payloads name ids and facts, never a secret. The delivered envelope is
 * `{ id: "evt_…", type, timestamp, workspaceId, data }`.
 */
import { z } from 'zod'
import { QR_CONNECTION_STATES, QR_WARNINGS } from '../channels/channels.table.ts'
import { messageDetailSchema, statusDetailSchema } from '../messaging/message-detail.ts'

const message = {
  messageId: z.string(),
  conversationId: z.string(),
  channelId: z.string(),
  wamid: z.string().nullable().describe("WhatsApp's message id"),
}
const error = z.object({ code: z.number().int(), title: z.string() })

export const EVENT_PAYLOADS = {
  'message.received': z.object({
    ...message,
    contactId: z.string(),
    from: z.string().nullable().describe('sender phone number (wa_id), when WhatsApp gives it'),
    type: z.string(),
    text: z.string().nullable(),
    sentAt: z.string(),
    detail: messageDetailSchema.nullable().describe('What WhatsApp sent beyond these fields; null when nothing'),
  }),
  'message.sent': z.object({ ...message, at: z.string() }),
  'message.status': z.object({ ...message, status: z.enum(['sent', 'delivered', 'read', 'played']), at: z.string() }),
  'message.failed': z.object({
    ...message,
    error,
    errors: statusDetailSchema.shape.errors.describe(
      'Every error WhatsApp listed in the status (`error` is the first); absent when the send itself failed',
    ),
    at: z.string(),
  }),
  'conversation.created': z.object({
    conversationId: z.string(),
    channelId: z.string(),
    contactId: z.string(),
    status: z.enum(['open', 'closed']),
  }),
  'conversation.updated': z.object({
    conversationId: z.string(),
    status: z.enum(['open', 'closed']),
    assigneeUserId: z.string().nullable(),
    changed: z
      .array(z.enum(['status', 'assignee', 'read']))
      .describe('read: a member marked it read (its unread count is now 0)'),
  }),
  'contact.updated': z.object({
    contactId: z.string(),
    waId: z.string().nullable(),
    profileName: z.string().nullable(),
    name: z.string().nullable(),
    optedOut: z.boolean(),
    changed: z.array(z.string()),
  }),
  'channel.status': z.object({
    channelId: z.string(),
    status: z.enum(['pending', 'active', 'needs_reauth', 'disconnected']),
    reason: z.string().nullable(),
  }),
  'channel.connection': z.object({
    channelId: z.string(),
    state: z.enum(QR_CONNECTION_STATES).describe("a QR-linked phone's connection (README: QR-linked numbers)"),
    lastError: z.string().nullable(),
    since: z.string(),
  }),
  'channel.warning': z.object({
    channelId: z.string(),
    warning: z
      .enum(QR_WARNINGS)
      .describe(
        'something about a QR-linked number a person should look at (README: QR-linked numbers); counted in wabox_qr_session_warnings_total',
      ),
    detail: z.string().describe('What happened, in a sentence'),
    until: z.string().nullable().describe('reachout_locked: when WhatsApp lifts the restriction (ISO 8601); else null'),
  }),
  'webhook_endpoint.disabled': z.object({
    endpointId: z.string(),
    origin: z.string().describe("the endpoint URL's scheme and host (never its path or query)"),
    failingSince: z.string(),
    reason: z.string(),
  }),
  'webhook.test': z.object({ endpointId: z.string(), note: z.string() }),
} as const

export type EventType = keyof typeof EVENT_PAYLOADS
export type EventData<T extends EventType> = z.infer<(typeof EVENT_PAYLOADS)[T]>
export const EVENT_TYPES = Object.keys(EVENT_PAYLOADS) as EventType[]

export const eventEnvelope = z.object({
  id: z.string().describe('stable id (evt_…); the same in every retry and in the webhook-id header'),
  type: z.enum(EVENT_TYPES as [EventType, ...EventType[]]),
  timestamp: z.string(),
  workspaceId: z.string(),
  data: z.record(z.string(), z.unknown()).describe('the payload of the type, see the event catalogue'),
})

/** The catalogue as OpenAPI 3.1 `webhooks`: one signed POST per event type, with its payload schema. */
export function openApiWebhooks(): Record<string, unknown> {
  const header = (name: string, description: string) => ({
    name,
    in: 'header',
    required: true,
    description,
    schema: { type: 'string' },
  })
  return Object.fromEntries(
    EVENT_TYPES.map((type) => [
      type,
      {
        post: {
          summary: `${type} (delivered to subscribed webhook endpoints and on the live stream)`,
          parameters: [
            header('webhook-id', 'the event id (evt_…): the same on every retry; deduplicate on it'),
            header('webhook-timestamp', 'seconds since the epoch when this attempt was signed'),
            header(
              'webhook-signature',
              'v1,<base64 HMAC-SHA256> — one per active secret, space-separated (Standard Webhooks)',
            ),
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: z.toJSONSchema(eventEnvelope.extend({ type: z.literal(type), data: EVENT_PAYLOADS[type] }), {
                  io: 'output',
                  unrepresentable: 'any',
                }),
              },
            },
          },
          responses: {
            '2XX': { description: 'Delivered. Anything else (or no answer within the timeout) is retried.' },
          },
        },
      },
    ]),
  )
}
