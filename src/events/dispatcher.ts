/**
 * Delivers events to webhook endpoints, at least once, from a persistent log.
 *
 * Fan-out: events are read in order after a stored cursor; each becomes one delivery row per matching endpoint of
 * its workspace that is enabled or was disabled for failing (those rows wait until it is enabled again), and the cursor moves in the same transaction — a crash repeats the fan-out, and the
 * (endpoint, event) uniqueness makes the repeat add nothing.
 *
 * Delivery: due rows are POSTed with Standard Webhooks headers (webhook-id is the event id, the same on every
 * retry), a bounded number at a time per endpoint and overall, each with a timeout. 2xx is delivered; anything
 * else is retried on RETRY_SCHEDULE_MS with jitter, then failed. An endpoint that has failed without a single success
 * for --webhook-disable-after hours is disabled (audited, and a webhook_endpoint.disabled event is emitted).
 * A delivery whose result a crash kept from being recorded is simply sent again after restart.
 */
import { Webhook } from 'standardwebhooks'
import type { ServiceDeps } from '../deps.ts'
import { iso } from '../clock.ts'
import { newId } from '../crypto/tokens.ts'
import { DueWorker } from '../lib/due-work.ts'
import * as audit from '../audit/audit.service.ts'
import { systemCaller } from '../auth/principal.ts'
import type { WebhookDeliveriesTable, WebhookEndpointsTable } from './events.table.ts'
import { checkOutboundUrl, UrlRefused } from '../lib/url-guard.ts'
import { emit } from './emit.ts'
import { openEndpointSecret } from './endpoints.service.ts'
import * as attemptsRepo from './attempts.repo.ts'
import * as cursorsRepo from './event-cursors.repo.ts'
import * as deliveriesRepo from './deliveries.repo.ts'
import * as endpointsRepo from './endpoints.repo.ts'
import * as repo from './events.repo.ts'

/** Waits after each failed attempt: 8 attempts over about 28 hours. */
export const RETRY_SCHEDULE_MS = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
]
export const MAX_ATTEMPTS = RETRY_SCHEDULE_MS.length + 1
const MAX_IN_FLIGHT = 32
const MAX_IN_FLIGHT_PER_ENDPOINT = 4
const FANOUT_BATCH = 500
const RESPONSE_EXCERPT = 1024
const CURSOR = 'webhooks'

const jitter = (ms: number) => Math.round(ms * (0.9 + Math.random() * 0.2))

type Outcome = { statusCode: number | null; latencyMs: number; excerpt: string; error: string | null }

export class WebhookDispatcher {
  private readonly worker: DueWorker
  private readonly inFlight = new Map<string, Promise<void>>()
  private readonly perEndpoint = new Map<string, number>()
  private stopped = false
  private unsubscribe: (() => void) | null = null

  constructor(private readonly deps: ServiceDeps) {
    this.worker = new DueWorker('webhook dispatcher', () => this.step(), {
      logger: deps.logger,
      clock: deps.clock,
      health: { record: deps.writeHealth, source: 'webhook dispatcher' },
    })
  }

  wake(): void {
    if (!this.stopped) this.worker.wake()
  }
  /** Runs on its own from here: on every new event, and each second for retries that come due. */
  start(intervalMs = 1_000): void {
    this.unsubscribe ??= this.deps.events.on(() => this.wake())
    this.worker.start(intervalMs)
  }
  /** Until nothing is due now and every request in flight has been recorded (tests, shutdown). */
  async drain(): Promise<void> {
    for (;;) {
      await this.worker.drain()
      if (this.inFlight.size === 0) return
      await Promise.all(this.inFlight.values())
    }
  }
  async stop(): Promise<void> {
    this.stopped = true
    this.unsubscribe?.()
    await this.worker.stop()
    await Promise.all(this.inFlight.values())
  }

  private async step(): Promise<number> {
    const fanned = await this.fanOut()
    return fanned + (await this.startDue())
  }

  /** Events → delivery rows, in order, with the cursor moved in the same transaction. */
  private async fanOut(): Promise<number> {
    const { db } = this.deps
    const from = (await cursorsRepo.cursor(db, CURSOR)) ?? 0
    const events = await repo.allEventsAfter(db, from, FANOUT_BATCH)
    if (events.length === 0) return 0
    const endpoints = await endpointsRepo.receivingEndpoints(db)
    const rows: WebhookDeliveriesTable[] = []
    for (const e of events) {
      // A test event is addressed to one endpoint when it is made (endpoints.service.ts).
      if (e.type === 'webhook.test') continue
      for (const ep of endpoints) {
        if (ep.workspace_id !== e.workspace_id || e.seq <= ep.after_seq) continue
        const types = JSON.parse(ep.event_types) as string[]
        if (!types.includes('*') && !types.includes(e.type)) continue
        rows.push({
          id: newId('whd'),
          workspace_id: e.workspace_id,
          endpoint_id: ep.id,
          event_id: e.id,
          event_type: e.type,
          state: 'pending',
          attempts: 0,
          next_attempt_at: e.created_at,
          last_status: null,
          last_error: null,
          created_at: e.created_at,
          updated_at: e.created_at,
        })
      }
    }
    await db.transaction().execute(async (trx) => {
      await deliveriesRepo.insertDeliveries(trx, rows)
      await cursorsRepo.setCursor(trx, CURSOR, events.at(-1)!.seq)
    })
    return events.length
  }

