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
