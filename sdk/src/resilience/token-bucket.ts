import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { parseOptions, positiveInt, positiveNumber, toolName } from './config.js';
import { ResilienceConfigError } from './errors.js';
import { metrics, spanEvent } from './telemetry.js';

export interface RateLimitDecision {
  allowed: boolean;
  /** Whole tokens left in the bucket after this decision. */
  remaining: number;
  /** 0 when allowed; otherwise how long until `cost` tokens will be available. */
  retryAfterMs: number;
}

export interface TokenBucketOptions {
  /** Metric label; a code-defined constant like "login-attempts". */
  name: string;
  /** Bucket size: the burst allowed to an idle key. */
  capacity: number;
  /** Sustained rate: tokens added per second. */
  refillPerSecond: number;
  /** Most keys tracked at once; the least recently used is dropped beyond that. Default 10000. */
  maxKeys?: number;
  /** Monotonic clock in ms; injectable for tests. Default performance.now. */
  now?: () => number;
}

const schema = z.object({
  name: toolName,
  capacity: positiveNumber,
  refillPerSecond: positiveNumber,
  maxKeys: positiveInt.default(10_000),
  now: z.custom<() => number>((v) => typeof v === 'function', 'expected a function').default(() => () => performance.now()),
});

interface Bucket {
  tokens: number;
  at: number;
}

/** Shared by both limiters: the cost must be a positive number no larger than the bucket. */
export function checkCost(name: string, cost: number, capacity: number): void {
  if (!(typeof cost === 'number' && Number.isFinite(cost) && cost > 0 && cost <= capacity)) {
    throw new ResilienceConfigError(name, 'cost', `must be > 0 and <= capacity (${capacity}), got ${String(cost)}`);
  }
}

export function recordDecision(name: string, limiterKind: string, d: RateLimitDecision): void {
  metrics.rateLimitDecisions().inc({ name, decision: d.allowed ? 'allowed' : 'denied' });
  if (!d.allowed) {
    spanEvent('ratelimit.denied', { 'ratelimit.name': name, 'ratelimit.kind': limiterKind, 'ratelimit.retry_after_ms': d.retryAfterMs });
  }
}

/**
 * In-process token bucket per key. Memory is bounded by an LRU of `maxKeys` buckets; an idle
 * bucket expires once it would have refilled completely, which loses nothing (a missing bucket
 * is a full one). Under LRU pressure a partly drained bucket can be dropped and so reset to full:
 * size `maxKeys` above the number of keys active within one refill period.
 * Counts ratelimit_decisions_total{name,decision}.
 */
export class TokenBucketLimiter {
  readonly name: string;
  readonly capacity: number;
  readonly refillPerSecond: number;
  private readonly now: () => number;
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(options: TokenBucketOptions) {
    const opts = parseOptions(schema, options, 'TokenBucketLimiter');
    this.name = opts.name;
    this.capacity = opts.capacity;
    this.refillPerSecond = opts.refillPerSecond;
    this.now = opts.now;
    const fullRefillMs = Math.ceil((opts.capacity / opts.refillPerSecond) * 1000);
    this.buckets = new LRUCache<string, Bucket>({ max: opts.maxKeys, ttl: Math.max(1, fullRefillMs) });
  }

  take(key: string, cost = 1): RateLimitDecision {
    checkCost(this.name, cost, this.capacity);
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    const elapsedMs = Math.max(0, now - bucket.at);
    let tokens = Math.min(this.capacity, bucket.tokens + (elapsedMs * this.refillPerSecond) / 1000);
    let decision: RateLimitDecision;
    if (tokens >= cost) {
      tokens -= cost;
      decision = { allowed: true, remaining: Math.floor(tokens), retryAfterMs: 0 };
    } else {
      decision = { allowed: false, remaining: Math.floor(tokens), retryAfterMs: Math.ceil(((cost - tokens) * 1000) / this.refillPerSecond) };
    }
    this.buckets.set(key, { tokens, at: now });
    recordDecision(this.name, 'memory', decision);
    return decision;
  }
}
