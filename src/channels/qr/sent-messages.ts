/**
 * Answers WhatsApp's retry requests. When a recipient's phone cannot decrypt a message it asks the sender for it
 * again; Baileys answers from a small in-memory cache for five minutes and after that only through `getMessage`
 * (baileys.md, "Retries need getMessage") — without it the recipient sees "Waiting for this message" for good.
 * So every message a QR-linked number sends is kept here, sealed like the session itself, for RETRY_WINDOW_MS
 * (Baileys' PLACEHOLDER_MAX_AGE_SECONDS, 14 days), surviving restarts and reconnects.
 *
 * The retry counter (how often each message was asked for) lives with the channel's session, not its socket:
 * Baileys' example keeps it outside the socket "to prevent a message decryption/encryption loop across socket
 * restarts".
 */
import { BufferJSON } from 'baileys'
import { iso } from '../../clock.ts'
import { open, seal, type SealContext } from '../../crypto/envelope.ts'
import type { ServiceDeps } from '../../deps.ts'
import { requireKeyring } from '../../lib/secrets.ts'
import { deleteAllSent, deleteSentBefore, findSentMessage, saveSentMessage } from './sent-messages.repo.ts'

export const RETRY_WINDOW_MS = 14 * 24 * 60 * 60_000
/** How often old messages are pruned while a session runs. */
const PRUNE_EVERY_MS = 60 * 60_000

type MessageKey = { remoteJid?: string | null; id?: string | null }

export class SentMessages {
  private prunedAt = 0

  constructor(
    private readonly deps: ServiceDeps,
    private readonly workspaceId: string,
    private readonly channelId: string,
  ) {}

  private context(messageId: string): SealContext {
    return {
      workspaceId: this.workspaceId,
      table: 'qr_sent_messages',
      rowId: `${this.channelId}/${messageId}`,
      column: 'message',
    }
  }

  /**
   * Keeps what sendMessage returned (its key and the message as WhatsApp got it). Never throws: the message went
   * out either way, and a failed write must not make it look failed (it is logged; only retries lose it).
   */
  async remember(sent: { key: MessageKey; message?: unknown } | undefined): Promise<void> {
    try {
      await this.store(sent)
    } catch (err) {
      this.deps.logger.warn({ err, channelId: this.channelId }, 'could not keep a sent QR message for retries')
    }
  }

  private async store(sent: { key: MessageKey; message?: unknown } | undefined): Promise<void> {
    const id = sent?.key.id
    if (!id || !sent.key.remoteJid || !sent.message) return
    const now = this.deps.clock.now()
    const keyring = requireKeyring(this.deps.keyring)
    await saveSentMessage(this.deps.db, {
      workspace_id: this.workspaceId,
      channel_id: this.channelId,
      message_id: id,
      remote_jid: sent.key.remoteJid,
      message: seal(keyring, JSON.stringify(sent.message, BufferJSON.replacer), this.context(id)),
      sent_at: iso(now),
    })
    if (now - this.prunedAt >= PRUNE_EVERY_MS) await this.prune()
  }

  /** The message WhatsApp asks for again (Baileys' getMessage); undefined when it is unknown or too old. */
  async recall(key: MessageKey): Promise<Record<string, unknown> | undefined> {
    if (!key.id) return undefined
    const since = iso(this.deps.clock.now() - RETRY_WINDOW_MS)
    const row = await findSentMessage(this.deps.db, this.workspaceId, this.channelId, key.id, since)
    if (!row || (key.remoteJid && row.remote_jid !== key.remoteJid)) return undefined
    const keyring = requireKeyring(this.deps.keyring)
    return JSON.parse(open(keyring, row.message, this.context(key.id)), BufferJSON.reviver)
  }

  async prune(): Promise<void> {
    const now = this.deps.clock.now()
    this.prunedAt = now
    await deleteSentBefore(this.deps.db, this.workspaceId, this.channelId, iso(now - RETRY_WINDOW_MS))
  }

  /** A new link is a new device: what the old one sent cannot be asked for from this one. */
  async clear(): Promise<void> {
    await deleteAllSent(this.deps.db, this.workspaceId, this.channelId)
  }
}

/** Baileys' CacheStore, as its msgRetryCounterCache: entries expire after `ttlMs`; at most `max` are kept. */
export class RetryCounters {
  private readonly entries = new Map<string, { value: unknown; until: number }>()

  constructor(
    private readonly now: () => number,
    private readonly ttlMs = 60 * 60_000,
    private readonly max = 10_000,
  ) {}

  get<T>(key: string): T | undefined {
    const e = this.entries.get(key)
    if (!e) return undefined
    if (e.until <= this.now()) {
      this.entries.delete(key)
      return undefined
    }
    return e.value as T
  }

  set<T>(key: string, value: T): void {
    this.entries.delete(key)
    this.entries.set(key, { value, until: this.now() + this.ttlMs })
    // A Map iterates in insertion order: the first entries are the oldest.
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!)
  }

  del(key: string): void {
    this.entries.delete(key)
  }

  flushAll(): void {
    this.entries.clear()
  }
}
