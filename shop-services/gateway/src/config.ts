import { z } from 'zod';
import { commonConfigSchema, loadConfig, MIN_SECRET_LENGTH } from '@lantern/shop-common';

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const positive = (fallback: number) => z.coerce.number().positive().finite().default(fallback);
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'], { message: 'must be true, false, 1 or 0' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
/** An upstream base URL; unset or empty means "not deployed" (its routes answer 503). */
const upstreamUrl = z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional());
const optionalName = z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).max(100).optional());

/** Environment of the gateway (common keys + its own). */
export const gatewayConfigSchema = commonConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Verifies end-user access tokens (the user service signs them with the same secret). */
  JWT_SECRET: z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`),
  USER_SERVICE_URL: upstreamUrl,
  PRODUCT_SERVICE_URL: upstreamUrl,
  RECOMMENDATION_SERVICE_URL: upstreamUrl,
  ORDER_SERVICE_URL: upstreamUrl,
  INVENTORY_SERVICE_URL: upstreamUrl,
  PAYMENT_SERVICE_URL: upstreamUrl,
  NOTIFICATION_SERVICE_URL: upstreamUrl,
  FLASH_SALE_SERVICE_URL: upstreamUrl,
  /** Internal-token audience per upstream, when a service does not use the default (see upstreams.ts). */
  USER_SERVICE_AUDIENCE: optionalName,
  PRODUCT_SERVICE_AUDIENCE: optionalName,
  RECOMMENDATION_SERVICE_AUDIENCE: optionalName,
  ORDER_SERVICE_AUDIENCE: optionalName,
  INVENTORY_SERVICE_AUDIENCE: optionalName,
  PAYMENT_SERVICE_AUDIENCE: optionalName,
  NOTIFICATION_SERVICE_AUDIENCE: optionalName,
  FLASH_SALE_SERVICE_AUDIENCE: optionalName,
  /** Per attempt. */
  UPSTREAM_TIMEOUT_MS: int(1, 2_000),
  /** Extra attempts for idempotent calls (GET/HEAD/PUT/DELETE or with Idempotency-Key). */
  UPSTREAM_RETRIES: int(0, 2),
  /** Keep-alive connections per upstream. */
  UPSTREAM_CONNECTIONS: int(1, 64),
  BREAKER_FAILURE_THRESHOLD: int(1, 5),
  BREAKER_HALF_OPEN_MS: int(1, 10_000),
  /** Deadline of each optional part of /api/products/:id/details (stock, reviews, recommendations). */
  DETAILS_PART_TIMEOUT_MS: int(1, 500),
  RATE_LIMIT_ENABLED: flag(true),
  /** Anonymous clients, per IP: burst and sustained requests per second. */
  RATE_LIMIT_IP_CAPACITY: positive(100),
  RATE_LIMIT_IP_REFILL_PER_SECOND: positive(20),
  /** Authenticated users, per user id. */
  RATE_LIMIT_USER_CAPACITY: positive(200),
  RATE_LIMIT_USER_REFILL_PER_SECOND: positive(50),
  /**
   * Local token leasing (see the SDK's RedisRateLimiter `lease`): each Redis call takes up to this
   * many tokens of a bucket for this instance, so most decisions need no Redis round trip. Bounded
   * per bucket by what refills within RATE_LIMIT_LEASE_MS (20/s × 0.5 s = 10 for the default IP
   * bucket). The trade: across instances a bucket can deny up to a lease early (tokens held by
   * another instance), and RateLimit-Remaining moves in steps. 0 = one Redis call per request.
   */
  RATE_LIMIT_LEASE_TOKENS: int(0, 20),
  /** Lifetime of a lease (and of a remembered denial), ms. */
  RATE_LIMIT_LEASE_MS: int(1, 500),
  /** When Redis cannot decide: 'open' lets the request through (logged + counted), 'closed' answers 503. */
  RATE_LIMIT_FAIL_MODE: z.enum(['open', 'closed'], { message: 'must be open or closed' }).default('open'),
  RATE_LIMIT_KEY_PREFIX: z.string().min(1).default('shop:gateway:ratelimit:'),
  /**
   * Reverse proxies in front of the gateway that append to X-Forwarded-For. 0: the socket address is
   * the client. N: the client is the address the outermost of N trusted proxies saw.
   */
  TRUST_PROXY_HOPS: int(0, 0),
  /** Verified access tokens and signed internal tokens kept in memory (LRU, bounded). */
  TOKEN_CACHE_MAX: int(0, 10_000),
});
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  return loadConfig(gatewayConfigSchema, env);
}
