/**
 * Plans (PlanGuard): feature flags and quotas per workspace, defined in configuration with defaults.
 * A request for something outside the workspace's plan answers 402 naming the feature or the limit.
 */
import { z } from 'zod'
import { AppError } from '../lib/errors.ts'

export const planSchema = z.object({
  features: z.object({
    apiAccess: z.boolean(),
    broadcasts: z.boolean(),
    ai: z.boolean(),
  }),
  quotas: z.object({
    channels: z.number().int().min(0),
    members: z.number().int().min(1),
    apiKeys: z.number().int().min(0),
    broadcastsPerMonth: z.number().int().min(0),
    retentionDaysMax: z.number().int().min(1),
  }),
})
export type Plan = z.infer<typeof planSchema>
export type Feature = keyof Plan['features']
export type Quota = keyof Plan['quotas']
export type Plans = Record<string, Plan>

export const DEFAULT_PLANS: Plans = {
  free: {
    features: { apiAccess: false, broadcasts: false, ai: false },
    quotas: { channels: 1, members: 3, apiKeys: 0, broadcastsPerMonth: 0, retentionDaysMax: 30 },
  },
  team: {
    features: { apiAccess: true, broadcasts: true, ai: false },
    quotas: { channels: 3, members: 10, apiKeys: 5, broadcastsPerMonth: 20, retentionDaysMax: 180 },
  },
  business: {
    features: { apiAccess: true, broadcasts: true, ai: true },
    quotas: { channels: 20, members: 100, apiKeys: 50, broadcastsPerMonth: 500, retentionDaysMax: 730 },
  },
}

/** `--plans` / WABOX_PLANS: a JSON object of plan definitions; each named plan replaces the default of that name. */
export const plansOverrideSchema = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of plans' })
      return z.NEVER
    }
  })
  .pipe(z.record(z.string().regex(/^[a-z0-9_-]{1,32}$/, 'plan names are 1-32 of a-z 0-9 _ -'), planSchema))
  .transform((overrides) => ({ ...DEFAULT_PLANS, ...overrides }))

const FEATURE_NAMES: Record<Feature, string> = {
  apiAccess: 'API access',
  broadcasts: 'broadcasts',
  ai: 'AI automations',
}
const QUOTA_NAMES: Record<Quota, string> = {
  channels: 'channels',
  members: 'members (including pending invites)',
  apiKeys: 'API keys',
  broadcastsPerMonth: 'broadcasts per month',
  retentionDaysMax: 'days of retention',
}

export function planOf(plans: Plans, name: string): Plan {
  // A plan removed from the configuration falls back to the most restrictive one rather than to none.
  return plans[name] ?? plans.free ?? DEFAULT_PLANS.free!
}

export function requireFeature(plans: Plans, planName: string, feature: Feature): void {
  if (!planOf(plans, planName).features[feature]) {
    throw new AppError(
      402,
      'plan_feature_unavailable',
      `The "${planName}" plan does not include ${FEATURE_NAMES[feature]}.`,
    )
  }
}

/** Throws 402 when adding `adding` to `current` would pass the plan's quota. */
export function requireQuota(plans: Plans, planName: string, quota: Quota, current: number, adding = 1): void {
  const limit = planOf(plans, planName).quotas[quota]
  if (current + adding > limit) {
    throw new AppError(
      402,
      'plan_quota_exceeded',
      `The "${planName}" plan allows ${limit} ${QUOTA_NAMES[quota]}; this workspace has ${current}.`,
    )
  }
}
