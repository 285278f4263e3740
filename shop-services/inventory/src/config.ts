import { z } from 'zod';
import { commonConfigSchema, loadConfig } from '@lantern/shop-common';

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'], { message: 'must be true, false, 1 or 0' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
const nameList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s) => s.split(',').map((n) => n.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'each name must be a lowercase service name')));

/** Environment of the inventory service (common keys + its own). */
export const inventoryConfigSchema = commonConfigSchema
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(8084),
    /** Above the common 64kb: a 1,000-item reservation should hear "at most 100 items", not 413. */
    BODY_LIMIT: z.string().default('128kb'),
    DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must match [a-z_][a-z0-9_]*').default('shop_inventory'),
    /** Postgres connections per process: the cap on concurrent stock transactions. */
    DB_POOL_MAX: int(1, 200, 10),
    /** Prefix of every Redis key; instances of one deployment share it, tests use a unique one. */
    REDIS_KEY_PREFIX: z.string().min(1).max(100).default('shop:inventory:'),
    REDIS_COMMAND_TIMEOUT_MS: int(50, 10_000, 1_000),
    /** Topic of `inventory.low_stock` and `inventory.restocked`. */
    INVENTORY_TOPIC: z.string().min(1).max(200).default('inventory'),
    /** Run the outbox relay (events to Kafka) in this process. */
    OUTBOX_RELAY_ENABLED: flag(true),
    /** Services (internal-token issuers) allowed to reserve, confirm, release and use allocations; admins always are. */
    INVENTORY_CALLERS: nameList('order,flash-sale'),
    /** Hold time of a reservation when the request gives no ttlSeconds. */
    RESERVATION_TTL_SECONDS: int(1, 7 * 24 * 3600, 1800),
    RESERVATION_MAX_TTL_SECONDS: int(1, 7 * 24 * 3600, 24 * 3600),
    /** How often the sweeper looks for expired reservations, and how many it releases per transaction. */
    SWEEP_INTERVAL_MS: int(50, 3_600_000, 5_000),
    SWEEP_BATCH: int(1, 1_000, 100),
    /** Periodic Redis ← Postgres reconciliation (it also runs at start and on demand). */
    RECONCILE_INTERVAL_MS: int(100, 24 * 3_600_000, 30_000),
    RECONCILE_BATCH: int(1, 5_000, 500),
    /** Rounds over products that changed while being reconciled, before they wait for the next run. */
    RECONCILE_MAX_ROUNDS: int(1, 50, 8),
    /** A Redis in-flight marker older than this belongs to a finished or dead request (see README). */
    RECONCILE_STALE_MARKER_MS: int(1_000, 3_600_000, 120_000),
    /** Least gap between two reconciliations asked for by requests that found Redis keys missing. */
    RECONCILE_MIN_GAP_MS: int(0, 3_600_000, 1_000),
    /** Available units at or below which a SKU is low on stock (one event per crossing). */
    LOW_STOCK_THRESHOLD: int(0, 1_000_000, 10),
    /** inventory_stock_level label sets allowed (above the catalogue's SKU count). */
    STOCK_GAUGE_MAX_SKUS: int(1, 1_000_000, 5_000),
    /** Create stock rows for the generated catalogue at start (rows that exist are left alone). */
    SEED_ON_START: flag(true),
    SEED_ON_HAND: int(0, 1_000_000_000, 100),
    /** Products per category of the generated catalogue (its default: 48, i.e. 1,200 products). */
    SEED_PER_CATEGORY: int(1, 1_000, 48),
  })
  .superRefine((c, ctx) => {
    if (c.RESERVATION_TTL_SECONDS > c.RESERVATION_MAX_TTL_SECONDS) {
      ctx.addIssue({ code: 'custom', path: ['RESERVATION_TTL_SECONDS'], message: `must not exceed RESERVATION_MAX_TTL_SECONDS (${c.RESERVATION_MAX_TTL_SECONDS})` });
    }
  });

export type InventoryConfig = z.output<typeof inventoryConfigSchema>;

/** Reads and validates the environment; throws ConfigError naming every bad key. */
export function loadInventoryConfig(env: Record<string, string | undefined> = process.env): InventoryConfig {
  return loadConfig(inventoryConfigSchema, env);
}
