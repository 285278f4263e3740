import { z } from 'zod';
import { commonConfigSchema, loadConfig } from '@lantern/shop-common';

const positiveInt = (def: number) => z.coerce.number().int().positive().default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false'], { message: 'must be "true" or "false"' })
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true');

/**
 * A whole number from the environment, `0` included. Blank is refused instead of being coerced to 0,
 * which for the retention keys would switch a kind of deletion off without anyone noticing.
 */
const wholeNumber = (def: number, max: number, unit: string, zero: string) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,10}$/, { message: `must be a whole number of ${unit} (0: ${zero})`, abort: true })
    .default(String(def))
    .transform(Number)
    .pipe(z.number().max(max, { message: `must be at most ${max} ${unit}`, abort: true }));

/** Retention in days; 0 keeps that kind of row forever. */
const retentionDays = (def: number) => wholeNumber(def, 36_500, 'days', 'keep forever');

/**
 * The shortest retention of the event claims accepted. A claim must outlive every chance of Kafka
 * delivering its event again, i.e. how long a record stays readable: with Kafka's defaults
 * `log.retention.hours` = 168 (7 days) after the record's segment closes, and a segment closes after
 * up to `log.roll.hours` = 168 (7 days): up to 14 days. Within that window an offset reset, a group
 * whose committed offsets expired (`offsets.retention.minutes`, 7 days) restarting from the beginning,
 * or a replay re-reads records; a claim already pruned would let them notify again where the in-app
 * row is gone too.
 */
export const MIN_PROCESSED_EVENTS_RETENTION_DAYS = 14;

/** `smtp://[user[:password]@]host[:port]` or `smtps://…` (implicit TLS). Never echoed back: it may hold a password. */
const smtpUrl = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return undefined;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not a URL (expected smtp://[user:password@]host[:port])' });
      return z.NEVER;
    }
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
      ctx.addIssue({ code: 'custom', message: 'must start with smtp:// or smtps://' });
      return z.NEVER;
    }
    if (!url.hostname) {
      ctx.addIssue({ code: 'custom', message: 'must name a host' });
      return z.NEVER;
    }
    const secure = url.protocol === 'smtps:';
    return {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : secure ? 465 : 587,
      secure,
      ...(url.username ? { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : {}),
    };
  });
export type SmtpTarget = NonNullable<z.output<typeof smtpUrl>>;

/** `addr@example.com` or `Display Name <addr@example.com>`. */
const fromAddress = z
  .string()
  .max(200)
  .refine((s) => {
    const m = /^(?:[^<>\r\n]*<([^<>\s]+)>|([^<>\s]+))$/.exec(s.trim());
    const addr = m?.[1] ?? m?.[2];
    return addr !== undefined && z.email().safeParse(addr).success;
  }, 'must be "addr@example.com" or "Name <addr@example.com>"');

