/**
 * The port through which the QR provider reaches the running sessions. The provider is built before the service
 * dependencies (registry.ts), the sessions after them (they need the database, the clock and the inbox writer):
 * the runtime binds them here once, at start-up. Outside `serve` (a CLI command, a test without a runtime)
 * nothing is bound, and what needs a live device fails retryably.
 */
import { ProviderError } from '../provider.ts'
import type { QrSessions } from './sessions.ts'

export class LiveSessions {
  private bound: QrSessions | null = null

  bind(sessions: QrSessions): void {
    if (this.bound) throw new Error('the QR sessions are already bound')
    this.bound = sessions
  }

  /** The running sessions, if this process runs them. */
  current(): QrSessions | null {
    return this.bound
  }

  /** The running sessions; a ProviderError (retryable) where this process does not run them. */
  running(): QrSessions {
    if (!this.bound)
      throw new ProviderError({
        code: -2,
        reason: 'The QR-linked device session is not running in this process',
        retryable: true,
      })
    return this.bound
  }
}
