import { z } from 'zod';
import { commonConfigSchema, loadConfig } from '@lantern/shop-common';

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const flag = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true, false, 1 or 0' })
  .default('false')
  .transform((v) => v === 'true' || v === '1');

/** Environment of the product service (common keys + its own). */
export const productConfigSchema = commonConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must match [a-z_][a-z0-9_]*').default('product'),
  /** Prefix of every Redis key and of the invalidation channel; instances of one deployment share it. */
  REDIS_KEY_PREFIX: z.string().min(1).default('shop:product:'),
  CACHE_L1_MAX: int(1, 10_000),
  CACHE_L1_TTL_MS: int(1, 30_000),
  CACHE_L2_TTL_SECONDS: int(1, 300),
  CACHE_NEGATIVE_TTL_SECONDS: int(1, 30),
  CACHE_JITTER_RATIO: z.coerce.number().min(0).max(0.5).default(0.1),
  CACHE_DOUBLE_DELETE_DELAY_MS: int(0, 500),
  /** How many of the most-viewed products to load into the cache at start (0: none). */
  CACHE_WARM_TOP_N: int(0, 200),
  /** Load the generated catalogue (idempotent) at start. */
  SEED_ON_START: flag,
});
export type ProductConfig = z.output<typeof productConfigSchema>;

export function loadProductConfig(env: Record<string, string | undefined> = process.env): ProductConfig {
  return loadConfig(productConfigSchema, env);
}
