/**
 * Downloads inbound media in the background: media id → Graph API URL (valid minutes) → bytes, checked
 * against the sha256 WhatsApp sent, stored content-addressed under <data-dir>/media/. Failures retry a few
 * times; authentication failures count towards the channel's needs_reauth.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, renameSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { ServiceDeps } from '../deps.ts'
import { Drainer } from '../jobs/drainer.ts'
import { accessTokenOf, recordGraphOutcome } from '../channels/channels.service.ts'
import * as repo from './messaging.repo.ts'

export const MAX_MEDIA_BYTES = 100 * 1024 * 1024
export const MAX_MEDIA_ATTEMPTS = 5

/** `media/ab/abcdef…`: the path of a file named by its own SHA-256, relative to the data directory. */
export const mediaPathFor = (hex: string) => join('media', hex.slice(0, 2), hex)

/** WhatsApp gives sha256 as base64 in webhooks and hex in the media lookup; accept either. */
function matchesDigest(expected: string | null | undefined, digest: Buffer): boolean {
  if (!expected) return true
  return expected === digest.toString('base64') || expected.toLowerCase() === digest.toString('hex')
}

export class MediaDownloader {
  private readonly worker: Drainer

  constructor(private readonly deps: ServiceDeps) {
    this.worker = new Drainer('media', () => this.step(), deps.logger)
  }

  wake(): void {
    this.worker.wake()
  }
  drain(): Promise<void> {
    return this.worker.drain()
  }
  start(intervalMs = 30_000): void {
    this.worker.start(intervalMs)
  }
  stop(): Promise<void> {
    return this.worker.stop()
  }

  /** Tries each pending download once; returns how many were stored (failures wait for the next pass). */
  private async step(): Promise<number> {
    let stored = 0
    for (const m of await repo.pendingMedia(this.deps.db, 20)) {
      if (await this.download(m)) stored++
    }
    return stored
  }

  private async download(m: Awaited<ReturnType<typeof repo.pendingMedia>>[number]): Promise<boolean> {
    const { db, graph, logger } = this.deps
    const credentials = await accessTokenOf(this.deps, m.workspace_id, m.channel_id)
    let error: unknown = null
    try {
      if (!credentials) throw new Error('channel disconnected')
      const info = await graph.getMedia(credentials.token, m.media_id!, credentials.phoneNumberId ?? undefined)
      const bytes = await graph.download(credentials.token, info.url, MAX_MEDIA_BYTES)
      const digest = createHash('sha256').update(bytes).digest()
      if (!matchesDigest(m.media_sha256, digest) || !matchesDigest(info.sha256, digest)) {
        throw new Error('downloaded media does not match its sha256')
      }
      const hex = digest.toString('hex')
      const relative = mediaPathFor(hex)
      const full = join(this.deps.config.dataDir, relative)
      if (!existsSync(full)) {
        mkdirSync(dirname(full), { recursive: true, mode: 0o700 })
        const temp = `${full}.${process.pid}.tmp`
        writeFileSync(temp, bytes, { mode: 0o600 })
        renameSync(temp, full)
      }
      await repo.updateMessage(db, m.workspace_id, m.id, { media_state: 'stored', media_path: relative, media_size: bytes.length, media_mime: m.media_mime ?? info.mime_type })
    } catch (err) {
      error = err
      const attempts = m.media_attempts + 1
      const failed = attempts >= MAX_MEDIA_ATTEMPTS || (err instanceof Error && err.message.includes('sha256'))
      await repo.updateMessage(db, m.workspace_id, m.id, { media_attempts: attempts, ...(failed ? { media_state: 'failed' } : {}) })
      logger.warn({ messageId: m.id, channelId: m.channel_id, attempts, failed, error: (err as Error).message }, 'media download failed')
    }
    if (credentials) await recordGraphOutcome(this.deps, m.workspace_id, m.channel_id, error)
    return error === null
  }
}
