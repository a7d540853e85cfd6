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
