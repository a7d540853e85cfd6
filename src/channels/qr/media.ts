/**
 * Inbound media of QR-linked devices: the encrypted file from WhatsApp's CDN, decrypted with the key the message
 * carried (inbound.ts media refs). Baileys' own download is not used: it follows redirects and takes no deadline.
 */
import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto'
import { getMediaKeys } from 'baileys'
import { WHATSAPP_MEDIA_ORIGIN } from '../../config.ts'
import { readAtMost } from '../../lib/read-body.ts'
import { MAX_MEDIA_BYTES } from '../media-types.ts'
import type { FetchedMedia } from '../provider.ts'
import type { QrMediaRef } from './inbound.ts'

/**
 * QR-linked media: encrypted on WhatsApp's CDN; the message carried the key (channels/qr/inbound.ts media refs).
 * Whoever sent the message chose the path and URL in it, so only WhatsApp's media hosts are fetched, over https,
 * without redirects and with a deadline — never an address a sender made up.
 */
export function whatsAppMediaUrl(
  ref: Pick<QrMediaRef, 'directPath' | 'url'>,
  /** The media host (config qrMediaUrl): WhatsApp's, unless a test or a proxy stands in for it. */
  origin = WHATSAPP_MEDIA_ORIGIN,
): string | null {
  if (ref.directPath && /^\/[A-Za-z0-9_\-./=&%?]+$/.test(ref.directPath) && !ref.directPath.includes('//')) {
    const url = new URL(`${origin}${ref.directPath}`)
    return url.origin === new URL(origin).origin ? url.href : null
  }
  // A full URL from the message is only ever one of WhatsApp's own hosts, and only when wabox talks to WhatsApp.
  if (!ref.url || origin !== WHATSAPP_MEDIA_ORIGIN) return null
  try {
    const url = new URL(ref.url)
    return url.protocol === 'https:' && !url.username && !url.password && url.hostname.endsWith('.whatsapp.net')
      ? url.href
      : null
  } catch {
    return null
  }
}

const WHATSAPP_MEDIA_TIMEOUT_MS = 60_000

/**
 * WhatsApp's media host no longer has the file (404/410): it keeps media for a while only. The phone that sent or
 * received it can upload it again when asked (qr.provider.ts downloadMedia).
 */
export class MediaExpired extends Error {
  override name = 'MediaExpired'
}

/** The decrypted media a QR message's reference points at. */
export async function fetchFromWhatsApp(ref: QrMediaRef, origin = WHATSAPP_MEDIA_ORIGIN): Promise<FetchedMedia> {
  const url = whatsAppMediaUrl(ref, origin)
  if (!url) throw new Error('the media reference does not point at WhatsApp')
  // Fetched here rather than by Baileys, whose download follows redirects and takes no deadline.
  const res = await fetch(url, {
    redirect: 'error',
    signal: AbortSignal.timeout(WHATSAPP_MEDIA_TIMEOUT_MS),
    headers: { origin: 'https://web.whatsapp.com' },
  })
  if (res.status === 404 || res.status === 410) {
    await res.body?.cancel()
    throw new MediaExpired(`WhatsApp's media host no longer has the file (HTTP ${res.status})`)
  }
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
