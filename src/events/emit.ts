/**
 * Emitting an event: one row in `events`, written by the caller inside the transaction of the change it
 * describes, so an event exists exactly when its change does. Deliveries to endpoints and the live stream read
 * that table afterwards; `eventsSignal` only tells them to look sooner than their next poll.
 */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.ts'
import type { SyncDb } from '../db/client.ts'
import { newId } from '../crypto/tokens.ts'
import type { EventData, EventType } from './catalog.ts'
import * as repo from './events.repo.ts'

type Listener = () => void

/** "Events may have been committed": wakes the fan-out and the live streams (they re-read the table). */
class EventsSignal {
  private readonly listeners = new Set<Listener>()
  private pending: ReturnType<typeof setTimeout> | null = null
  on(fn: Listener): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }
  /** Called when an event is written; fires a moment later, after the writing transaction has committed. */
  nudge(): void {
    this.pending ??= setTimeout(() => {
      this.pending = null
      for (const fn of this.listeners) fn()
    }, 2)
  }
}

export const eventsSignal = new EventsSignal()

export async function emit<T extends EventType>(
  db: Kysely<Database> | Transaction<Database>,
  workspaceId: string,
  type: T,
  data: EventData<T>,
  at: string,
): Promise<string> {
  const id = newId('evt')
  await repo.insertEvent(db, { id, workspace_id: workspaceId, type, data: JSON.stringify(data), created_at: at })
  eventsSignal.nudge()
  return id
}

/** The same, on the inbox processor's synchronous connection. */
export function emitSync<T extends EventType>(
  db: SyncDb,
  workspaceId: string,
  type: T,
  data: EventData<T>,
  at: string,
): string {
  const id = newId('evt')
  repo.insertEventSync(db, { id, workspace_id: workspaceId, type, data: JSON.stringify(data), created_at: at })
  eventsSignal.nudge()
  return id
}
