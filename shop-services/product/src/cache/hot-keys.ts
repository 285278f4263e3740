import type { Redis } from 'ioredis';
import { silentLogger, type CacheLogger } from './logger.js';

export interface HotKeysOptions {
  redis: Redis;
  /** Redis key of the sorted set, e.g. "shop:product:views". */
  key: string;
  /** The set is trimmed to this many members, so it cannot grow without bound. */
  maxMembers?: number;
  /** Views are counted in memory and added to Redis this often (ms); default 1000. */
  flushIntervalMs?: number;
  logger?: CacheLogger;
}

/** Trim the sorted set on every Nth flush: ZREMRANGEBYRANK is O(log N + removed), no need each time. */
const TRIM_EVERY_FLUSHES = 10;

/**
 * Popularity ranking in a Redis sorted set, shared by every instance; a starting instance warms its
 * cache with the top N so the first requests after a deploy do not all miss.
 *
 * Views are summed in memory and sent as one pipeline of ZINCRBY per distinct product every
 * flushIntervalMs, not one command per view: on the hot read path a Redis write per request cost
 * more than serving the product from L1 (catalog-read bench). The ranking lags by at most one
 * interval, which warming at start-up does not notice. Counts that fail to reach Redis are kept for
 * the next flush (up to maxMembers distinct products, beyond which new ones are not counted).
 */
export class HotKeys {
  private readonly logger: CacheLogger;
  private readonly maxMembers: number;
  private pending = new Map<string, number>();
  private flushes = 0;
  private inFlight: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: HotKeysOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.maxMembers = opts.maxMembers ?? 10_000;
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 1000);
    // the timer alone must not keep a process alive; close() flushes what is left
    this.timer.unref();
  }

  /** Counts a view; synchronous and allocation-light, as it runs on every product read. */
  record(member: string): void {
    this.add(member, 1);
  }

  private add(member: string, views: number): void {
    const n = this.pending.get(member);
    if (n !== undefined) this.pending.set(member, n + views);
    else if (this.pending.size < this.maxMembers) this.pending.set(member, views);
  }

  /** Sends the counted views to Redis now. Never rejects: a failed flush keeps its counts for the next. */
  flush(): Promise<void> {
    // one flush at a time, so counts kept after a failure are not sent twice
    this.inFlight ??= this.send().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async send(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const { redis, key } = this.opts;
    const pipeline = redis.pipeline();
    for (const [member, views] of batch) pipeline.zincrby(key, views, member);
    if (++this.flushes % TRIM_EVERY_FLUSHES === 0) pipeline.zremrangebyrank(key, 0, -(this.maxMembers + 1));
    try {
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err !== null);
      if (failed) throw failed[0];
    } catch (err) {
      // a pipeline is not atomic: a partial failure may re-add a few views, never lose them
      for (const [member, views] of batch) this.add(member, views);
      this.logger.warn({ err: (err as Error).message, products: batch.size }, 'recording product views failed; retrying at the next flush');
    }
  }

  async top(n: number): Promise<string[]> {
    if (n <= 0) return [];
    return this.opts.redis.zrevrange(this.opts.key, 0, n - 1);
  }

  async remove(member: string): Promise<void> {
    this.pending.delete(member);
    await this.opts.redis.zrem(this.opts.key, member);
  }

  /** Stops the timer and sends the last views. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
