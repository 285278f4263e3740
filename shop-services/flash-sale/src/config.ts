import { z } from 'zod';
import { commonConfigSchema, loadConfig } from '@lantern/shop-common';

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);

/** Environment of the flash-sale service (common keys + its own). */
export const flashSaleConfigSchema = commonConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8088),
  DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must match [a-z_][a-z0-9_]*').default('shop_flash_sale'),
  /** Prefix of every Redis key; instances of one deployment share it. */
  REDIS_KEY_PREFIX: z.string().min(1).max(100).default('shop:flash-sale:'),
  REDIS_COMMAND_TIMEOUT_MS: int(1, 1000),
  /** Postgres connections: accepted purchases each hold one for their transaction, so a burst of buyers queues here. */
  DB_POOL_MAX: int(1, 20),
  /** The inventory service: sale stock is allocated there at creation and unsold units returned at the end. */
  INVENTORY_SERVICE_URL: z.url().default('http://127.0.0.1:8084'),
  /** Where purchase requests go (the order service consumes them). */
  FLASH_SALES_TOPIC: z.string().min(1).max(200).default('flash-sales'),
  /** Where `order.placed` tells which purchases became orders. */
  ORDERS_TOPIC: z.string().min(1).max(200).default('orders'),
  KAFKA_GROUP_ID: z.string().min(1).max(200).default('flash-sale-orders'),
  /** Per-user token bucket in front of the Redis script (see README: why a local bucket). */
  PURCHASE_RATE_CAPACITY: int(1, 5),
  PURCHASE_RATE_REFILL_PER_SECOND: z.coerce.number().positive().default(1),
  /** Users tracked by the local bucket at once (LRU). */
  PURCHASE_RATE_MAX_KEYS: int(1, 100_000),
  /** How long a sale learnt to be sold out is answered locally before one request asks Redis again. */
  SOLD_OUT_RECHECK_MS: int(1, 1000),
  /** How long a sale row is reused from memory (its window and price never change). */
  SALE_CACHE_TTL_MS: int(1, 60_000),
  /** Settlement and hold reconciliation loop period (0: off, tests run it by hand). */
  SETTLE_INTERVAL_MS: int(0, 5000),
  /** Wait after a sale's end before settling it, so purchases accepted at the last moment commit first. */
  SETTLE_GRACE_MS: int(0, 5000),
  /** A Redis hold with no purchase row after this long is returned to the sale (its request died). */
  STALE_HOLD_MS: int(1, 30_000),
  /** A sale still allocating after this long is cancelled and whatever inventory set aside is given back. */
  ALLOCATION_TIMEOUT_MS: int(1, 60_000),
  /** Outbox relay safety-net poll (commits wake it at once through LISTEN/NOTIFY). */
  OUTBOX_POLL_INTERVAL_MS: int(1, 1000),
  /** Most sales labelled in flash_sale_remaining_units (active sales only). */
  REMAINING_GAUGE_MAX_SALES: int(1, 50),
});
export type FlashSaleConfig = z.output<typeof flashSaleConfigSchema>;

/** Reads and validates the environment; throws ConfigError naming every bad key. */
export function loadFlashSaleConfig(env: Record<string, string | undefined> = process.env): FlashSaleConfig {
  return loadConfig(flashSaleConfigSchema, env);
}
