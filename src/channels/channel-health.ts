/**
 * Channel health: every call made with a channel's credentials reports its outcome here. Authentication
 * failures count up; at REAUTH_AFTER_FAILURES the channel becomes needs_reauth (audited once), so the team sees
 * it instead of messages silently failing. A success resets the count.
 */
import type { ServiceDeps } from '../deps.ts'
import { systemCaller } from '../auth/principal.ts'
import { iso } from '../clock.ts'
import * as audit from '../audit/audit.service.ts'
import { emit } from '../events/emit.ts'
import * as repo from './channels.repo.ts'
import { providerOf } from './provider.ts'

/** Consecutive authentication failures before a channel is marked needs_reauth. */
export const REAUTH_AFTER_FAILURES = 3

/** The code of an error that says the credentials no longer work (a provider's or its API client's), else null. */
function authFailureCode(error: unknown): number | null {
  if (!(error instanceof Error)) return null
  const e = error as Error & { authFailure?: unknown; code?: unknown }
  return e.authFailure === true && typeof e.code === 'number' ? e.code : null
}

/**
 * Records the outcome of a call made with the channel's credentials: `error` null for a success. A refused
 * send (`immediate`) is proof enough; background downloads wait for a pattern.
 */
export async function recordCredentialOutcome(
  deps: ServiceDeps,
  workspaceId: string,
  channelId: string,
  error: unknown,
  opts: { immediate?: boolean } = {},
): Promise<void> {
  const code = authFailureCode(error)
  await deps.db.transaction().execute(async (trx) => {
    const c = await repo.find(trx, workspaceId, channelId)
    if (!c || c.status === 'disconnected') return
    if (code === null) {
      if (error === null && c.auth_failures > 0) await repo.update(trx, workspaceId, channelId, { auth_failures: 0 })
      return
    }
    const failures = c.auth_failures + 1
    const flip = (opts.immediate || failures >= REAUTH_AFTER_FAILURES) && c.status === 'active'
    const now = deps.clock.now()
    await repo.update(trx, workspaceId, channelId, {
      auth_failures: failures,
      ...(flip ? { status: 'needs_reauth', updated_at: iso(now) } : {}),
    })
    if (flip) {
      await audit.record(trx, systemCaller('channel health', now), {
        workspaceId,
        action: 'channel.needs_reauth',
        target: { type: 'channel', id: channelId },
        metadata: { failures, code },
      })
      await emit(
        trx,
        workspaceId,
        'channel.status',
        { channelId, status: 'needs_reauth', reason: providerOf(deps, c.provider).credentialsRefused(code) },
        iso(now),
      )
      deps.logger.warn({ channelId, workspaceId, code }, 'channel needs re-authentication')
    }
  })
}
