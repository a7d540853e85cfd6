/**
 * The media types WhatsApp accepts and their size caps (Meta's table, reference §4.5; decimal megabytes, as
 * WhatsApp counts them). An upload is checked against it before its channel is even looked up, whatever kind
 * of channel it is for; the provider then takes the file (or says it cannot).
 */
import { AppError } from '../lib/errors.ts'
import type { MediaKind } from './provider.ts'

export const MEDIA_TYPES: Record<string, { kind: MediaKind; maxBytes: number }> = {
  'image/jpeg': { kind: 'image', maxBytes: 5_000_000 },
  'image/png': { kind: 'image', maxBytes: 5_000_000 },
  'image/webp': { kind: 'sticker', maxBytes: 500_000 },
  'audio/aac': { kind: 'audio', maxBytes: 16_000_000 },
  'audio/amr': { kind: 'audio', maxBytes: 16_000_000 },
  'audio/mpeg': { kind: 'audio', maxBytes: 16_000_000 },
  'audio/mp4': { kind: 'audio', maxBytes: 16_000_000 },
  'audio/ogg': { kind: 'audio', maxBytes: 16_000_000 },
  'video/mp4': { kind: 'video', maxBytes: 16_000_000 },
  'video/3gpp': { kind: 'video', maxBytes: 16_000_000 },
  'text/plain': { kind: 'document', maxBytes: 100_000_000 },
  'application/pdf': { kind: 'document', maxBytes: 100_000_000 },
  'application/msword': { kind: 'document', maxBytes: 100_000_000 },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': {
    kind: 'document',
    maxBytes: 100_000_000,
  },
  'application/vnd.ms-excel': { kind: 'document', maxBytes: 100_000_000 },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { kind: 'document', maxBytes: 100_000_000 },
  'application/vnd.ms-powerpoint': { kind: 'document', maxBytes: 100_000_000 },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': {
    kind: 'document',
    maxBytes: 100_000_000,
  },
}

/** WhatsApp's cap for a sticker without animation (Meta's media table: static 100 KB, animated 500 KB). */
const STATIC_STICKER_MAX_BYTES = 100_000

/**
 * Whether a WebP file is animated: an extended (VP8X) header with its animation flag, or an ANIM chunk
 * (Google's WebP container specification). Only the first bytes are read.
 */
async function isAnimatedWebp(file: File): Promise<boolean> {
  const head = new Uint8Array(await file.slice(0, 64).arrayBuffer())
  const tag = (at: number) => String.fromCharCode(...head.subarray(at, at + 4))
  if (tag(0) !== 'RIFF' || tag(8) !== 'WEBP') return false
  if (tag(12) === 'VP8X' && (head[20]! & 0x02) !== 0) return true
  return tag(30) === 'ANIM'
}

/** The file's type and its rule; 415 for a type WhatsApp does not take, 413 over its cap. */
export async function checkUploadable(file: File): Promise<{ mime: string; kind: MediaKind }> {
  const mime = (file.type || 'application/octet-stream').split(';')[0]!.trim().toLowerCase()
  const rule = MEDIA_TYPES[mime]
  if (!rule) {
    throw new AppError(415, 'unsupported_media_type', `WhatsApp does not accept ${mime} files.`, [
      { field: 'file', message: `type ${mime} is not accepted` },
    ])
  }
  const tooLarge = (what: string, max: number) =>
    new AppError(413, 'media_too_large', `${what} may be at most ${max} bytes (this one is ${file.size}).`, [
      { field: 'file', message: 'too large' },
    ])
  if (file.size > rule.maxBytes) throw tooLarge(`${rule.kind} files`, rule.maxBytes)
  if (rule.kind === 'sticker' && file.size > STATIC_STICKER_MAX_BYTES && !(await isAnimatedWebp(file))) {
    throw tooLarge('Static stickers (WebP without animation)', STATIC_STICKER_MAX_BYTES)
  }
  return { mime, kind: rule.kind }
}

/** The largest media file wabox downloads or stores, whatever kind of channel it came through. */
export const MAX_MEDIA_BYTES = 100 * 1024 * 1024