export const notificationConfigSchema = commonConfigSchema
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(8086),
    DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must be a lowercase identifier').default('shop_notification'),
    DB_POOL_MAX: positiveInt(10),
    ORDERS_TOPIC: z.string().min(1).default('orders'),
    PAYMENTS_TOPIC: z.string().min(1).default('payments'),
    KAFKA_GROUP_ID: z.string().min(1).default('notification'),
    /** Where a group without committed offsets starts; false (latest) so a new group does not mail old events. */
    KAFKA_FROM_BEGINNING: bool(false),
    /** Unset: email is off and every email delivery is recorded as skipped (`email_not_configured`). */
    SMTP_URL: smtpUrl,
    /** Demand STARTTLS on a plain smtp:// connection (never needed on loopback). */
    SMTP_REQUIRE_TLS: bool(false),
    /** Connection, greeting and socket timeout of one SMTP exchange. */
    SMTP_TIMEOUT_MS: positiveInt(10_000),
    /** Concurrent SMTP connections of the pool. */
    SMTP_MAX_CONNECTIONS: positiveInt(3),
    EMAIL_FROM: fromAddress.default('Lantern Shop <shop@lantern.local>'),
    /** Simulated SMS provider; SMS go only to users who opted in with a phone number (PUT /notifications/preferences). */
    SMS_ENABLED: bool(true),
    SMS_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(50),
    /** Share of SMS sends that fail transiently (retried), 0..1. */
    SMS_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0.05),
    SMS_SENDER: z.string().min(1).max(11).default('Lantern'),
    /** Attempts per delivery (email or SMS) before it is recorded as failed. */
    DELIVERY_MAX_ATTEMPTS: positiveInt(5),
    /** Backoff cap of the first retry; doubles per retry up to DELIVERY_RETRY_MAX_MS (full jitter). */
    DELIVERY_RETRY_BASE_MS: positiveInt(1_000),
    DELIVERY_RETRY_MAX_MS: positiveInt(60_000),
    /**
     * How often the dispatcher looks for due deliveries when nothing woke it. A fallback only: the rows
     * this process writes are handed over or wake it at once, and each retry it schedules wakes it when
     * due; a poll finds only other processes' leftovers (a crashed replica's expired leases) and work
     * left after a failed poll or a restart, for which seconds do not matter. Every poll is a statement
     * (and a span), so an idle shop should not pay for it twice a second.
     */
    DELIVERY_POLL_MS: positiveInt(5_000),
    /** Rows claimed per poll; also the most sends handed over by the event handler in flight at once. */
    DELIVERY_BATCH_SIZE: positiveInt(20),
    /** A delivery in `sending` longer than this is taken over (its sender crashed): the at-least-once window. */
    DELIVERY_LEASE_MS: positiveInt(60_000),
    // Retention (src/retention.ts): what is deleted, when. Each run deletes in batches, one run at a
    // time across replicas. Ages are measured by Postgres' clock.
    /**
     * In-app messages the user has read, this many days after they were read (a read-all over old
     * messages does not make them vanish at the next run). 90: a quarter of history in the inbox; an
     * order's own emails are the customer's lasting record.
     */
    RETENTION_DAYS_READ: retentionDays(90),
    /**
     * In-app messages never read, this many days after they were written. Kept much longer than read
     * ones (unread means the customer has not seen it yet) but not forever: a customer who stopped
     * coming leaves no inbox behind. 365; must not be shorter than RETENTION_DAYS_READ (0 there: 0 here).
     */
    RETENTION_DAYS_UNREAD: retentionDays(365),
    /**
     * Email, SMS and in-app delivery records (recipient address or number, the rendered message) with a
     * final status (sent, failed, skipped), this many days after that outcome. 30: support can answer
     * "did you send me the receipt?" for a month; after that they are personal data without a purpose.
     * Rows still pending or being sent are never deleted.
     */
    RETENTION_DAYS_DELIVERIES: retentionDays(30),
    /**
     * Event claims (processed_events), this many days after the event was processed. They make a
     * redelivered event a no-op, so they must outlive every redelivery: at least
     * MIN_PROCESSED_EVENTS_RETENTION_DAYS (14, the most a record stays readable with Kafka's default
     * retention and segment roll); 21 leaves a week of margin. Raise it with the topics' retention.ms +
     * segment.ms. After it a replay is still caught by notifications.event_id while the in-app row exists.
     */
    RETENTION_DAYS_PROCESSED_EVENTS: retentionDays(21).refine((d) => d === 0 || d >= MIN_PROCESSED_EVENTS_RETENTION_DAYS, {
      message: `must be 0 (keep forever) or at least ${MIN_PROCESSED_EVENTS_RETENTION_DAYS} days: claims must outlive Kafka's redelivery window (retention + segment roll, 7 + 7 days by default)`,
    }),
    /** Renamed; refused rather than ignored, so a deployment that set it does not silently get the new default. */
    PROCESSED_EVENTS_RETENTION_DAYS: z.never({ message: 'was renamed RETENTION_DAYS_PROCESSED_EVENTS' }).optional(),
    /**
     * Time between retention runs of this process (the first one a minute after start, so frequent
     * restarts do not starve it). Hourly: deletions stay small and spread out. 0: this process runs
     * none. At most 2^31-1 (a Node.js timer's limit).
     */
    RETENTION_INTERVAL_MS: wholeNumber(3_600_000, 2_147_483_647, 'milliseconds', 'no runs in this process'),
    /** Rows per DELETE (each its own transaction): bounds the locks, WAL burst and time of one statement. */
    RETENTION_BATCH_SIZE: positiveInt(1_000).pipe(z.number().max(10_000)),
    /** Names the shop in messages. */
    SHOP_NAME: z.string().min(1).max(100).default('Lantern Shop'),
    NOTIFICATIONS_DEFAULT_LIMIT: positiveInt(20),
    NOTIFICATIONS_MAX_LIMIT: positiveInt(100),
  })
  .superRefine((c, ctx) => {
    if (c.NOTIFICATIONS_DEFAULT_LIMIT > c.NOTIFICATIONS_MAX_LIMIT) {
      ctx.addIssue({ code: 'custom', path: ['NOTIFICATIONS_DEFAULT_LIMIT'], message: `must not exceed NOTIFICATIONS_MAX_LIMIT (${c.NOTIFICATIONS_MAX_LIMIT})` });
    }
    if (c.DELIVERY_RETRY_BASE_MS > c.DELIVERY_RETRY_MAX_MS) {
      ctx.addIssue({ code: 'custom', path: ['DELIVERY_RETRY_BASE_MS'], message: `must not exceed DELIVERY_RETRY_MAX_MS (${c.DELIVERY_RETRY_MAX_MS})` });
    }
    // an unread message is not deleted before a read one; 0 (keep forever) counts as the longest
    const keep = (d: number) => (d === 0 ? Infinity : d);
    if (keep(c.RETENTION_DAYS_UNREAD) < keep(c.RETENTION_DAYS_READ)) {
      ctx.addIssue({ code: 'custom', path: ['RETENTION_DAYS_UNREAD'], message: `must not be shorter than RETENTION_DAYS_READ (${c.RETENTION_DAYS_READ || '0: forever'})` });
    }
    // one SMTP exchange may take connection + greeting + socket timeouts; the lease must outlast it
    if (c.DELIVERY_LEASE_MS < 3 * c.SMTP_TIMEOUT_MS + 1_000) {
      ctx.addIssue({ code: 'custom', path: ['DELIVERY_LEASE_MS'], message: `must be at least 3 × SMTP_TIMEOUT_MS + 1000 (${3 * c.SMTP_TIMEOUT_MS + 1_000})` });
    }
  });

export type NotificationConfig = z.output<typeof notificationConfigSchema>;

/** Reads and validates the environment; throws ConfigError naming every bad key (never its value). */
export function loadNotificationConfig(env: Record<string, string | undefined> = process.env): NotificationConfig {
  return loadConfig(notificationConfigSchema, env);
}
