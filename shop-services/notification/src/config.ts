import { z } from 'zod';
import { commonConfigSchema, loadConfig } from '@lantern/shop-common';

const positiveInt = (def: number) => z.coerce.number().int().positive().default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false'], { message: 'must be "true" or "false"' })
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true');

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
    /** Event claims older than this are pruned hourly (a later replay is still caught by notifications.event_id). */
    PROCESSED_EVENTS_RETENTION_DAYS: positiveInt(14),
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