  private async startDue(): Promise<number> {
    if (this.inFlight.size >= MAX_IN_FLIGHT) return 0
    const now = this.deps.clock.now()
    const due = await deliveriesRepo.dueDeliveries(this.deps.db, iso(now), MAX_IN_FLIGHT * 4)
    let started = 0
    for (const d of due) {
      if (this.inFlight.size >= MAX_IN_FLIGHT) break
      if (this.inFlight.has(d.id) || (this.perEndpoint.get(d.endpoint_id) ?? 0) >= MAX_IN_FLIGHT_PER_ENDPOINT) continue
      this.track(d)
      started++
    }
    // With sends in flight, the next one to finish wakes a pass: a wake-up timed on a due row that is itself in
    // flight (or held by its endpoint's cap) would fire at once, over and over.
    if (started === 0 && this.inFlight.size === 0) this.scheduleNext()
    return started
  }

  private track(d: WebhookDeliveriesTable): void {
    this.perEndpoint.set(d.endpoint_id, (this.perEndpoint.get(d.endpoint_id) ?? 0) + 1)
    const done = this.deliver(d)
      .catch(async (err) => {
        this.deps.logger.error(
          { err, deliveryId: d.id },
          'webhook delivery bookkeeping failed; it is retried in a minute',
        )
        // Not due again at once: a failure that repeats (an unreadable secret after a bad restore) must not spin.
        const at = iso(this.deps.clock.now() + 60_000)
        await deliveriesRepo
          .updateDelivery(this.deps.db, d.workspace_id, d.id, {
            next_attempt_at: at,
            updated_at: iso(this.deps.clock.now()),
          })
          .catch(() => {})
      })
      .finally(() => {
        this.inFlight.delete(d.id)
        this.perEndpoint.set(d.endpoint_id, (this.perEndpoint.get(d.endpoint_id) ?? 1) - 1)
        this.wake()
      })
    this.inFlight.set(d.id, done)
  }

  private scheduleNext(): void {
    void deliveriesRepo
      .nextDeliveryAt(this.deps.db)
      .then((next) => {
        if (!next || this.stopped) return
        this.worker.wakeIn(Math.max(1, Date.parse(next.next_attempt_at) - this.deps.clock.now()))
      })
      // The once-a-second pass covers a missed wake-up; an error here must not end the process.
      .catch((err) => this.deps.logger.error({ err }, 'could not find the next due webhook delivery'))
  }

  private async deliver(d: WebhookDeliveriesTable): Promise<void> {
    const { deps } = this
    const endpoint = await endpointsRepo.findEndpoint(deps.db, d.workspace_id, d.endpoint_id)
    const event = await repo.findEvent(deps.db, d.workspace_id, d.event_id)
    // Deleted meanwhile (its deliveries go with it), or disabled: then it waits, pending, until enabled again.
    if (!endpoint || !event || (endpoint.enabled !== 1 && d.event_type !== 'webhook.test')) return
    const body = JSON.stringify({
      id: event.id,
      type: event.type,
      timestamp: event.created_at,
      workspaceId: event.workspace_id,
      data: JSON.parse(event.data),
    })
    const outcome = await this.post(endpoint, event.id, body)
    await this.record(d, endpoint.id, outcome)
  }

