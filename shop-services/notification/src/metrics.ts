import { getOrCreateCounter, getOrCreateGauge, getOrCreateHistogram, LATENCY_BUCKETS_SECONDS } from '@lantern/sdk';

/**
 * Outcomes of a delivery attempt: `sent`; `retry` (transient failure, tried again later); `failed`
 * (permanent, or attempts exhausted); `skipped` (no address, not opted in, channel off).
 */
export type SendOutcome = 'sent' | 'retry' | 'failed' | 'skipped';

/** Deliveries by channel (email, sms, in_app) and outcome; both label sets are closed. */
export const notificationsSentTotal = getOrCreateCounter({
  name: 'notifications_sent_total',
  help: 'Notification deliveries by channel and outcome (sent, retry, failed, skipped)',
  labelNames: ['channel', 'outcome'] as const,
});

/** From the event's occurredAt to the channel accepting the message: what the customer waits. */
export const deliveryLatencySeconds = getOrCreateHistogram({
  name: 'notification_delivery_latency_seconds',
  help: 'Time from the event to the notification being delivered, by channel',
  labelNames: ['channel'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  enableExemplars: true,
});

/** One call to the provider (SMTP exchange, SMS API). */
export const sendDurationSeconds = getOrCreateHistogram({
  name: 'notification_send_duration_seconds',
  help: 'Duration of one send to the channel provider, by channel and outcome',
  labelNames: ['channel', 'outcome'] as const,
  buckets: LATENCY_BUCKETS_SECONDS,
  enableExemplars: true,
});

/** Events consumed by type and outcome: notified, duplicate (redelivery, already claimed), ignored (no notification warranted). */
export const notificationEventsTotal = getOrCreateCounter({
  name: 'notification_events_total',
  help: 'Order and payment events consumed by the notification service, by type and outcome',
  labelNames: ['type', 'outcome'] as const,
});

/** Email and SMS deliveries waiting (pending or being sent), by channel. */
export const deliveriesPending = getOrCreateGauge({
  name: 'notification_deliveries_pending',
  help: 'Email and SMS deliveries not yet sent or given up, by channel',
  labelNames: ['channel'] as const,
});

/** What the retention job deletes (one label value per kind: see src/retention.ts). */
export type RetentionKind = 'notifications_read' | 'notifications_unread' | 'deliveries' | 'processed_events';

/** Rows deleted by the retention job, by kind; counted per batch, so a long run shows its progress. */
export const retentionDeletedTotal = getOrCreateCounter({
  name: 'notification_retention_deleted_total',
  help: 'Rows deleted by the notification retention job, by kind (notifications_read, notifications_unread, deliveries, processed_events)',
  labelNames: ['kind'] as const,
});
