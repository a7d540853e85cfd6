import { z } from 'zod'

export const auditQuery = z.object({
  action: z
    .string()
    .regex(/^[a-z_]+(\.[a-z_*]+)*$/, 'must be an action name like member.removed or member.*')
    .max(64)
    .optional(),
  actor: z.string().max(64).optional(),
  from: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional(),
  to: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional(),
  cursor: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  format: z.enum(['json', 'csv']).default('json'),
})
export type AuditQuery = z.infer<typeof auditQuery>

export const auditEntryView = z.object({
  id: z.number().int().describe('Increasing: newer entries have higher ids'),
  workspaceId: z.string().nullable().describe('null for instance-level entries (sign-in failures, setup)'),
  at: z.string().describe('When the action happened (ISO 8601)'),
  action: z.string().describe('e.g. member.removed, apikey.created'),
  actor: z.object({
    type: z.enum(['user', 'api_key', 'anonymous', 'system']),
    id: z.string().nullable().describe('The user or API key id; null for anonymous and system actors'),
    label: z.string().describe('Who it was when it happened (an email, a key name), kept after renames'),
  }),
  target: z
    .object({ type: z.string(), id: z.string() })
    .nullable()
    .describe('What the action was done to, if anything'),
  metadata: z.record(z.string(), z.unknown()).describe('Context of the action; never holds a credential'),
  ip: z.string(),
  requestId: z.string().describe('The X-Request-ID of the request that did it'),
})
export type AuditEntryView = z.infer<typeof auditEntryView>
