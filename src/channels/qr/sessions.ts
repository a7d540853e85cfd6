/**
 * Every QR-linked number's session in this process: started with `serve` for each linked (or linking) channel,
 * closed on shutdown, started and unlinked by the channels API. One session (one socket) per channel, ever:
 * two sockets with the same creds would keep replacing each other.
 */
import type { ServiceDeps } from '../../deps.ts'
import type { IntakeWriter } from '../../intake/writer.ts'
import { eraseAuthState } from './auth-store.ts'
import { QrSession, type SessionUpdate } from './session.ts'
import type { SocketFactory } from './socket.ts'
import { qrSettingsOf } from './settings.ts'
import * as channelsRepo from '../channels.repo.ts'
import { name } from './name.ts'
import { WaVersions } from './wa-version.ts'

export class QrSessions {
  private readonly sessions = new Map<string, QrSession>()
  /** Followers of a channel's QR codes and states, kept across its sessions (a relink makes a new one). */
  private readonly followers = new Map<string, Set<(u: SessionUpdate) => void>>()
  /** Start, stop and unlink of one channel run one after another: two at once could leave a socket nobody owns. */
  private readonly queues = new Map<string, Promise<unknown>>()
  /** Which WhatsApp Web version sockets announce: one source, so `latest` is read once for every number. */
  private readonly versions: WaVersions

  constructor(
    private readonly deps: ServiceDeps,
    private readonly opts: {
      socketFactory: SocketFactory
      writer: IntakeWriter
      onConnected: () => void
      random?: () => number
    },
  ) {
    this.versions = new WaVersions(deps)
  }

  follow(channelId: string, listener: (u: SessionUpdate) => void): () => void {
    const set = this.followers.get(channelId) ?? new Set()
    set.add(listener)
    this.followers.set(channelId, set)
    return () => {
      set.delete(listener)
      if (set.size === 0) this.followers.delete(channelId)
    }
  }

  private serial<T>(channelId: string, work: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(channelId) ?? Promise.resolve()).catch(() => {}).then(work)
    this.queues.set(channelId, run)
    void run
      .finally(() => {
        if (this.queues.get(channelId) === run) this.queues.delete(channelId)
      })
      .catch(() => {})
    return run
  }

  /** At startup: every QR channel that should be connected. A session that fails to start does not stop the others. */
  async startAll(): Promise<void> {
    for (const c of await channelsRepo.sessionsToStart(this.deps.db, name)) {
      await this.start(c.workspace_id, c.id, c.qr_settings).catch((err) =>
        this.deps.logger.error({ err, channelId: c.id }, 'QR session could not start'),
      )
    }
  }

  /** (Re)starts a channel's session; a running one is closed first. */
  start(workspaceId: string, channelId: string, storedSettings: string | null): Promise<QrSession> {
    return this.serial(channelId, async () => {
      await this.sessions.get(channelId)?.stop()
      const session = new QrSession(this.deps, workspaceId, channelId, {
        ...this.opts,
        versions: this.versions,
        publish: (id, u) => {
          for (const listener of this.followers.get(id) ?? []) listener(u)
        },
      })
      session.configure(qrSettingsOf(storedSettings))
      this.sessions.set(channelId, session)
      await session.start()
      return session
    })
  }

  /** Whether sends on this channel show "typing…" first (its pacing settings). */
  typing(channelId: string): boolean {
    return this.sessions.get(channelId)?.typing ?? false
  }

  /** Running sessions by connection state (metrics). */
  countByState(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const session of this.sessions.values()) counts.set(session.state, (counts.get(session.state) ?? 0) + 1)
    return counts
  }

  get(channelId: string): QrSession | undefined {
    return this.sessions.get(channelId)
  }

  configure(channelId: string, storedSettings: string | null): void {
    this.sessions.get(channelId)?.configure(qrSettingsOf(storedSettings))
  }

  stop(channelId: string): Promise<void> {
    return this.serial(channelId, async () => {
      const session = this.sessions.get(channelId)
      this.sessions.delete(channelId)
      await session?.stop()
    })
  }

  /** Logs the device out on WhatsApp (when connected) and erases the sealed session either way. */
  unlink(workspaceId: string, channelId: string): Promise<void> {
    return this.serial(channelId, async () => {
      const session = this.sessions.get(channelId)
      this.sessions.delete(channelId)
      if (session) await session.logout()
      await eraseAuthState(this.deps.db, workspaceId, channelId)
    })
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.stop(id)))
  }
}
