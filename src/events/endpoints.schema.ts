import { z } from 'zod'
import { workspaceParams } from '../workspaces/workspaces.schema.ts'
import { EVENT_TYPES } from './catalog.ts'

export const endpointParams = workspaceParams.extend({ endpointId: z.string().min(1).max(64) })
export const deliveryParams = workspaceParams.extend({ deliveryId: z.string().min(1).max(64) })

const eventTypes = z
  .array(z.enum(['*', ...EVENT_TYPES.filter((t) => t !== 'webhook.test')] as [string, ...string[]]))
  .min(1, 'name at least one event type, or "*" for all')
  .max(50)
  .describe('event types this endpoint receives; ["*"] is every type')

export const createEndpointBody = z
  .object({
    url: z
      .string()
      .min(1)
      .max(2048)
      .describe('https URL (http only if the operator allows it); private and loopback addresses are refused'),
    eventTypes: eventTypes.default(['*']),
    description: z.string().trim().max(500).default(''),
    enabled: z.boolean().default(true),
  })
  .strict()

export const updateEndpointBody = z
  .object({
    url: z.string().min(1).max(2048),
    eventTypes,
    description: z.string().trim().max(500),
    enabled: z.boolean(),
  })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'send at least one field')

export const rotateSecretBody = z
  .object({
    overlapHours: z
      .number()
      .int()
      .min(0)
      .max(168)
      .default(24)
      .describe('hours during which the old secret also signs (both signatures are sent)'),
  })
  .strict()
  .default({ overlapHours: 24 })

export const deliveryListQuery = z.object({
  endpointId: z.string().max(64).optional(),
  state: z.enum(['pending', 'delivered', 'failed']).optional(),
  eventType: z.string().max(64).optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('created at or after'),
  to: z.iso.datetime({ offset: true }).optional().describe('created before'),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
})

export const replayBody = z
  .object({
    endpointId: z.string().min(1).max(64),
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
  })
  .strict()
  .refine((b) => Date.parse(b.from) < Date.parse(b.to), { message: 'must be before to', path: ['from'] })

// ---- views: what endpoints.service.ts answers (endpointView, deliveryView, attemptView), field for field ----

/** A webhook endpoint as every list and read shows it: never its signing secret (see endpointWithSecretView). */
export const endpointView = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string(),
  eventTypes: z
    .array(z.string())
    .describe('The event types it receives (the catalogue under `webhooks`); ["*"] is every type'),
  enabled: z.boolean(),
  disabledReason: z
    .string()
    .nullable()
    .describe('Why wabox switched it off after it kept failing (cleared when it is enabled again); null unless it did'),
  failingSince: z
    .string()
    .nullable()
    .describe('Since when every delivery has failed (ISO 8601); null while it succeeds'),
  previousSecretUntil: z
    .string()
    .nullable()
    .describe('After a rotation with an overlap: until when the previous secret also signs; null without one'),
  createdAt: z.string(),
  updatedAt: z.string(),
})

const endpointWithSecretView = (summary: string, secret: string) =>
  z
    .object({
      endpoint: endpointView,
      secret: z.string().describe(secret),
    })
    .describe(summary)
/** A new endpoint with its signing secret: the only answer that shows it. */
export const createdEndpointView = endpointWithSecretView(
  'The new endpoint, and its signing secret: shown this once',
  'The signing secret (whsec_…, Standard Webhooks): returned once, in this response only; store it now',
)
/** An endpoint after a rotation, with its new signing secret: the only answer that shows that one. */
export const rotatedSecretView = endpointWithSecretView(
  'The endpoint, and its new signing secret: shown this once',
  'The new signing secret (whsec_…): returned once, in this response only; the previous one keeps signing until previousSecretUntil (null: retired at once)',
)

/** One HTTP attempt of a delivery. */
export const attemptView = z.object({
  at: z.string().describe('When it was sent (ISO 8601)'),
  statusCode: z.number().int().nullable().describe("The receiver's HTTP status; null when no answer came"),
  latencyMs: z.number().int(),
  response: z.string().describe("The first 1 KB of the receiver's answer ('' without one)"),
  error: z.string().nullable().describe('Why no answer came (refused URL, timeout, network error); null when one did'),
})

/** A delivery of one event to one endpoint, with every attempt so far. */
export const deliveryView = z.object({
  id: z.string(),
  endpointId: z.string(),
  eventId: z.string().describe('The event id (evt_…), the webhook-id header: the same on every attempt and replay'),
  eventType: z.string(),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int().describe('Attempts in the current retry budget (a replay starts it again at 0)'),
  nextAttemptAt: z.string().nullable().describe('When the next attempt is due; null unless pending'),
  lastStatus: z
    .number()
    .int()
    .nullable()
    .describe('HTTP status of the last attempt; null before one, or without an answer'),
  lastError: z.string().nullable().describe('Why the last attempt failed; null if it succeeded or none was made'),
  createdAt: z.string(),
  updatedAt: z.string(),
  log: z.array(attemptView).describe('Every attempt, oldest first'),
})

export const replayFailedResult = z.object({
  replayed: z.number().int().describe('How many failed deliveries are back in the queue'),
})
