/**
 * Media uploads for later sends: the file is checked against the types and sizes WhatsApp accepts
 * (channels/media-types.ts), then handed to the channel's provider (media ids belong to a number). The answer's
 * `mediaId` is what the send API's `mediaId` fields take.
 */
import { Elysia } from 'elysia'
import { z } from 'zod'
import type { ServiceDeps } from '../deps.ts'
import type { AuthPlugin } from '../http/auth.plugin.ts'
import { notFound } from '../lib/errors.ts'
import { workspaceParams } from '../workspaces/workspaces.schema.ts'
import * as channelsRepo from '../channels/channels.repo.ts'
import { checkUploadable } from '../channels/media-types.ts'
import { providerOf } from '../channels/provider.ts'

export const MEDIA_UPLOAD_LIMIT = 100 * 1024 * 1024

const uploadBody = z.object({
  channelId: z.string().min(1).max(64),
  file: z.instanceof(File, { error: 'must be a file (multipart/form-data field "file")' }),
})

export function mediaRoutes(deps: ServiceDeps, auth: AuthPlugin) {
  return new Elysia({ prefix: '/api/v1/workspaces/:workspaceId', tags: ['sending'] }).use(auth).post(
    '/media',
    async ({ tenant, body, set }) => {
      const { mime, kind } = await checkUploadable(body.file)
      const channel = await channelsRepo.find(deps.db, tenant.workspace.id, body.channelId)
      if (!channel) throw notFound('channel')
      const uploaded = await providerOf(deps, channel.provider).uploadMedia(deps, tenant, channel, body.file, mime)
      set.status = 201
      return { mediaId: uploaded.mediaId, kind, mimeType: mime, size: body.file.size, channelId: channel.id }
    },
    {
      permission: 'conversations.reply',
      params: workspaceParams,
      body: uploadBody,
      response: {
        201: z.object({
          mediaId: z.string().describe("What the send API's mediaId fields take (media ids belong to this number)"),
          kind: z.enum(['image', 'audio', 'video', 'document', 'sticker']),
          mimeType: z.string(),
          size: z.number().int(),
          channelId: z.string(),
        }),
      },
      detail: {
        summary: 'Upload a file (multipart: channelId, file) to send later by mediaId; types and sizes per WhatsApp',
      },
    },
  )
}
