import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseOptions, positiveNumber, toolName } from './config.js';
import { metrics } from './telemetry.js';
import { TOKEN_BUCKET_LUA, defineScript } from './redis-scripts.js';
import { checkCost, recordDecision } from './token-bucket.js';
import type { RateLimitDecision } from './token-bucket.js';

export interface RedisRateLimiterOptions {
  /** Metric label and part of the key; a code-defined constant like "api-per-tenant". */
  name: string;
  /** Bucket size: the burst allowed to an idle key. */
  capacity: number;
  /** Sustained rate: tokens added per second. */
  refillPerSecond: number;
  /** Prefix of every Redis key. Default "lantern:ratelimit:". Keys are `${prefix}${name}:${key}`. */
  keyPrefix?: string;
}

const schema = z.object({
  name: toolName,
  capacity: positiveNumber,
  refillPerSecond: positiveNumber,
  keyPrefix: z.string().default('lantern:ratelimit:'),
});

const COMMAND = `lanternTokenBucket_${createHash('sha1').update(TOKEN_BUCKET_LUA).digest('hex').slice(0, 12)}`;

/**
 * Token bucket shared by every instance of a service, in Redis: one atomic Lua script per
 * decision, timed by the Redis server's clock. If Redis fails, take() rejects with the ioredis
 * error (counted as decision="error"): the caller chooses to fail open or closed.
 */
export class RedisRateLimiter {
  readonly name: string;
  readonly capacity: number;
  readonly refillPerSecond: number;
  private readonly keyPrefix: string;
  private readonly ttlMs: number;
  private readonly script: (...args: (string | number)[]) => Promise<unknown>;

  constructor(redis: Redis, options: RedisRateLimiterOptions) {
    const opts = parseOptions(schema, options, 'RedisRateLimiter');
    this.name = opts.name;
    this.capacity = opts.capacity;
    this.refillPerSecond = opts.refillPerSecond;
    this.keyPrefix = `${opts.keyPrefix}${opts.name}:`;
    // Time to refill from empty: after that an expired (missing) bucket equals the real one.
    this.ttlMs = Math.max(1000, Math.ceil((opts.capacity / opts.refillPerSecond) * 1000));
    this.script = defineScript(redis, COMMAND, TOKEN_BUCKET_LUA, 1);
  }

  async take(key: string, cost = 1): Promise<RateLimitDecision> {
    checkCost(this.name, cost, this.capacity);
    let reply: unknown;
    try {
      reply = await this.script(this.keyPrefix + key, String(this.capacity), String(this.refillPerSecond), String(cost), String(this.ttlMs));
    } catch (err) {
      metrics.rateLimitDecisions().inc({ name: this.name, decision: 'error' });
      throw err;
    }
    const [allowed, remaining, retryAfterMs] = reply as [number, number, number];
    const decision: RateLimitDecision = { allowed: allowed === 1, remaining, retryAfterMs };
    recordDecision(this.name, 'redis', decision);
    return decision;
  }
}
