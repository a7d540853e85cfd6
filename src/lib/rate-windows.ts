/**
 * Rate-limit windows as settings spell them ("3/1s,20/10s,100/1m"): parsed once by config.ts, enforced by the
 * HTTP rate limiter (http/rate-limit.ts). Here, not in http/, so configuration does not depend on the HTTP edge.
 */
import { z } from 'zod'

export type Window = { limit: number; seconds: number }
export type Profile = { name: string; windows: Window[] }

/** Parses "3/1s,20/10s,100/60s" (also accepts m for minutes). */
export const profileSpec = z.string().transform((spec, ctx) => {
  const windows: Window[] = []
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = part.match(/^(\d+)\/(\d+)(s|m)$/)
    const limit = Number(m?.[1])
    const seconds = Number(m?.[2]) * (m?.[3] === 'm' ? 60 : 1)
    if (!m || limit < 1 || seconds < 1) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not LIMIT/WINDOW like 20/10s or 100/1m` })
      return z.NEVER
    }
    windows.push({ limit, seconds })
  }
  if (windows.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'needs at least one LIMIT/WINDOW' })
    return z.NEVER
  }
  return windows.sort((a, b) => a.seconds - b.seconds)
})
