import { z } from 'zod';
import { commonConfigSchema, loadConfig } from '@lantern/shop-common';

const positiveInt = (def: number) => z.coerce.number().int().positive().default(def);
const topic = (def: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be a Kafka topic name (A-Z a-z 0-9 . _ -)')
    .default(def);
const url = (def: string) => z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).default(def);

/** Environment of the order service (common keys + its own). */
export const orderConfigSchema = commonConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8083),
  DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must match [a-z_][a-z0-9_]*').default('shop_order'),
  DB_POOL_MAX: positiveInt(10),
  PRODUCT_SERVICE_URL: url('http://127.0.0.1:8082'),
  INVENTORY_SERVICE_URL: url('http://127.0.0.1:8084'),
  PAYMENT_SERVICE_URL: url('http://127.0.0.1:8085'),
  /** Per attempt, for product and inventory calls. */
  UPSTREAM_TIMEOUT_MS: positiveInt(2_000),
  /** Consecutive failures that open an upstream's circuit breaker, and how long it stays open. */
  UPSTREAM_BREAKER_FAILURES: positiveInt(5),
  UPSTREAM_BREAKER_RESET_MS: positiveInt(10_000),
  /** The payment call routes across simulated channels with latency: it gets longer. */
  PAYMENT_TIMEOUT_CALL_MS: positiveInt(5_000),
  /** An unpaid (reserved) order expires after this; the stock reservation lives a grace period longer. */
  PAYMENT_TIMEOUT_MS: positiveInt(15 * 60_000),
  /** Extra life of the inventory reservation past the payment timeout, so our expiry (which releases) comes first. */
  RESERVATION_GRACE_SECONDS: positiveInt(120),
  /** A saga step (reservation, payment call) still unanswered after this is re-driven by the scheduler. */
  SAGA_STUCK_AFTER_MS: positiveInt(30_000),
  /** How often the durable scheduler polls `scheduled_jobs`. */
  SCHEDULER_POLL_MS: positiveInt(1_000),
  SCHEDULER_BATCH_SIZE: positiveInt(20),
  /** A claimed job whose worker died is taken again after this. */
  SCHEDULER_LEASE_MS: positiveInt(60_000),
  /** Retry backoff of failed jobs (compensations are retried until they succeed). */
  JOB_RETRY_BASE_MS: positiveInt(1_000),
  JOB_RETRY_MAX_MS: positiveInt(60_000),
  /** How long a duplicate request (same Idempotency-Key, or a second pay) waits for the first one's outcome. */
  IDEMPOTENT_WAIT_MS: positiveInt(10_000),
  /** Refresh period of the orders-by-state gauge (a count query on Postgres). */
  STATE_GAUGE_REFRESH_MS: positiveInt(15_000),
  OUTBOX_POLL_MS: positiveInt(200),
  ORDERS_TOPIC: topic('orders'),
  PAYMENTS_TOPIC: topic('payments'),
  FLASH_SALES_TOPIC: topic('flash-sales'),
  PAYMENTS_GROUP_ID: topic('order-payments'),
  FLASH_SALES_GROUP_ID: topic('order-flash-sales'),
  /** Consumers start with the service; tests that only exercise HTTP turn them off. */
  CONSUMERS_ENABLED: z
    .enum(['true', 'false'], { message: 'must be "true" or "false"' })
    .default('true')
    .transform((v) => v === 'true'),
}).superRefine((c, ctx) => {
  // the re-drive must not ask again while the first payment call may still be waiting for its answer
  if (c.SAGA_STUCK_AFTER_MS <= c.PAYMENT_TIMEOUT_CALL_MS) {
    ctx.addIssue({ code: 'custom', path: ['SAGA_STUCK_AFTER_MS'], message: `must be longer than PAYMENT_TIMEOUT_CALL_MS (${c.PAYMENT_TIMEOUT_CALL_MS})` });
  }
});
export type OrderConfig = z.output<typeof orderConfigSchema>;

/** Reads and validates the environment; throws ConfigError naming every bad key. */
export function loadOrderConfig(env: Record<string, string | undefined> = process.env): OrderConfig {
  return loadConfig(orderConfigSchema, env);
}
