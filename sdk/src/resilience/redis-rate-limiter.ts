import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { parseOptions, positiveNumber, toolName } from './config.js';
import { metrics } from './telemetry.js';
import { TOKEN_BUCKET_LEASE_LUA, TOKEN_BUCKET_LUA, defineScript } from './redis-scripts.js';
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
  /**
   * Local token leasing (off by default: one Redis call per decision). With a lease, a decision
   * takes up to `tokens` tokens from the shared bucket in one call and hands them out in process,
   * and a denial is remembered until the tokens it waits for are due (at most `maxAgeMs`), so most
   * decisions cost no Redis round trip. Trade-offs, bounded by `maxAgeMs` (default 500 ms):
   * tokens leased by one instance are not available to the others, unused leased tokens expire
   * with the lease (never more than refill × maxAge of them, so a sparse client loses nothing it
   * would not have regained), and `remaining` is the bucket's count at the last lease plus what is
   * left locally. The lease size used is min(tokens, refillPerSecond × maxAgeMs / 1000, capacity / 4);
   * below 2 the limiter asks Redis every time.
   */
  lease?: { tokens: number; maxAgeMs?: number; maxKeys?: number };
}

const schema = z.object({
  name: toolName,
  capacity: positiveNumber,
  refillPerSecond: positiveNumber,
  keyPrefix: z.string().default('lantern:ratelimit:'),
  lease: z
    .object({
      tokens: z.number().int().min(0),
      maxAgeMs: positiveNumber.max(60_000).default(500),
      maxKeys: z.number().int().positive().default(10_000),
    })
    .optional(),
});

const COMMAND = `lanternTokenBucket_${createHash('sha1').update(TOKEN_BUCKET_LUA).digest('hex').slice(0, 12)}`;
const LEASE_COMMAND = `lanternTokenLease_${createHash('sha1').update(TOKEN_BUCKET_LEASE_LUA).digest('hex').slice(0, 12)}`;

/** Tokens taken from Redis for one key and not handed out yet, or a remembered denial. */
interface Lease {
  tokens: number;
  /** Whole tokens the shared bucket had left when the lease was taken. */
  remaining: number;
  /** performance.now() after which the lease is void (its tokens are dropped). */
  expiresAt: number;
  /** A denial for this cost or more stands until this time (0: none)... */
  deniedUntil: number;
  deniedCost: number;
  /** ...and the tokens it waits for are due at this time (what Retry-After reports). */
  retryAt: number;
}

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
  /** Effective lease size; 0 = no leasing. */
  readonly leaseTokens: number;
  private readonly leaseMs: number;
  private readonly leases: LRUCache<string, Lease> | undefined;
  private readonly leaseScript: ((...args: (string | number)[]) => Promise<unknown>) | undefined;
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(redis: Redis, options: RedisRateLimiterOptions) {
    const opts = parseOptions(schema, options, 'RedisRateLimiter');
    this.name = opts.name;
    this.capacity = opts.capacity;
    this.refillPerSecond = opts.refillPerSecond;
    this.keyPrefix = `${opts.keyPrefix}${opts.name}:`;
    // Time to refill from empty: after that an expired (missing) bucket equals the real one.
    this.ttlMs = Math.max(1000, Math.ceil((opts.capacity / opts.refillPerSecond) * 1000));
    this.script = defineScript(redis, COMMAND, TOKEN_BUCKET_LUA, 1);
    const lease = opts.lease;
    this.leaseMs = lease?.maxAgeMs ?? 0;
    const size = lease ? Math.floor(Math.min(lease.tokens, (opts.refillPerSecond * lease.maxAgeMs) / 1000, opts.capacity / 4)) : 0;
    this.leaseTokens = size >= 2 ? size : 0;
    if (this.leaseTokens > 0 && lease) {
      this.leases = new LRUCache<string, Lease>({ max: lease.maxKeys });
      this.leaseScript = defineScript(redis, LEASE_COMMAND, TOKEN_BUCKET_LEASE_LUA, 1);
    }
  }

  take(key: string, cost = 1): Promise<RateLimitDecision> {
    try {
      checkCost(this.name, cost, this.capacity);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.leases === undefined) return this.takeFromRedis(key, cost);
    // most decisions come from the lease: answered without an async frame of their own
    const local = this.fromLease(key, cost);
    if (local !== undefined) {
      recordDecision(this.name, 'redis', local);
      return Promise.resolve(local);
    }
    return this.takeLeased(key, cost);
  }

  private async takeLeased(key: string, cost: number): Promise<RateLimitDecision> {
    for (;;) {
      const local = this.fromLease(key, cost);
      if (local !== undefined) {
        recordDecision(this.name, 'redis', local);
        return local;
      }
      // one lease request per key at a time: concurrent callers wait for it, then share it
      let pending = this.inflight.get(key);
      if (pending === undefined) {
        pending = this.renewLease(key, cost).finally(() => this.inflight.delete(key));
        this.inflight.set(key, pending);
      }
      await pending;
    }
  }

  /** A decision from the local lease, or undefined when Redis must be asked. */
  private fromLease(key: string, cost: number): RateLimitDecision | undefined {
    const lease = this.leases?.get(key);
    if (lease === undefined) return undefined;
    const now = performance.now();
    if (now >= lease.expiresAt) return undefined;
    if (lease.deniedUntil > now && cost >= lease.deniedCost) {
      return { allowed: false, remaining: 0, retryAfterMs: Math.max(1, Math.ceil(lease.retryAt - now)) };
    }
    if (lease.tokens < cost) return undefined;
    lease.tokens -= cost;
    return { allowed: true, remaining: lease.remaining + Math.floor(lease.tokens), retryAfterMs: 0 };
  }

  private async renewLease(key: string, cost: number): Promise<void> {
    let reply: unknown;
    try {
      reply = await this.leaseScript!(this.keyPrefix + key, String(this.capacity), String(this.refillPerSecond), String(cost), String(this.ttlMs), String(this.leaseTokens));
    } catch (err) {
      metrics.rateLimitDecisions().inc({ name: this.name, decision: 'error' });
      throw err;
    }
    const [granted, remaining, retryAfterMs] = reply as [number, number, number];
    const now = performance.now();
    this.leases!.set(
      key,
      granted >= cost
        ? { tokens: granted, remaining, expiresAt: now + this.leaseMs, deniedUntil: 0, deniedCost: 0, retryAt: 0 }
        : { tokens: 0, remaining, expiresAt: now + this.leaseMs, deniedUntil: now + Math.min(retryAfterMs, this.leaseMs), deniedCost: cost, retryAt: now + retryAfterMs },
    );
  }

  /** One atomic decision in Redis, without a lease. */
  private async takeFromRedis(key: string, cost: number): Promise<RateLimitDecision> {
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
