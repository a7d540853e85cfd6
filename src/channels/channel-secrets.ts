/**
 * Sealing and opening a channel's credentials. The AAD binds each value to its workspace, row and column,
 * so a value copied onto another channel (or into another column) will not open.
 */
import { open, seal, type Keyring } from '../crypto/envelope.ts'
import { AppError } from '../http/errors.ts'

export type SecretColumn = 'access_token' | 'app_secret' | 'verify_token'

const ctx = (workspaceId: string, channelId: string, column: SecretColumn) => ({
  workspaceId,
  table: 'channels',
  rowId: channelId,
  column,
})

export function requireKeyring(keyring: Keyring | undefined): Keyring {
  if (!keyring)
    throw new AppError(503, 'key_unavailable', 'The master key is not loaded; credentials cannot be sealed or opened.')
  return keyring
}

export function sealSecret(
  keyring: Keyring | undefined,
  workspaceId: string,
  channelId: string,
  column: SecretColumn,
  value: string,
): string {
  return seal(requireKeyring(keyring), value, ctx(workspaceId, channelId, column))
}

export function openSecret(
  keyring: Keyring | undefined,
  workspaceId: string,
  channelId: string,
  column: SecretColumn,
  sealed: string,
): string {
  return open(requireKeyring(keyring), sealed, ctx(workspaceId, channelId, column))
}

/** What a response may show of a secret. */
export const masked = (last4: string | null) => (last4 ? `••••${last4}` : null)
export const last4 = (value: string) => value.slice(-4)
