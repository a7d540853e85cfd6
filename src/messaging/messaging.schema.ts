import { z } from 'zod'
import { workspaceParams } from '../workspaces/workspaces.schema.ts'
import { messageDetailSchema } from './message-detail.ts'

export const conversationParams = workspaceParams.extend({ conversationId: z.string().min(1).max(64) })
export const contactParams = workspaceParams.extend({ contactId: z.string().min(1).max(64) })
export const messageParams = workspaceParams.extend({ messageId: z.string().min(1).max(64) })

const boolParam = z.enum(['true', 'false']).transform((v) => v === 'true')

export const conversationListQuery = z.object({
  q: z
    .string()
    .trim()
    .max(100)
    .optional()
    .describe(
      'finds the contact: name, WhatsApp profile name, username or phone number (digits, with or without +; a part will do)',
    ),
  status: z.enum(['open', 'closed']).optional(),
  channelId: z.string().max(64).optional(),
  unread: boolParam.optional(),
  /** A user id, `me`, or `none` for unassigned. */
  assignee: z.string().max(64).optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})

export const contactListQuery = z.object({
  q: z.string().trim().max(100).optional(),
  optedOut: boolParam.optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})

export const updateContactBody = z
  .object({
    name: z.string().trim().max(100).nullable().optional(),
    labels: z.array(z.string().trim().min(1).max(40)).max(50).optional(),
    notes: z.string().max(5000).optional(),
    optedOut: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field')

export const updateConversationBody = z
  .object({
    status: z.enum(['open', 'closed']).optional(),
    assigneeUserId: z
      .string()
      .min(1)
      .max(64)
      .nullable()
      .optional()
      .describe('a member of the workspace, or null to unassign'),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'send at least one field')

// ---- views: what messaging.service.ts answers (contactView, conversationView, messageView), field for field ----

/** A contact as every list and read shows it. */
export const contactView = z.object({
  id: z.string(),
  waId: z
    .string()
    .nullable()
    .describe('The WhatsApp id (phone number, digits only); null when only the BSUID is known'),
  phone: z.string().nullable().describe('+waId; null without one'),
  bsuid: z.string().nullable().describe('The business-scoped user id WhatsApp gives; null when not known'),
  displayName: z
    .string()
    .nullable()
    .describe('What the inbox shows: the name agents gave, else the profile name, username, phone or BSUID'),
  name: z.string().nullable().describe('The name agents gave the contact (overrides the profile name); null if none'),
  profileName: z.string().nullable().describe('The WhatsApp profile name, as WhatsApp last sent it'),
  username: z.string().nullable().describe('The WhatsApp username, as WhatsApp last sent it'),
  labels: z.array(z.string()),
  notes: z.string(),
  optedOut: z.boolean().describe('The contact opted out of messages from the business'),
  optedOutAt: z.string().nullable().describe('When it opted out (ISO 8601); null unless opted out'),
  createdAt: z.string(),
  updatedAt: z.string(),
})

/** A conversation as the list shows it, with the few contact fields an inbox row needs. */
export const conversationListItemView = z.object({
  id: z.string(),
  channelId: z.string(),
  status: z.enum(['open', 'closed']).describe('A new inbound message reopens a closed conversation'),
  assigneeUserId: z.string().nullable().describe('The member it is assigned to; null when unassigned'),
  unreadCount: z.number().int().describe('Inbound messages since it was last marked read'),
  lastMessageAt: z.string().describe('When its newest message was sent (ISO 8601): the order of the list'),
  lastInboundAt: z
    .string()
    .nullable()
    .describe("When the contact last wrote (ISO 8601; WhatsApp's 24-hour window); null if never"),
  lastMessagePreview: z.string().describe("The start of the newest message's text, or its [type] without one"),
  contact: z.object({
    id: z.string(),
    waId: z.string().nullable(),
    displayName: z.string().nullable(),
    phone: z.string().nullable(),
    username: z.string().nullable(),
  }),
  createdAt: z.string(),
})

/** One conversation: the list's fields, with the whole contact. */
export const conversationView = conversationListItemView.extend({ contact: contactView })

/** A conversation after it was marked read, and whether WhatsApp got the read receipt. */
export const readConversationView = conversationView.extend({
  readReceipt: z
    .enum(['sent', 'failed', 'none'])
    .describe(
      'The read receipt (blue ticks) for the last inbound message: sent; failed (WhatsApp refused it); none (no inbound message, or a channel that cannot send)',
    ),
})

/** Every status a message can be in: queued → sent → delivered → read (→ played), or failed; inbound ones received. */
export const MESSAGE_STATUSES = [
  'queued',
  'sending',
  'sent',
  'delivered',
  'read',
  'played',
  'failed',
  'received',
] as const
export type MessageStatus = (typeof MESSAGE_STATUSES)[number]

/** A message as a conversation lists it. */
export const messageView = z.object({
  id: z.string(),
  conversationId: z.string(),
  channelId: z.string(),
  wamid: z.string().nullable().describe("WhatsApp's message id; null for an outbound message not sent yet"),
  direction: z.enum(['in', 'out']),
  type: z
    .string()
    .describe(
      "WhatsApp's message type: text, image, video, audio, document, sticker, location, contacts, interactive, button, reaction, template, unsupported, order, system… (a type wabox does not know keeps its name)",
    ),
  text: z
    .string()
    .nullable()
    .describe('Text a person reads: the body, a caption, a button title, an emoji, a location name…; null without one'),
  content: z
    .record(z.string(), z.unknown())
    .describe('The type-specific rest (location, contact cards, interactive reply, reaction target, referral…)'),
  replyTo: z.string().nullable().describe('The wamid of the message it replies to; null unless a reply'),
  quoted: z
    .object({
      id: z.string(),
      direction: z.enum(['in', 'out']),
      type: z.string(),
      text: z.string().nullable(),
    })
    .nullable()
    .describe('The message it replies to, when that is in the same conversation; null otherwise'),
  status: z.enum(MESSAGE_STATUSES),
  statusAt: z.string().nullable().describe('When it reached its status (ISO 8601)'),
  error: z
    .object({
      code: z.number(),
      title: z.string().nullable(),
      details: z.string().nullable(),
    })
    .nullable()
    .describe("Why WhatsApp could not send or deliver it (WhatsApp's error code); null without an error"),
  pricing: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe('Pricing as WhatsApp reported it in a status (billable, category…); null until one does'),
  media: z
    .object({
      mimeType: z.string().nullable(),
      filename: z.string().nullable(),
      size: z.number().int().nullable().describe('In bytes; null until it is downloaded'),
      state: z
        .enum(['pending', 'stored', 'failed'])
        .nullable()
        .describe(
          'pending: being downloaded from WhatsApp; stored: served under …/media; failed: could not be downloaded',
        ),
      sha256: z.string().nullable(),
    })
    .nullable()
    .describe('The attached media file; null without one'),
  sentAt: z.string().describe('When WhatsApp says it happened (ISO 8601): the order of the list'),
  detail: messageDetailSchema.nullable().describe('What WhatsApp sent beyond these fields; null when nothing'),
})
