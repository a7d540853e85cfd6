/** A channel's sealed credential columns (lib/secrets.ts binds each to its workspace, row and column). */
import type { Keyring } from '../crypto/envelope.ts'
import { openColumn, sealColumn } from '../lib/secrets.ts'

export type SecretColumn = 'access_token' | 'app_secret' | 'verify_token'

const place = (workspaceId: string, channelId: string, column: SecretColumn) => ({
  workspaceId,
  table: 'channels',
  rowId: channelId,
  column,
})

export const sealSecret = (
  keyring: Keyring | undefined,
  workspaceId: string,
  channelId: string,
  column: SecretColumn,
  value: string,
): string => sealColumn(keyring, place(workspaceId, channelId, column), value)

export const openSecret = (
  keyring: Keyring | undefined,
  workspaceId: string,
  channelId: string,
  column: SecretColumn,
  sealed: string,
): string => openColumn(keyring, place(workspaceId, channelId, column), sealed)
