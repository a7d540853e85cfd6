/**
 * Emitting an event: one row in `events`, written by the caller inside the transaction of the change it
 * describes, so an event exists exactly when its change does. Deliveries to endpoints and the live stream read
 * that table afterwards; the database's EventsSignal only tells them to look sooner than their next poll.
 *
 * Whose signal: each open database has its own (two apps in one process, on two databases, never wake each
 * other; two runtimes on one database share it, as they share its events). `emit` keeps its plain signature —
 * it is called from inside every domain's transactions — and finds the signal through the database it writes
 * to: a Kysely instance, its transactions and its plugin-wrapped copies all share one dialect adapter object
 * (made once per `new Kysely`, that is once per opened database), so the adapter keys the registry; the intake
 * processor's synchronous connection (SyncDb) is registered by the SyncTransaction that `eventsSignalFor` wraps.
 * `buildServiceDeps` sets both up (deps.events), and the dispatcher and the stream listen there.
 */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { SyncDb, SyncTransaction } from '../db/client.ts'
import { newId } from '../crypto/tokens.ts'
import type { EventData, EventType } from './catalog.ts'
import * as repo from './events.repo.ts'

type Listener = () => void
type AnyDb = Kysely<Database> | Transaction<Database>

/** "Events may have been committed": wakes the fan-out and the live streams (they re-read the table). */
export class EventsSignal {
  private readonly listeners = new Set<Listener>()
  private pending = false
  on(fn: Listener): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }
  /**
   * Called when an event is written; fires once for a burst of writes, after the current turn of the event loop.
   * Firing before the writing transaction commits would be harmless too: SQLite has one connection, which the
   * transaction holds, so a listener's read queues behind the commit and sees the event.
   */
  nudge(): void {
    if (this.pending) return
    this.pending = true
    setImmediate(() => {
      this.pending = false
      for (const fn of this.listeners) fn()
    })
  }
}

const byAdapter = new WeakMap<object, EventsSignal>()
const bySyncDb = new WeakMap<SyncDb, EventsSignal>()

const keyOf = (db: AnyDb): object => db.getExecutor().adapter

/**
 * The database's signal (made on first use), and its synchronous transactions wrapped so that events they emit
 * nudge the same signal.
 */
export function eventsSignalFor(
  db: Kysely<Database>,
  syncTransaction: SyncTransaction,
): { signal: EventsSignal; syncTransaction: SyncTransaction } {
  const key = keyOf(db)
  let signal = byAdapter.get(key)
  if (!signal) byAdapter.set(key, (signal = new EventsSignal()))
  const known = signal
  return {
    signal,
    syncTransaction: (fn) =>
      syncTransaction((sdb) => {
        bySyncDb.set(sdb, known)
        return fn(sdb)
      }),
  }
}

export async function emit<T extends EventType>(
  db: Kysely<Database> | Transaction<Database>,
  workspaceId: string,
  type: T,
  data: EventData<T>,
  at: string,
): Promise<string> {
  const id = newId('evt')
  await repo.insertEvent(db, { id, workspace_id: workspaceId, type, data: JSON.stringify(data), created_at: at })
  byAdapter.get(keyOf(db))?.nudge()
  return id
}

/** The same, on the intake processor's synchronous connection. */
export function emitSync<T extends EventType>(
  db: SyncDb,
  workspaceId: string,
  type: T,
  data: EventData<T>,
  at: string,
): string {
  const id = newId('evt')
  repo.insertEventSync(db, { id, workspace_id: workspaceId, type, data: JSON.stringify(data), created_at: at })
  bySyncDb.get(db)?.nudge()
  return id
}
