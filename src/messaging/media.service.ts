/**
 * Downloads inbound media in the background — Cloud API: media id → Graph API URL (valid minutes) → bytes; QR-linked
 * devices: the encrypted file from WhatsApp's CDN with the key the message carried — checked against the sha256
 * WhatsApp sent, stored content-addressed under <data-dir>/media/. Failures retry a few
 * times; authentication failures count towards the channel's needs_reauth.
 */
import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { mkdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { ServiceDeps } from '../deps.ts'
import { DueWorker } from '../lib/due-work.ts'
import { storageFailureOf } from '../db/write-health.ts'
import { accessTokenOf, recordGraphOutcome } from '../channels/channels.service.ts'
import { getMediaKeys } from 'baileys'
import { readAtMost } from '../lib/read-body.ts'
import { decodeMediaRef, type QrMediaRef } from '../channels/qr/inbound.ts'
import { safeMimeType } from './mime.ts'
import * as messagesRepo from './messages.repo.ts'

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
    const qrRef = decodeMediaRef(m.media_id!)
    let error: unknown = null
    let usedToken = false
    let temp: string | null = null
    try {
      let fetched: { bytes: Uint8Array; sha256: string | null; mime: string | null }
      if (qrRef) fetched = await fetchFromWhatsApp(qrRef)
      else {
        usedToken = true
        fetched = await this.fetchFromGraph(m.workspace_id, m.channel_id, m.media_id!)
      }
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
    if (usedToken) await recordGraphOutcome(this.deps, m.workspace_id, m.channel_id, error)
    return error === null
  }

  /** Cloud API media: id → a short-lived URL → the bytes, with the channel's token. */
  private async fetchFromGraph(workspaceId: string, channelId: string, mediaId: string) {
    const credentials = await accessTokenOf(this.deps, workspaceId, channelId)
    if (!credentials) throw new Error('channel disconnected')
    const info = await this.deps.graph.getMedia(credentials.token, mediaId, credentials.phoneNumberId ?? undefined)
    return {
      bytes: await this.deps.graph.download(credentials.token, info.url, MAX_MEDIA_BYTES),
      sha256: info.sha256 ?? null,
      mime: info.mime_type ?? null,
    }
  }
}

/**
 * QR-linked media: encrypted on WhatsApp's CDN; the message carried the key (channels/qr/inbound.ts media refs).
 * Whoever sent the message chose the path and URL in it, so only WhatsApp's media hosts are fetched, over https,
 * without redirects and with a deadline — never an address a sender made up.
 */
export function whatsAppMediaUrl(ref: Pick<QrMediaRef, 'directPath' | 'url'>): string | null {
  if (ref.directPath && /^\/[A-Za-z0-9_\-./=&%?]+$/.test(ref.directPath) && !ref.directPath.includes('//')) {
    const url = new URL(`https://${WHATSAPP_MEDIA_HOST}${ref.directPath}`)
    return url.hostname === WHATSAPP_MEDIA_HOST ? url.href : null
  }
  if (!ref.url) return null
  try {
    const url = new URL(ref.url)
    return url.protocol === 'https:' && !url.username && !url.password && url.hostname.endsWith('.whatsapp.net')
      ? url.href
      : null
  } catch {
    return null
  }
}

const WHATSAPP_MEDIA_HOST = 'mmg.whatsapp.net'
const WHATSAPP_MEDIA_TIMEOUT_MS = 60_000

async function fetchFromWhatsApp(ref: QrMediaRef) {
  const url = whatsAppMediaUrl(ref)
  if (!url) throw new Error('the media reference does not point at WhatsApp')
  // Fetched here rather than by Baileys, whose download follows redirects and takes no deadline.
  const res = await fetch(url, {
    redirect: 'error',
    signal: AbortSignal.timeout(WHATSAPP_MEDIA_TIMEOUT_MS),
    headers: { origin: 'https://web.whatsapp.com' },
  })
  if (!res.ok) throw new Error(`WhatsApp's media host answered HTTP ${res.status}`)
  // The encrypted file is the media plus at most a cipher block of padding and the 10-byte MAC.
  const file = await readAtMost(res, MAX_MEDIA_BYTES + 32)
  if (!file) throw new Error(`media larger than ${MAX_MEDIA_BYTES} bytes`)
  return { bytes: await decryptWhatsAppMedia(file, ref), sha256: ref.fileSha256, mime: ref.mimetype }
}

/** WhatsApp media files are AES-256-CBC ciphertext followed by the first 10 bytes of an HMAC-SHA256 over iv + ciphertext. */
export async function decryptWhatsAppMedia(file: Buffer, ref: Pick<QrMediaRef, 'mediaKey' | 'kind'>): Promise<Buffer> {
  if (file.length < 26) throw new Error('the media file is truncated')
  const { iv, cipherKey, macKey } = await getMediaKeys(Buffer.from(ref.mediaKey, 'base64'), ref.kind)
  if (!macKey) throw new Error('the media key cannot authenticate this file')
  const encrypted = file.subarray(0, -10)
  const mac = createHmac('sha256', macKey).update(iv).update(encrypted).digest().subarray(0, 10)
  if (!timingSafeEqual(mac, file.subarray(-10))) throw new Error('the media file does not match its key (sha256 mac)')
  const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv)
  return Buffer.concat([decipher.update(encrypted), decipher.final()])
}
