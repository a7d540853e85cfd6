/**
 * wabox's Prometheus metrics (prom-client), one registry per runtime (tests build many apps in one process).
 * Counters and histograms are moved where things happen — requests, intake commits, processing, sends,
 * webhook deliveries; gauges are set at scrape time from indexed queries (metrics.service.ts). Label values are
 * bounded sets: route patterns (never raw paths), outcomes, states, channel ids.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

export class Metrics {
  readonly registry = new Registry()
  private processMetrics = false

  readonly httpRequests = new Counter({
    name: 'wabox_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  })
  readonly httpDuration = new Histogram({
    name: 'wabox_http_request_duration_seconds',
    help: 'Time from receiving a request to handing over its response, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  })
  readonly intakeEvents = new Counter({
    name: 'wabox_intake_events_total',
    help: 'Inbound events (webhooks and QR-linked devices) handed to the intake: stored, or duplicate (already there)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  })
  readonly intakeCommits = new Counter({
    name: 'wabox_intake_commits_total',
    help: 'Group commits of the intake (one per batch of webhook requests), by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly intakeProcessed = new Counter({
    name: 'wabox_intake_processed_total',
    help: 'Intake events applied by the processor (processed), failed and retried later (retry), or parked as dead letters (dead)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly qrWarnings = new Counter({
    name: 'wabox_qr_session_warnings_total',
    help: 'Warnings about a QR-linked number that a person should look at (README: QR-linked numbers), by warning: replaced, needs_attention, restart_loop, undecryptable_messages, reachout_locked, outdated_version, pairing_failed',
    labelNames: ['warning'] as const,
    registers: [this.registry],
  })
  readonly qrUndecryptable = new Counter({
    name: 'wabox_qr_undecryptable_messages_total',
    help: 'Messages a QR-linked device received but could not decrypt (Baileys CIPHERTEXT stubs; WhatsApp is asked to send them again), by channel',
    labelNames: ['channel_id'] as const,
    registers: [this.registry],
  })
  readonly webhookUnknown = new Counter({
    name: 'wabox_webhook_unknown_notices_total',
    help: 'Signed webhook notices (or parts of one) in a shape wabox does not know, as received (a retry counts again): answered 200 and kept as dead letters',
    registers: [this.registry],
  })
  readonly intakeProcessingLag = new Histogram({
    name: 'wabox_intake_processing_lag_seconds',
    help: 'Time from an event entering the intake to its effects being committed',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300],
    registers: [this.registry],
  })
  readonly sends = new Counter({
    name: 'wabox_sends_total',
    help: 'Outbound send attempts by outcome: sent, retry (will be tried again), failed (for good), deferred (waits without spending an attempt)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly sendRecoveries = new Counter({
    name: 'wabox_send_recoveries_total',
    help: 'Sends a crash interrupted, at recovery: already_sent (WhatsApp had reported on them) or requeued (sent again after --send-recovery-grace unless a status arrives)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly webhookDeliveries = new Counter({
    name: 'wabox_webhook_deliveries_total',
    help: 'Outbound webhook delivery attempts by outcome: delivered, retry, failed (retry budget spent)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })

  // Set at scrape time.
  readonly intakePending = new Gauge({
    name: 'wabox_intake_pending',
    help: 'Intake events waiting to be processed (queue depth)',
    registers: [this.registry],
  })
  readonly intakeLag = new Gauge({
    name: 'wabox_intake_oldest_pending_age_seconds',
    help: 'Age of the oldest intake event not processed yet (0 when none waits)',
    registers: [this.registry],
  })
  readonly intakeDead = new Gauge({
    name: 'wabox_intake_dead_letters',
    help: 'Intake events parked as dead letters (replayable)',
    registers: [this.registry],
  })
  readonly outboxDepth = new Gauge({
    name: 'wabox_outbox_depth',
    help: 'Outbound messages waiting (queued) or on their way (sending), per channel',
    labelNames: ['channel_id', 'state'] as const,
    registers: [this.registry],
  })
  readonly mediaPending = new Gauge({
    name: 'wabox_media_downloads_pending',
    help: 'Inbound media files not downloaded yet',
    registers: [this.registry],
  })
  readonly deliveriesPending = new Gauge({
    name: 'wabox_webhook_deliveries_pending',
    help: 'Outbound webhook deliveries not delivered or failed yet',
    registers: [this.registry],
  })
  readonly channels = new Gauge({
    name: 'wabox_channels',
    help: 'Channels by provider, status and connection state (QR-linked numbers; "none" for Cloud API numbers)',
    labelNames: ['provider', 'status', 'connection'] as const,
    registers: [this.registry],
  })
  readonly qrSessions = new Gauge({
    name: 'wabox_qr_sessions',
    help: 'QR-linked sessions running in this process, by connection state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  })
  readonly databaseBytes = new Gauge({
    name: 'wabox_database_bytes',
    help: 'Size of the SQLite database file (file) and of its write-ahead log (wal)',
    labelNames: ['file'] as const,
    registers: [this.registry],
  })
  readonly backupAge = new Gauge({
    name: 'wabox_backup_age_seconds',
    help: 'Seconds since the last completed backup archive (wabox --backup); +Inf when none was ever made',
    registers: [this.registry],
  })
  readonly writeFailures = new Gauge({
    name: 'wabox_write_failures_recent',
    help: 'Write paths whose last write failed on storage in the last 30 s (what makes /readyz answer 503)',
    labelNames: ['source', 'code'] as const,
    registers: [this.registry],
  })

  /** Process metrics (CPU, memory, file descriptors, event loop) join at the first scrape, not at construction. */
  enableProcessMetrics(): void {
    if (this.processMetrics) return
    this.processMetrics = true
    collectDefaultMetrics({ register: this.registry })
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
