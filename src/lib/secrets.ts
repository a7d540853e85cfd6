/**
 * Sealing a secret column at rest (AES-256-GCM through crypto/envelope.ts): the AAD binds each value to its
 * workspace, table, row and column, so a value copied onto another row (or into another column) will not open.
 * What a response may show of a secret is its last four characters, never more.
 */
import { open, seal, type Keyring } from '../crypto/envelope.ts'
import { AppError } from './errors.ts'

/** Where a sealed value lives: the AAD it is bound to. */
export type SecretPlace = { workspaceId: string; table: string; rowId: string; column: string }

export function requireKeyring(keyring: Keyring | undefined): Keyring {
  if (!keyring)
    throw new AppError(503, 'key_unavailable', 'The master key is not loaded; credentials cannot be sealed or opened.')
  return keyring
}

export const sealColumn = (keyring: Keyring | undefined, place: SecretPlace, value: string): string =>
  seal(requireKeyring(keyring), value, place)

export const openColumn = (keyring: Keyring | undefined, place: SecretPlace, sealed: string): string =>
  open(requireKeyring(keyring), sealed, place)

/** What a response may show of a secret. */
export const masked = (last4: string | null) => (last4 ? `••••${last4}` : null)
export const last4 = (value: string) => value.slice(-4)
