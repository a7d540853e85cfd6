/** The send API's headers; the body is the neutral send input (channels/send-input.ts). */
import { z } from 'zod'

export const idempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
})

/** The 202 of a send (and what an Idempotency-Key replays). */
export const queuedMessageView = z.object({
  id: z.string(),
  conversationId: z.string(),
  status: z.literal('queued'),
  deferred: z
    .object({
      until: z.string().nullable().describe('When the message may go out; null: when the linked device is back'),
      reason: z.string(),
    })
    .optional()
    .describe('QR-linked numbers: why the message will not go out at once (pacing caps, the device offline)'),
})
