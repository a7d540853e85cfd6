/**
 * The scrape-time queries behind /metrics. Each reads an index made for it (partial indexes on the pending rows,
 * the per-workspace dead-letter index) or a small table (channels): a scrape never walks messages, the intake's
 * processed rows or the delivery log.
 */
import type { Db } from '../db/client.ts'

/** Pending intake events and the oldest one's arrival (intake_events_pending covers both). */
export async function intakeBacklog(db: Db): Promise<{ pending: number; oldestReceivedAt: string | null }> {
  const row = await db
    .selectFrom('intake_events')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('id').as('oldest')])
    .where('state', '=', 'pending')
    .executeTakeFirstOrThrow()
  if (!row.n || row.oldest === null) return { pending: 0, oldestReceivedAt: null }
  const oldest = await db
    .selectFrom('intake_events')
    .select('received_at')
    .where('id', '=', Number(row.oldest))
    .executeTakeFirst()
  return { pending: Number(row.n), oldestReceivedAt: oldest?.received_at ?? null }
}

/** Dead letters, workspace by workspace through intake_events_dead (workspace_id, state, id). */
export async function deadLetters(db: Db): Promise<number> {
  const row = await db
    .selectFrom('intake_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', 'in', db.selectFrom('workspaces').select('id'))
    .where('state', '=', 'dead')
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/**
 * Queued messages per channel (the partial index outbox_channel_due holds queued rows only), and those being sent,
 * channel by channel through outbox_channel_recent (channel_id, state, …).
 */
export async function outboxDepth(db: Db): Promise<{ channel_id: string; state: 'queued' | 'sending'; n: number }[]> {
  const queued = await db
    .selectFrom('outbox')
    .select((eb) => ['channel_id', eb.fn.countAll<number>().as('n')])
    .where('state', '=', 'queued')
    .groupBy('channel_id')
    .execute()
  const sending = await db
    .selectFrom('outbox')
    .select((eb) => ['channel_id', eb.fn.countAll<number>().as('n')])
    .where('channel_id', 'in', db.selectFrom('channels').select('id'))
    .where('state', '=', 'sending')
    .groupBy('channel_id')
    .execute()
  return [
    ...queued.map((r) => ({ ...r, state: 'queued' as const })),
    ...sending.map((r) => ({ ...r, state: 'sending' as const })),
  ].map((r) => ({ ...r, n: Number(r.n) }))
}

/** Inbound media waiting for download (messages_media_pending). */
export async function mediaPending(db: Db): Promise<number> {
  const row = await db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('media_state', '=', 'pending')
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/** Webhook deliveries still pending (webhook_deliveries_due). */
export async function deliveriesPending(db: Db): Promise<number> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', '=', 'pending')
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/** Channels by provider, status and connection state: one row per channel at most (a small table). */
export async function channelStates(db: Db) {
  const rows = await db
    .selectFrom('channels')
    .select((eb) => ['provider', 'status', 'connection_state', eb.fn.countAll<number>().as('n')])
    .groupBy(['provider', 'status', 'connection_state'])
    .execute()
  return rows.map((r) => ({
    provider: r.provider,
    status: r.status,
    connection: r.connection_state ?? 'none',
    n: Number(r.n),
  }))
}
