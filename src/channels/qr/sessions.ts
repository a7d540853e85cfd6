/**
 * Every QR-linked number's session in this process: started with `serve` for each linked (or linking) channel,
 * closed on shutdown, started and unlinked by the channels API. One session (one socket) per channel, ever:
 * two sockets with the same creds would keep replacing each other.
 */
import type { ServiceDeps } from '../../deps.ts'
import type { InboxWriter } from '../../webhooks/group-commit.ts'
import { eraseAuthState } from './auth-store.ts'
import { QrSession } from './session.ts'
import type { SocketFactory } from './socket.ts'
import { qrSettingsOf } from './settings.ts'
import * as qrRepo from './qr.repo.ts'

export class QrSessions {
  private readonly sessions = new Map<string, QrSession>()

  constructor(
    private readonly deps: ServiceDeps,
    private readonly opts: { socketFactory: SocketFactory; writer: InboxWriter; onConnected: () => void; random?: () => number },
  ) {}

  /** At startup: every QR channel that should be connected. A session that fails to start does not stop the others. */
  async startAll(): Promise<void> {
    for (const c of await qrRepo.channelsToStart(this.deps.db)) {
      await this.start(c.workspace_id, c.id, c.qr_settings).catch((err) => this.deps.logger.error({ err, channelId: c.id }, 'QR session could not start'))
    }
  }

  /** (Re)starts a channel's session; a running one is closed first. */
  async start(workspaceId: string, channelId: string, storedSettings: string | null): Promise<QrSession> {
    await this.stop(channelId)
    const session = new QrSession(this.deps, workspaceId, channelId, this.opts)
    session.configure(qrSettingsOf(storedSettings))
    this.sessions.set(channelId, session)
    await session.start()
    return session
  }

  /** Whether sends on this channel show "typing…" first (its pacing settings). */
  typing(channelId: string): boolean {
    return this.sessions.get(channelId)?.typing ?? false
  }

  get(channelId: string): QrSession | undefined {
    return this.sessions.get(channelId)
  }

  configure(channelId: string, storedSettings: string | null): void {
    this.sessions.get(channelId)?.configure(qrSettingsOf(storedSettings))
  }

  async stop(channelId: string): Promise<void> {
    const session = this.sessions.get(channelId)
    this.sessions.delete(channelId)
    await session?.stop()
  }

  /** Logs the device out on WhatsApp (when connected) and erases the sealed session either way. */
  async unlink(workspaceId: string, channelId: string): Promise<void> {
    const session = this.sessions.get(channelId)
    this.sessions.delete(channelId)
    if (session) await session.logout()
    await eraseAuthState(this.deps.db, workspaceId, channelId)
  }

  async stopAll(): Promise<void> {
    const all = [...this.sessions.values()]
    this.sessions.clear()
    await Promise.all(all.map((s) => s.stop()))
  }
}
