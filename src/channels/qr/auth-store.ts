/**
 * Baileys' session (creds and Signal keys) in qr_auth_state instead of session files on disk. Every value is
 * sealed with an AAD naming its workspace, channel, type and id, so a row copied onto another channel (or
 * another key) fails to open instead of handing one device's keys to another.
 */
import type { Kysely, Transaction } from 'kysely'
import {
  BufferJSON,
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from 'baileys'
import { iso } from '../../clock.ts'
import { CryptoError, open, seal, type Keyring, type SealContext } from '../../crypto/envelope.ts'
import type { Database } from '../../db/database.ts'
import type { ServiceDeps } from '../../deps.ts'
import { notFound } from '../../lib/errors.ts'
import { requireKeyring } from '../../lib/secrets.ts'
import type { QrAuthStateTable } from '../channels.table.ts'
import * as channelsRepo from '../channels.repo.ts'
import { name } from './name.ts'
import { deleteAllRows, deleteRows, findRows, upsertRows } from './qr-auth-state.repo.ts'

export type QrAuthStore = {
  state: AuthenticationState
  /** Persist the whole creds object (on every creds.update, and before inbound messages are stored); a no-op when unchanged. */
  saveCreds: () => Promise<void>
  /** Erase every row of this channel (logged out / unlinked). */
  clear: () => Promise<void>
  /** Whether creds were found in the database (a linked or half-linked session) */
  existed: boolean
}

type Db = Kysely<Database> | Transaction<Database>

const CREDS_TYPE = 'creds'
const CREDS_ID = ''
// Well under SQLite's bound-parameter limit, whether a chunk is an IN list or multi-row VALUES (6 per row).
const CHUNK = 500

export async function openAuthStore(deps: ServiceDeps, workspaceId: string, channelId: string): Promise<QrAuthStore> {
  const keyring = requireKeyring(deps.keyring)
  // The primary key has no workspace in it: a store opened for a foreign channel could otherwise collide with its rows.
  if (!(await channelsRepo.findOfProvider(deps.db, workspaceId, channelId, name))) throw notFound('QR channel')
  const codec = codecFor(keyring, workspaceId, channelId)

  const [credsRow] = await findRows(deps.db, workspaceId, channelId, CREDS_TYPE, [CREDS_ID])
  const creds: AuthenticationCreds = credsRow ? codec.decode(CREDS_TYPE, CREDS_ID, credsRow.value) : initAuthCreds()

  const get: SignalKeyStore['get'] = async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
    const found: { [id: string]: SignalDataTypeMap[T] } = {}
    for (const chunk of chunked(ids)) {
      for (const row of await findRows(deps.db, workspaceId, channelId, type, chunk)) {
        const value = codec.decode(type, row.key_id, row.value)
        // Protobuf classes do not survive JSON; Baileys calls methods on this one.
        found[row.key_id] = type === 'app-state-sync-key' ? proto.Message.AppStateSyncKeyData.fromObject(value) : value
      }
    }
    return found
  }

  const set = async (data: SignalDataSet) => {
    // Serialise and seal everything before the transaction: a value that cannot be encoded fails the batch before any write.
    const now = iso(deps.clock.now())
    const batches = Object.entries(data).map(([type, values]) => {
      const entries = Object.entries(values ?? {})
      const upserts: QrAuthStateTable[] = entries.flatMap(([id, value]) =>
        value == null
          ? []
          : [
              {
                workspace_id: workspaceId,
                channel_id: channelId,
                type,
                key_id: id,
                value: codec.encode(type, id, value),
                updated_at: now,
              },
            ],
      )
      return { type, deletes: entries.filter(([, value]) => value == null).map(([id]) => id), upserts }
    })
    // One transaction for the whole call: Signal sessions and pre-keys change together, and half a ratchet step corrupts the session.
    await deps.db.transaction().execute(async (trx) => {
      for (const { type, deletes, upserts } of batches) {
        for (const chunk of chunked(deletes)) await deleteRows(trx, workspaceId, channelId, type, chunk)
        for (const chunk of chunked(upserts)) await upsertRows(trx, chunk)
      }
    })
  }

  // The creds as last written (their JSON): saving them again unchanged would only cost a seal and a write.
  let saved = credsRow ? JSON.stringify(creds, BufferJSON.replacer) : null
  const store: QrAuthStore = {
    state: { creds, keys: { get, set } },
    existed: credsRow !== undefined,
    saveCreds: async () => {
      const json = JSON.stringify(store.state.creds, BufferJSON.replacer)
      if (json === saved) return
      const row = {
        workspace_id: workspaceId,
        channel_id: channelId,
        type: CREDS_TYPE,
        key_id: CREDS_ID,
        updated_at: iso(deps.clock.now()),
      }
      await upsertRows(deps.db, [{ ...row, value: codec.encode(CREDS_TYPE, CREDS_ID, store.state.creds) }])
      saved = json
    },
    clear: async () => {
      await eraseAuthState(deps.db, workspaceId, channelId)
      saved = null
    },
  }
  return store
}

/** Used when unlinking; takes a transaction so the erase can commit with the channel's own update. */
export async function eraseAuthState(db: Db, workspaceId: string, channelId: string): Promise<void> {
  await deleteAllRows(db, workspaceId, channelId)
}

function codecFor(keyring: Keyring, workspaceId: string, channelId: string) {
  const context = (type: string, id: string): SealContext => ({
    workspaceId,
    table: 'qr_auth_state',
    rowId: `${channelId}/${type}/${id}`,
    column: 'value',
  })
  return {
    encode: (type: string, id: string, value: unknown) =>
      seal(keyring, JSON.stringify(value, BufferJSON.replacer), context(type, id)),
    decode(type: string, id: string, sealed: string) {
      try {
        return JSON.parse(open(keyring, sealed, context(type, id)), BufferJSON.reviver)
      } catch (err) {
        // Dropping the value would make Baileys regenerate keys and silently break the session: fail loudly, naming the row.
        if (err instanceof CryptoError)
          throw new CryptoError(
            err.code,
            `QR auth state ${type}/${id} of channel ${channelId} did not open: ${err.message}`,
          )
        throw err
      }
    },
  }
}

function chunked<T>(items: T[]): T[][] {
  const chunks: T[][] = []
  for (let i = 0; i < items.length; i += CHUNK) chunks.push(items.slice(i, i + CHUNK))
  return chunks
}
