/**
 * The workspace's live event stream (GET …/events/stream, Server-Sent Events). The UI never polls for new
 * messages: screens subscribe here. After a drop the browser reconnects with Last-Event-ID and the server
 * replays what was missed; when the browser gives up (the server answered an error, e.g. during a restart)
 * we open a new stream ourselves from the last id we saw, with backoff, so nothing is lost either way.
 */
import { signal } from '@preact/signals'
import type { EventData, EventType } from '../../src/events/catalog.ts'

/** The events screens react to (the names come from the server's event catalogue). */
const LISTENED = [
  'message.received',
  'message.sent',
  'message.status',
  'message.failed',
  'conversation.created',
  'conversation.updated',
  'contact.updated',
  'channel.status',
  'channel.connection',
] as const satisfies readonly EventType[]
type Listened = (typeof LISTENED)[number]

export type LiveEvent = { [T in Listened]: { type: T; id: string; timestamp: string; data: EventData<T> } }[Listened]

/** 'idle' before the first connection; 'down' while reconnecting. */
export const liveState = signal<'idle' | 'connecting' | 'open' | 'down'>('idle')

type Listener = (event: LiveEvent) => void
const listeners = new Set<Listener>()

/** Subscribes to every live event of the current workspace; returns the unsubscribe function. */
export function onLive(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

let source: EventSource | null = null
let current: string | null = null
let lastId: string | null = null
let retryTimer: ReturnType<typeof setTimeout> | null = null
let failures = 0
let onStreamEnd: (reason: string) => void = () => {}
/**
 * Asked before reopening a stream the browser gave up on: false when the session or the membership is gone (no
 * retry loop on 401/404).
 */
let stillAllowed: (workspaceId: string) => Promise<boolean> = async () => true

export const setStreamEndHandler = (fn: (reason: string) => void) => {
  onStreamEnd = fn
}
export const setAccessCheck = (fn: (workspaceId: string) => Promise<boolean>) => {
  stillAllowed = fn
}

type ResyncListener = () => void
const resyncListeners = new Set<ResyncListener>()
/**
 * Called when the stream (re)starts somewhere other than where the last one stopped — the first connection, or a
 * gap the server could not replay: screens reload what they show instead of trusting events alone.
 */
export function onResync(listener: ResyncListener): () => void {
  resyncListeners.add(listener)
  return () => resyncListeners.delete(listener)
}

function open(workspaceId: string): void {
  const url =
    `/api/v1/workspaces/${encodeURIComponent(workspaceId)}/events/stream` +
    (lastId ? `?lastEventId=${encodeURIComponent(lastId)}` : '')
  const es = new EventSource(url, { withCredentials: true })
  source = es
  liveState.value = liveState.value === 'idle' ? 'connecting' : liveState.value
  es.onopen = () => {
    failures = 0
    liveState.value = 'open'
  }
  es.onerror = () => {
    if (source !== es) return
    liveState.value = 'down'
    // CONNECTING: the browser retries by itself with Last-Event-ID. CLOSED: it gave up; we start again.
    if (es.readyState === EventSource.CLOSED) {
      es.close()
      source = null
      const delay = Math.min(1000 * 2 ** failures, 15_000) * (0.75 + Math.random() * 0.5)
      failures++
      retryTimer = setTimeout(() => {
        retryTimer = null
        void stillAllowed(workspaceId)
          .catch(() => true)
          .then((ok) => ok && current === workspaceId && !source && open(workspaceId))
      }, delay)
    }
  }
  for (const type of LISTENED) {
    es.addEventListener(type, (frame) => {
      const message = frame as MessageEvent<string>
      if (message.lastEventId) lastId = message.lastEventId
      let event: LiveEvent
      try {
        event = JSON.parse(message.data) as LiveEvent
      } catch {
        return
      }
      for (const listener of listeners) {
        try {
          listener(event)
        } catch (err) {
          console.error('live event handler failed', err)
        }
      }
    })
  }
  // The server's first frame: where this stream starts. The same id as the last one seen means a clean resume.
  es.addEventListener('stream.ready', (frame) => {
    const startsAfter = (frame as MessageEvent<string>).lastEventId
    const clean = lastId !== null && startsAfter === lastId
    lastId = startsAfter || lastId
    if (!clean) for (const listener of resyncListeners) listener()
  })
  es.addEventListener('stream.end', (frame) => {
    es.close()
    source = null
    liveState.value = 'down'
    let reason = 'ended'
    try {
      reason = (JSON.parse((frame as MessageEvent<string>).data) as { reason?: string }).reason ?? reason
    } catch {
      // keep the default
    }
    onStreamEnd(reason)
  })
}

/** Follows one workspace's stream (closing any other); null stops following. */
export function followWorkspace(workspaceId: string | null): void {
  const following = (source !== null && source.readyState !== EventSource.CLOSED) || retryTimer !== null
  if (workspaceId === current && following) return
  stopLive()
  current = workspaceId
  if (workspaceId) open(workspaceId)
}

export function stopLive(): void {
  if (retryTimer) clearTimeout(retryTimer)
  retryTimer = null
  source?.close()
  source = null
  current = null
  lastId = null
  failures = 0
  liveState.value = 'idle'
}

/** Reconnects now (after the browser comes back online, or the user asks). */
export function reconnectLive(): void {
  const workspaceId = current
  if (!workspaceId || liveState.value === 'open') return
  if (retryTimer) clearTimeout(retryTimer)
  retryTimer = null
  source?.close()
  source = null
  open(workspaceId)
}