  /** One signed POST; never throws (every way it can go wrong is an outcome to record). */
  private async post(endpoint: WebhookEndpointsTable, eventId: string, body: string): Promise<Outcome> {
    const { deps } = this
    const started = performance.now()
    const elapsed = () => Math.round(performance.now() - started)
    try {
      // Checked again at send time: the name may resolve somewhere else now than when the URL was saved.
      await checkOutboundUrl(endpoint.url, {
        allowHttp: deps.config.webhookAllowHttp,
        allowedNetworks: deps.config.webhookAllowedNetworks,
      })
    } catch (err) {
      return {
        statusCode: null,
        latencyMs: elapsed(),
        excerpt: '',
        error: err instanceof UrlRefused ? `refused: ${err.message}` : 'the URL could not be checked',
      }
    }
    // The receiver compares webhook-timestamp with its own clock, so it is the wall clock's time.
    const sentAt = new Date()
    const signatures = [
      new Webhook(openEndpointSecret(deps, endpoint.workspace_id, endpoint.id, 'secret', endpoint.secret)).sign(
        eventId,
        sentAt,
        body,
      ),
    ]
    if (
      endpoint.previous_secret &&
      endpoint.previous_secret_until &&
      Date.parse(endpoint.previous_secret_until) > deps.clock.now()
    ) {
      signatures.push(
        new Webhook(
          openEndpointSecret(deps, endpoint.workspace_id, endpoint.id, 'previous_secret', endpoint.previous_secret),
        ).sign(eventId, sentAt, body),
      )
    }
    try {
      const res = await fetch(endpoint.url, {
        method: 'POST',
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(deps.config.webhookTimeout),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'wabox-webhooks',
          'webhook-id': eventId,
          'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'webhook-signature': signatures.join(' '),
        },
      })
      return { statusCode: res.status, latencyMs: elapsed(), excerpt: await excerptOf(res), error: null }
    } catch (err) {
      const e = err as Error
      return {
        statusCode: null,
        latencyMs: elapsed(),
        excerpt: '',
        error:
          e.name === 'TimeoutError'
            ? `no answer within ${deps.config.webhookTimeout} ms`
            : `request failed: ${e.message}`,
      }
    }
  }

  private async record(d: WebhookDeliveriesTable, endpointId: string, o: Outcome): Promise<void> {
    const { deps } = this
    const now = deps.clock.now()
    const at = iso(now)
    const ok = o.statusCode !== null && o.statusCode >= 200 && o.statusCode < 300
    const attempts = d.attempts + 1
    const error = ok ? null : (o.error ?? `HTTP ${o.statusCode}`)
    const disabled = await deps.db.transaction().execute(async (trx) => {
      await attemptsRepo.insertAttempt(trx, {
        workspace_id: d.workspace_id,
        delivery_id: d.id,
        at,
        status_code: o.statusCode,
        latency_ms: o.latencyMs,
        response_excerpt: o.excerpt,
        error: o.error,
      })
      await deliveriesRepo.updateDelivery(trx, d.workspace_id, d.id, {
        state: ok ? 'delivered' : attempts >= MAX_ATTEMPTS ? 'failed' : 'pending',
        attempts,
        next_attempt_at:
          ok || attempts >= MAX_ATTEMPTS ? d.next_attempt_at : iso(now + jitter(RETRY_SCHEDULE_MS[attempts - 1]!)),
        last_status: o.statusCode,
        last_error: error,
        updated_at: at,
      })
      // Read here, not before the request: other deliveries to the endpoint finished meanwhile, and the latest
      // outcome decides (a success clears the failure clock; only failures since the last success count).
      const endpoint = await endpointsRepo.findEndpoint(trx, d.workspace_id, endpointId)
      if (!endpoint) return null
      const failingSince = ok ? null : (endpoint.failing_since ?? at)
      const disable =
        !ok && endpoint.enabled === 1 && now - Date.parse(failingSince!) >= deps.config.webhookDisableAfter * 3_600_000
      if (failingSince !== endpoint.failing_since || disable) {
        await endpointsRepo.updateEndpoint(trx, d.workspace_id, endpoint.id, {
          failing_since: failingSince,
          ...(disable
            ? { enabled: 0, disabled_reason: `failing since ${failingSince}: ${error}`, updated_at: at }
            : {}),
        })
      }
      if (!disable) return null
      const reason = `no successful delivery for ${deps.config.webhookDisableAfter} hours (last: ${error})`
      await audit.record(trx, systemCaller('webhook delivery', now), {
        workspaceId: d.workspace_id,
        action: 'webhook.disabled',
        target: { type: 'webhook_endpoint', id: endpoint.id },
        metadata: { failingSince, lastError: error },
      })
      // The origin only: a receiver's path or query may carry its own token, and every role can read events.
      await emit(
        trx,
        d.workspace_id,
        'webhook_endpoint.disabled',
        { endpointId: endpoint.id, origin: new URL(endpoint.url).origin, failingSince: failingSince!, reason },
        at,
      )
      return endpoint.id
    })
    deps.metrics.webhookDeliveries.inc({ outcome: ok ? 'delivered' : attempts >= MAX_ATTEMPTS ? 'failed' : 'retry' })
    if (disabled)
      deps.logger.warn(
        { endpointId: disabled, workspaceId: d.workspace_id },
        'webhook endpoint disabled after failing continuously',
      )
  }
}

/** The first KB of a response, as text, without reading the rest of a large body. */
async function excerptOf(res: Response): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < RESPONSE_EXCERPT) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.byteLength
    }
  } catch {
    // A body cut off midway still leaves what arrived.
  } finally {
    void reader.cancel().catch(() => {})
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT)).replace(/\uFFFD$/, '')
}
