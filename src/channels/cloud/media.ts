/**
 * Cloud API media through the Graph API, with the channel's token: uploads for later sends (media ids belong to
 * the number), and inbound media (id → a short-lived URL → the bytes). A refused upload token counts towards
 * needs_reauth at once; downloads report to the channel's health through the media downloader.
 */
import type { ServiceDeps } from '../../deps.ts'
import { AppError } from '../../lib/errors.ts'
import type { WorkspaceContext } from '../../workspaces/workspace-context.ts'
import { recordCredentialOutcome } from '../channel-health.ts'
import { openSecret } from '../channel-secrets.ts'
import type { ChannelsTable } from '../channels.table.ts'
import { MAX_MEDIA_BYTES } from '../media-types.ts'
import type { FetchedMedia } from '../provider.ts'
import { GraphError, type GraphClient } from './graph.ts'

/** The opened access token; null once the channel is disconnected (its credentials are wiped). */
export function accessTokenOf(
  deps: ServiceDeps,
  c: ChannelsTable,
): { token: string; phoneNumberId: string | null } | null {
  if (!c.access_token || c.status === 'disconnected') return null
  return {
    token: openSecret(deps.keyring, c.workspace_id, c.id, 'access_token', c.access_token),
    phoneNumberId: c.phone_number_id,
  }
}

export async function uploadToGraph(
  deps: ServiceDeps,
  graph: GraphClient,
  ctx: WorkspaceContext,
  channel: ChannelsTable,
  file: File,
  mime: string,
): Promise<{ mediaId: string }> {
  const credentials = accessTokenOf(deps, channel)
  if (!credentials?.phoneNumberId || channel.status !== 'active')
    throw new AppError(409, 'channel_unavailable', 'The channel cannot send right now.')
  try {
    const uploaded = await graph.uploadMedia(
      credentials.token,
      credentials.phoneNumberId,
      file,
      mime,
      file.name || 'upload',
    )
    return { mediaId: uploaded.id }
  } catch (err) {
    if (err instanceof GraphError) {
      if (err.authFailure) await recordCredentialOutcome(deps, ctx.workspace.id, channel.id, err, { immediate: true })
      // Meta refusing the file itself (its type, its size, an audio that is not OPUS…) is the caller's to fix.
      if (err.httpStatus === 400 && !err.authFailure && !err.retryable) {
        const why = err.details ?? err.message
        throw new AppError(422, 'upload_refused', `Meta refused the file (code ${err.code}): ${why}`, [
          { field: 'file', message: why },
        ])
      }
      throw new AppError(502, 'upload_failed', `Meta did not accept the upload (code ${err.code}).`)
    }
    throw err
  }
}

export async function downloadFromGraph(
  deps: ServiceDeps,
  graph: GraphClient,
  channel: ChannelsTable,
  mediaId: string,
): Promise<FetchedMedia> {
  const credentials = accessTokenOf(deps, channel)
  if (!credentials) throw new Error('channel disconnected')
  const info = await graph.getMedia(credentials.token, mediaId, credentials.phoneNumberId ?? undefined)
  return {
    bytes: await graph.download(credentials.token, info.url, MAX_MEDIA_BYTES),
    sha256: info.sha256 ?? null,
    mime: info.mime_type ?? null,
  }
}
