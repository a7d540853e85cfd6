/**
 * What webhook ingress needs about a channel (workspace, numbers, opened app secret and verify token),
 * cached briefly so a burst of webhooks costs one lookup and one decryption, not one per request.
 * Channel changes invalidate their entry at once; the short TTL covers changes made by another process.
 */
import type { Db } from '../db/client.ts'
import type { Keyring } from '../crypto/envelope.ts'
import type { ChannelStatus } from './channels.table.ts'
import { openSecret } from './channel-secrets.ts'
import * as repo from './channels.repo.ts'
import type { ProviderName } from './provider-names.ts'

export type IngressChannel = {
  id: string
  workspaceId: string
  provider: ProviderName
  status: ChannelStatus
  phoneNumberId: string | null
  wabaId: string | null
  appSecret: string | null
  verifyToken: string | null
}

const TTL_MS = 10_000
const MAX_ENTRIES = 10_000

export class ChannelCache {
  private readonly entries = new Map<string, { channel: IngressChannel | null; at: number }>()

  async get(db: Db, keyring: Keyring | undefined, channelId: string): Promise<IngressChannel | null> {
    const hit = this.entries.get(channelId)
    if (hit && Date.now() - hit.at < TTL_MS) return hit.channel
    const row = await repo.findForIngress(db, channelId)
    const channel: IngressChannel | null = row
      ? {
          id: row.id,
          workspaceId: row.workspace_id,
          provider: row.provider,
          status: row.status,
          phoneNumberId: row.phone_number_id,
          wabaId: row.waba_id,
          appSecret: row.app_secret
            ? openSecret(keyring, row.workspace_id, row.id, 'app_secret', row.app_secret)
            : null,
          verifyToken: row.verify_token
            ? openSecret(keyring, row.workspace_id, row.id, 'verify_token', row.verify_token)
            : null,
        }
      : null
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear()
    this.entries.set(channelId, { channel, at: Date.now() })
    return channel
  }

  invalidate(channelId: string): void {
    this.entries.delete(channelId)
  }
}
