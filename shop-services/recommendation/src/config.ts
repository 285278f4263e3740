import { z } from 'zod';
import { commonConfigSchema, loadConfig } from '@lantern/shop-common';
import { DEFAULT_EXPERIMENTS, experimentsSchema } from './experiments.js';
import { entityId } from './ids.js';

const positiveInt = (def: number) => z.coerce.number().int().positive().default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false'], { message: 'must be "true" or "false"' })
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true');

/** Comma-separated product ids, each validated like a request id so a typo fails at startup. */
const productIdList = z
  .string()
  .default('')
  .transform((s) => s.split(',').map((id) => id.trim()).filter(Boolean))
  .pipe(z.array(entityId));

/** JSON in an env var, then validated; a JSON syntax error is reported against the key like any other issue. */
const experimentsJson = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return DEFAULT_EXPERIMENTS;
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
      return z.NEVER;
    }
  })
  .pipe(experimentsSchema);

export const recommendationConfigSchema = commonConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8087),
  /** Every Redis key of the model starts with this. */
  REDIS_PREFIX: z.string().min(1).default('reco'),
  REDIS_COMMAND_TIMEOUT_MS: positiveInt(1000),
  ORDERS_TOPIC: z.string().min(1).default('orders'),
  /** Optional topic carrying `product.viewed` events (views can also arrive by POST /views). */
  PRODUCT_EVENTS_TOPIC: z.string().min(1).optional(),
  KAFKA_GROUP_ID: z.string().min(1).default('recommendation'),
  /** Last level of the fallback chain: served when nothing has been learnt or Redis is down. */
  RECO_STATIC_PRODUCTS: productIdList,
  /** JSON array of `{ id, variants: { name: weightPercent } }`; default: reco-algo control/cooccurrence-v2 50/50. */
  RECO_EXPERIMENTS: experimentsJson,
  /** Count a conversion for every experiment when the user places an order. */
  RECO_CONVERT_ON_ORDER: bool(true),
  RECO_DEFAULT_LIMIT: positiveInt(10),
  RECO_MAX_LIMIT: positiveInt(50),
  RECO_RECENT_VIEWS_MAX: positiveInt(20),
  RECO_VIEWS_TTL_SECONDS: positiveInt(30 * 24 * 3600),
  RECO_ORDER_MARKER_TTL_SECONDS: positiveInt(7 * 24 * 3600),
  RECO_BOUGHT_TOGETHER_MAX: positiveInt(200),
  RECO_ORDER_WEIGHT: positiveInt(3),
}).superRefine((c, ctx) => {
  if (c.RECO_DEFAULT_LIMIT > c.RECO_MAX_LIMIT) {
    ctx.addIssue({ code: 'custom', path: ['RECO_DEFAULT_LIMIT'], message: `must not exceed RECO_MAX_LIMIT (${c.RECO_MAX_LIMIT})` });
  }
});

export type RecommendationConfig = z.output<typeof recommendationConfigSchema>;

/** Reads and validates the environment; throws ConfigError naming every bad key. */
export function loadRecommendationConfig(env: Record<string, string | undefined> = process.env): RecommendationConfig {
  return loadConfig(recommendationConfigSchema, env);
}
