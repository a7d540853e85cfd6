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
  id: z.number(),
  workspaceId: z.string().nullable(),
  at: z.string(),
  action: z.string(),
  actor: z.object({ type: z.string(), id: z.string().nullable(), label: z.string() }),
  target: z.object({ type: z.string(), id: z.string() }).nullable(),
  metadata: z.record(z.string(), z.unknown()),
  ip: z.string(),
  requestId: z.string(),
})
export type AuditEntryView = z.infer<typeof auditEntryView>
