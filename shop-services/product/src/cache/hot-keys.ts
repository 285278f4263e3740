import type { Redis } from 'ioredis';
import { silentLogger, type CacheLogger } from './logger.js';

export interface HotKeysOptions {
  redis: Redis;
  /** Redis key of the sorted set, e.g. "shop:product:views". */
  key: string;
  /** The set is trimmed to this many members, so it cannot grow without bound. */
  maxMembers?: number;
  logger?: CacheLogger;
}

/**
 * Popularity ranking in a Redis sorted set (ZINCRBY per view), shared by every instance; a starting
 * instance warms its cache with the top N so the first requests after a deploy do not all miss.
 */
export class HotKeys {
  private readonly logger: CacheLogger;
  private readonly maxMembers: number;
  private views = 0;

  constructor(private readonly opts: HotKeysOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.maxMembers = opts.maxMembers ?? 10_000;
  }

  /** Counts a view. Fire-and-forget: a Redis hiccup must not fail the request it is counting. */
  record(member: string): void {
    const trim = ++this.views % 1000 === 0;
    const p = trim
      ? this.opts.redis.multi().zincrby(this.opts.key, 1, member).zremrangebyrank(this.opts.key, 0, -(this.maxMembers + 1)).exec()
      : this.opts.redis.zincrby(this.opts.key, 1, member);
    p.catch((err: Error) => this.logger.warn({ err: err.message }, 'recording a product view failed'));
  }

  async top(n: number): Promise<string[]> {
    if (n <= 0) return [];
    return this.opts.redis.zrevrange(this.opts.key, 0, n - 1);
  }

  async remove(member: string): Promise<void> {
    await this.opts.redis.zrem(this.opts.key, member);
  }
}
