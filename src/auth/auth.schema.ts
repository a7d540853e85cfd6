import { z } from 'zod'
import { passwordSchema } from './passwords.ts'

export const emailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ error: 'must be an email address' }))
  .transform((e) => e.toLowerCase())

export const loginBody = z.object({
  email: z.string().trim().min(1, 'is required').max(254),
  password: z.string().min(1, 'is required').max(256),
})

export const setupBody = z.object({
  token: z.string().min(1, 'is required').max(200),
  email: emailSchema,
  password: passwordSchema,
  name: z.string().trim().max(100).default(''),
  workspaceName: z.string().trim().min(1, 'is required').max(100),
})

export const changePasswordBody = z.object({
  currentPassword: z.string().min(1, 'is required').max(256),
  newPassword: passwordSchema,
})

export const userView = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  isOperator: z.boolean(),
})
export type UserView = z.infer<typeof userView>

export const meView = userView.extend({
  memberships: z.array(
    z.object({ workspaceId: z.string(), workspaceName: z.string(), plan: z.string(), role: z.string() }),
  ),
})
