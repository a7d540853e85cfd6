/**
 * The live event stream (Server-Sent Events): a workspace's events in order, each with its sequence number as
 * the SSE id, so a client that reconnects with Last-Event-ID continues without a gap. Events are read from the
 * events table (never held in memory for a client), and only as fast as the client takes them: a client so
 * slow that MAX_QUEUED chunks wait for it is dropped — it can reconnect and resume from its last id.
 * Access is checked again on every wake-up, so a removed member's, signed-out session's or revoked key's stream ends.
 */
import type { ServiceDeps } from '../deps.ts'
import type { WorkspaceContext } from '../workspaces/workspace-context.ts'
import * as membershipsRepo from '../workspaces/memberships.repo.ts'
import * as apiKeysRepo from '../auth/apikeys.repo.ts'
import * as repo from './events.repo.ts'

const BATCH = 100
const MAX_QUEUED = 256

/** Whether the caller that opened the stream may still read the workspace. */
async function stillAllowed(deps: ServiceDeps, ctx: WorkspaceContext): Promise<boolean> {
  const actor = ctx.caller.actor
  if (actor.type === 'user')
    return (await membershipsRepo.findMembership(deps.db, ctx.workspace.id, actor.id)) !== undefined
  if (actor.type === 'api_key') {
    const key = await apiKeysRepo.find(deps.db, ctx.workspace.id, actor.id)
    return !!key && !key.revoked_at && (!key.expires_at || Date.parse(key.expires_at) > deps.clock.now())
  }
  return false
}

const frame = (e: { seq: number; id: string; type: string; workspace_id: string; data: string; created_at: string }) =>
  `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ id: e.id, type: e.type, timestamp: e.created_at, workspaceId: e.workspace_id, data: JSON.parse(e.data) })}\n\n`

/**
 * `stillSignedIn`: for a stream opened with a browser session, whether that session still holds (signing out or
 * a password change ends the stream as it ends the session).
 */
export async function openStream(
  deps: ServiceDeps,
  ctx: WorkspaceContext,
  lastEventId: number | undefined,
  stillSignedIn?: () => Promise<boolean>,
): Promise<ReadableStream<Uint8Array>> {
  let cursor = lastEventId ?? (await repo.lastSeq(deps.db))
  const encoder = new TextEncoder()
  let closed = false
  let wakeUp: (() => void) | null = null
  const off = deps.events.on(() => wakeUp?.())

  return new ReadableStream<Uint8Array>(
    {
      async start(controller) {
        const send = (text: string) => controller.enqueue(encoder.encode(text))
        const finish = (reason?: string) => {
          if (closed) return
          closed = true
          off()
          if (reason) send(`event: stream.end\ndata: ${JSON.stringify({ reason })}\n\n`)
          controller.close()
        }
        // Tells EventSource how soon to reconnect after a drop; then where this stream starts, so a client that
        // drops before the first event still resumes from here (EventSource keeps the id) and misses nothing.
        send('retry: 2000\n\n')
        send(`id: ${cursor}\nevent: stream.ready\ndata: {}\n\n`)
        void (async () => {
          try {
            while (!closed) {
              if (!(await stillAllowed(deps, ctx)) || (stillSignedIn && !(await stillSignedIn())))
                return finish('access to this workspace ended')
              const events = await repo.eventsAfter(deps.db, ctx.workspace.id, cursor, BATCH)
              for (const e of events) {
                send(frame(e))
                cursor = e.seq
              }
              if ((controller.desiredSize ?? 0) < -MAX_QUEUED) {
                deps.logger.info({ workspaceId: ctx.workspace.id }, 'live stream client too slow; dropped')
                return finish()
              }
              if (events.length === BATCH) continue
              const woke = await new Promise<boolean>((resolve) => {
                const timer = deps.clock.setTimeout(() => resolve(false), deps.config.sseHeartbeat * 1000)
                wakeUp = () => {
                  deps.clock.clearTimeout(timer)
                  resolve(true)
                }
              })
              wakeUp = null
              if (!woke && !closed) send(': heartbeat\n\n')
            }
          } catch (err) {
            // Most often the client went away mid-write; either way this stream is over.
            if (!closed) deps.logger.debug({ err }, 'live stream ended')
            closed = true
            off()
            try {
              controller.close()
            } catch {
              // already closed
            }
          }
        })()
      },
      cancel() {
        closed = true
        off()
        wakeUp?.()
      },
    },
    { highWaterMark: 0 },
  )
}
