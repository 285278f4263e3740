import type Koa from 'koa';
import type { Redis } from 'ioredis';
import { RedisRateLimiter } from '@lantern/sdk';
import { AppError, TooManyRequestsError, type AuthUser, type Logger } from '@lantern/shop-common';
import type { GatewayConfig } from './config.js';
import { rateLimitBypassed } from './metrics.js';

const LOG_EVERY_MS = 10_000;

/**
 * Token buckets in Redis shared by every gateway instance: per user id for authenticated requests,
 * per client IP for anonymous ones. Over the limit: 429 with Retry-After (whole seconds, rounded up).
 *
 * Redis down: fail open by default. For a shop, refusing every request because the limiter's store
 * is away turns a degraded protection into a full outage; the bypass is logged (at most every 10 s)
 * and counted (gateway_ratelimit_bypassed_total) so it is visible and alertable. RATE_LIMIT_FAIL_MODE
 * = closed answers 503 instead, for deployments that prefer that trade.
 *
 * With RATE_LIMIT_LEASE_TOKENS > 0 (default 20) tokens are leased from Redis a batch at a time and
 * denials remembered until their tokens are due: most requests cost no Redis round trip.
 */
export function rateLimit(redis: Redis, config: GatewayConfig, logger: Logger): Koa.Middleware {
  const prefix = config.RATE_LIMIT_KEY_PREFIX;
  const lease = config.RATE_LIMIT_LEASE_TOKENS > 0 ? { lease: { tokens: config.RATE_LIMIT_LEASE_TOKENS, maxAgeMs: config.RATE_LIMIT_LEASE_MS } } : {};
  const perIp = new RedisRateLimiter(redis, {
    name: 'gateway-ip',
    capacity: config.RATE_LIMIT_IP_CAPACITY,
    refillPerSecond: config.RATE_LIMIT_IP_REFILL_PER_SECOND,
    keyPrefix: prefix,
    ...lease,
  });
  const perUser = new RedisRateLimiter(redis, {
    name: 'gateway-user',
    capacity: config.RATE_LIMIT_USER_CAPACITY,
    refillPerSecond: config.RATE_LIMIT_USER_REFILL_PER_SECOND,
    keyPrefix: prefix,
    ...lease,
  });
  const bypassed = rateLimitBypassed();
  const failOpen = config.RATE_LIMIT_FAIL_MODE === 'open';
  let lastLog = 0;

  return async function limit(ctx, next) {
    const user = ctx.state.user as AuthUser | undefined;
    const [limiter, key, scope] = user ? [perUser, user.id, 'user'] : [perIp, ctx.ip || 'unknown', 'ip'];
    let decision: Awaited<ReturnType<RedisRateLimiter['take']>>;
    try {
      decision = await limiter.take(key);
    } catch (err) {
      bypassed.inc({ scope, mode: config.RATE_LIMIT_FAIL_MODE });
      if (Date.now() - lastLog > LOG_EVERY_MS) {
        lastLog = Date.now();
        logger.warn({ err: (err as Error).message, mode: config.RATE_LIMIT_FAIL_MODE }, `rate limiter unavailable: failing ${config.RATE_LIMIT_FAIL_MODE}`);
      }
      if (failOpen) return next();
      throw new AppError(503, 'rate_limiter_unavailable', 'the service cannot accept requests right now; try again shortly', { headers: { 'retry-after': '1' } });
    }
    ctx.set('ratelimit-limit', String(limiter.capacity));
    ctx.set('ratelimit-remaining', String(Math.max(0, Math.floor(decision.remaining))));
    if (!decision.allowed) {
      throw new TooManyRequestsError(`rate limit exceeded for this ${scope === 'user' ? 'user' : 'client address'}; retry after the time in Retry-After`, decision.retryAfterMs, 'rate_limited');
    }
    return next();
  };
}
