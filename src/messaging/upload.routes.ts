/**
 * Media uploads for later sends: the file goes to Meta through the channel's number (media ids belong to a
 * number), checked first against Meta's types and sizes (reference §4.5). The answer's `mediaId` is what
 * the send API's `mediaId` fields take.
 */
import { Elysia } from 'elysia'
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { AppError, notFound } from '../lib/errors.ts'
import { workspaceParams } from '../workspaces/workspaces.schema.ts'
import * as channelsRepo from '../channels/channels.repo.ts'
import { accessTokenOf, recordGraphOutcome } from '../channels/channels.service.ts'
import { GraphError } from '../channels/cloud/graph.ts'

export const MEDIA_UPLOAD_LIMIT = 100 * 1024 * 1024

/** Meta's accepted types and their size caps (decimal megabytes, as WhatsApp counts them). */
export const MEDIA_TYPES: Record<
  string,
  { kind: 'image' | 'audio' | 'video' | 'document' | 'sticker'; maxBytes: number }
> = {
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

const uploadBody = z.object({
  channelId: z.string().min(1).max(64),
  file: z.instanceof(File, { error: 'must be a file (multipart/form-data field "file")' }),
})

export function mediaRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  return new Elysia({ prefix: '/api/v1/workspaces/:workspaceId', tags: ['sending'] }).use(auth).post(
    '/media',
    async ({ tenant, body, set }) => {
      const mime = (body.file.type || 'application/octet-stream').split(';')[0]!.trim().toLowerCase()
      const rule = MEDIA_TYPES[mime]
      if (!rule) {
        throw new AppError(415, 'unsupported_media_type', `WhatsApp does not accept ${mime} files.`, [
          { field: 'file', message: `type ${mime} is not accepted` },
        ])
      }
      if (body.file.size > rule.maxBytes) {
        throw new AppError(
          413,
          'media_too_large',
          `${rule.kind} files may be at most ${rule.maxBytes} bytes (this one is ${body.file.size}).`,
          [{ field: 'file', message: 'too large' }],
        )
      }
      const channel = await channelsRepo.find(deps.db, tenant.workspace.id, body.channelId)
      if (!channel) throw notFound('channel')
      const credentials = await accessTokenOf(deps, tenant.workspace.id, channel.id)
      if (!credentials?.phoneNumberId || channel.status !== 'active')
        throw new AppError(409, 'channel_unavailable', 'The channel cannot send right now.')
      try {
        const uploaded = await deps.graph.uploadMedia(
          credentials.token,
          credentials.phoneNumberId,
          body.file,
          mime,
          body.file.name || 'upload',
        )
        set.status = 201
        return { mediaId: uploaded.id, kind: rule.kind, mimeType: mime, size: body.file.size, channelId: channel.id }
      } catch (err) {
        if (err instanceof GraphError) {
          if (err.authFailure) await recordGraphOutcome(deps, tenant.workspace.id, channel.id, err, { immediate: true })
          throw new AppError(502, 'upload_failed', `Meta did not accept the upload (code ${err.code}).`)
        }
        throw err
      }
    },
    {
      permission: 'conversations.reply',
      params: workspaceParams,
      body: uploadBody,
      detail: {
        summary: 'Upload a file (multipart: channelId, file) to send later by mediaId; types and sizes per WhatsApp',
      },
    },
  )
}
