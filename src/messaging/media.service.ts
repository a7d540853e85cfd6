/**
 * Downloads inbound media in the background, through the channel's provider (the Cloud API's Graph media, a QR
 * device's encrypted file from WhatsApp's CDN), checked against the sha256 WhatsApp sent, stored content-addressed
 * under <data-dir>/media/. Failures retry a few times; authentication failures count towards the channel's
 * needs_reauth.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { ServiceDeps } from '../deps.ts'
import { DueWorker } from '../lib/due-work.ts'
import { storageFailureOf } from '../db/write-health.ts'
import { recordCredentialOutcome } from '../channels/channel-health.ts'
import * as channelsRepo from '../channels/channels.repo.ts'
import { providerOf } from '../channels/provider.ts'
import { safeMimeType } from './mime.ts'
import * as messagesRepo from './messages.repo.ts'

export const MAX_MEDIA_ATTEMPTS = 5

/** `media/ab/abcdef…`: the path of a file named by its own SHA-256, relative to the data directory. */
export const mediaPathFor = (hex: string) => join('media', hex.slice(0, 2), hex)

/** WhatsApp gives sha256 as base64 in webhooks and hex in the media lookup; accept either. */
function matchesDigest(expected: string | null | undefined, digest: Buffer): boolean {
  if (!expected) return true
  return expected === digest.toString('base64') || expected.toLowerCase() === digest.toString('hex')
}

export class MediaDownloader {
  private readonly worker: DueWorker

  constructor(private readonly deps: ServiceDeps) {
    this.worker = new DueWorker('media', () => this.step(), {
      logger: deps.logger,
      clock: deps.clock,
      health: { record: deps.writeHealth, source: 'media downloads' },
    })
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
    for (const m of await messagesRepo.pendingMedia(this.deps.db, 20)) {
      if (await this.download(m)) stored++
    }
    return stored
  }

  private async download(m: Awaited<ReturnType<typeof messagesRepo.pendingMedia>>[number]): Promise<boolean> {
    const { db, logger } = this.deps
    let error: unknown = null
    let temp: string | null = null
    try {
      const channel = await channelsRepo.find(db, m.workspace_id, m.channel_id)
      if (!channel) throw new Error('channel not found')
      const fetched = await providerOf(this.deps, channel.provider).downloadMedia(this.deps, channel, m.media_id!)
      const { bytes } = fetched
      const digest = createHash('sha256').update(bytes).digest()
      if (!matchesDigest(m.media_sha256, digest) || !matchesDigest(fetched.sha256, digest)) {
        throw new Error('downloaded media does not match its sha256')
      }
      const hex = digest.toString('hex')
      const relative = mediaPathFor(hex)
      const full = join(this.deps.config.dataDir, relative)
      if (!existsSync(full)) {
        mkdirSync(dirname(full), { recursive: true, mode: 0o700 })
        temp = `${full}.${process.pid}.tmp`
        writeFileSync(temp, bytes, { mode: 0o600 })
        renameSync(temp, full)
        temp = null
      }
      await messagesRepo.updateMessage(db, m.workspace_id, m.id, {
        media_state: 'stored',
        media_path: relative,
        media_size: bytes.length,
        media_mime: m.media_mime ?? safeMimeType(fetched.mime),
      })
    } catch (err) {
      if (temp) rmSync(temp, { force: true })
      // A full disk (the file or the database) is not this download's fault: it must not use up its attempts and
      // mark the media failed for good. The pass fails instead (readiness reports it); the next pass tries again.
      if (storageFailureOf(err)) throw err
      error = err
      const attempts = m.media_attempts + 1
      const failed = attempts >= MAX_MEDIA_ATTEMPTS || (err instanceof Error && err.message.includes('sha256'))
      await messagesRepo.updateMessage(db, m.workspace_id, m.id, {
        media_attempts: attempts,
        ...(failed ? { media_state: 'failed' } : {}),
      })
      logger.warn(
        { messageId: m.id, channelId: m.channel_id, attempts, failed, error: (err as Error).message },
        'media download failed',
      )
    }
    // Whatever kind of channel: a provider that authenticates with credentials reports its refusals as authFailure.
    await recordCredentialOutcome(this.deps, m.workspace_id, m.channel_id, error)
    return error === null
  }
}
