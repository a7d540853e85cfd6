/** Where a send (or read receipt) through a channel goes: its provider and target, or why it cannot send now. */
import type { ServiceDeps } from '../deps.ts'
import * as repo from './channels.repo.ts'
import { providerOf, type ChannelProvider, type SendTarget } from './provider.ts'

export async function sendTargetOf(
  deps: ServiceDeps,
  workspaceId: string,
  channelId: string,
  recipient: string | null,
): Promise<{ provider: ChannelProvider; target: SendTarget; authFailures: number } | { unavailable: string }> {
  const c = await repo.find(deps.db, workspaceId, channelId)
  if (!c || c.status === 'disconnected') return { unavailable: 'The channel is disconnected' }
  const provider = providerOf(deps, c.provider)
  const resolved = provider.sendTarget(deps, c, recipient)
  return 'unavailable' in resolved ? resolved : { provider, ...resolved }
}
