import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { InvalidationBus } from './invalidation.js';
import { jitteredTtl } from './jitter.js';
import { silentLogger, type CacheLogger } from './logger.js';
import { cacheInvalidationsCounter, cacheRequestsCounter, type CacheLevel, type CacheResult } from './metrics.js';
import { SingleFlight } from './single-flight.js';

/** Stored in L2 for ids the loader reported missing, so they do not reach the database every time. */
const NEGATIVE = '\u0000missing';

export interface MultiLevelCacheOptions<V> {
  /** Cache name: metric label, pub/sub routing and part of the Redis key. */
  name: string;
  redis: Redis;
  /** Prefix of every Redis key, e.g. "shop:product:" (tests use a unique one per run). */
  keyPrefix: string;
  /** Loads one value from the source of truth; undefined means "does not exist". */
  load: (key: string) => Promise<V | undefined>;
  /** Optional batch loader, used by warm(). */
  loadMany?: (keys: string[]) => Promise<Map<string, V>>;
  /** Without a bus, invalidations only reach this instance's L1. */
  bus?: InvalidationBus;
  l1Max?: number;
  /** L1 TTL is short: it bounds staleness should an invalidation message be lost. */
  l1TtlMs?: number;
  l2TtlSeconds?: number;
  negativeTtlSeconds?: number;
  /** TTLs vary by ± this fraction (against avalanche). */
  jitterRatio?: number;
  /** Delay of the second delete after an invalidation (double delete). */
  doubleDeleteDelayMs?: number;
  encode?: (value: V) => string;
  decode?: (raw: string) => V;
  logger?: CacheLogger;
}

type Entry<V> = { value: V } | { missing: true };

export type LevelStats = Record<CacheResult, number>;
export type CacheStats = Record<CacheLevel, LevelStats>;

const emptyLevel = (): LevelStats => ({ hit: 0, miss: 0, negative_hit: 0, error: 0 });

/**
 * Cache-aside over two levels: L1 in-process LRU, L2 Redis, then the loader.
 * - TTLs carry random jitter (avalanche); misses are cached as negative entries (penetration);
 * - concurrent misses for one key share one L2 read and one load (stampede);
 * - invalidate() deletes L2, broadcasts to every instance's L1, and repeats both after a delay
 *   (double delete), because a reader that loaded the old row just before the write may store it
 *   after the first delete;
 * - a load that overlapped an invalidation of its key returns its value but does not cache it.
 * Redis failures degrade to the loader (counted as level=l2 result=error), never to an error.
 */
export class MultiLevelCache<V> {
  readonly name: string;
  private readonly l1: LRUCache<string, Entry<V>>;
  private readonly flight = new SingleFlight<V | undefined>();
  /** Loads in progress, flagged when their key is invalidated meanwhile. */
  private readonly pending = new Map<string, { invalidated: boolean }>();
  private readonly timers = new Set<{ timer: NodeJS.Timeout; run: () => Promise<void> }>();
  private readonly stats: CacheStats = { l1: emptyLevel(), l2: emptyLevel(), db: emptyLevel() };
  private readonly requests = cacheRequestsCounter();
  private readonly invalidations = cacheInvalidationsCounter();
  private readonly logger: CacheLogger;
  private readonly l1TtlMs: number;
  private readonly l2TtlSeconds: number;
  private readonly negativeTtlSeconds: number;
  private readonly jitterRatio: number;
  private readonly doubleDeleteDelayMs: number;
  private readonly encode: (value: V) => string;
  private readonly decode: (raw: string) => V;

  constructor(private readonly opts: MultiLevelCacheOptions<V>) {
    this.name = opts.name;
    this.logger = opts.logger ?? silentLogger;
    this.l1TtlMs = opts.l1TtlMs ?? 30_000;
    this.l2TtlSeconds = opts.l2TtlSeconds ?? 300;
    this.negativeTtlSeconds = opts.negativeTtlSeconds ?? 30;
    this.jitterRatio = opts.jitterRatio ?? 0.1;
    this.doubleDeleteDelayMs = opts.doubleDeleteDelayMs ?? 500;
    this.encode = opts.encode ?? ((v) => JSON.stringify(v));
    this.decode = opts.decode ?? ((raw) => JSON.parse(raw) as V);
    this.l1 = new LRUCache<string, Entry<V>>({ max: opts.l1Max ?? 10_000, ttl: this.l1TtlMs, ttlAutopurge: false });
    opts.bus?.register(this.name, {
      onKeys: (keys) => this.dropLocal(keys, 'remote'),
      onReset: () => this.resetLocal(),
    });
  }

  /** The value for `key`, or undefined if the loader says it does not exist. */
  async get(key: string): Promise<V | undefined> {
    const local = this.l1.get(key);
    if (local) {
      if ('missing' in local) {
        this.count('l1', 'negative_hit');
        return undefined;
      }
      this.count('l1', 'hit');
      return local.value;
    }
    this.count('l1', 'miss');
    return this.flight.do(key, () => this.fromL2OrLoad(key));
  }

  /**
   * Drops keys everywhere after the source of truth changed: this L1, L2, every other instance's L1;
   * then again after doubleDeleteDelayMs. Never throws: the write already happened, and a failed
   * delete is retried by the delayed one (and bounded by the TTLs).
   */
  async invalidate(keys: string | string[]): Promise<void> {
    const list = Array.isArray(keys) ? keys : [keys];
    if (list.length === 0) return;
    await this.deleteEverywhere(list);
    const entry = {
      timer: undefined as unknown as NodeJS.Timeout,
      run: async () => {
        this.timers.delete(entry);
        await this.deleteEverywhere(list);
      },
    };
    entry.timer = setTimeout(() => void entry.run(), this.doubleDeleteDelayMs);
    entry.timer.unref();
    this.timers.add(entry);
  }

  /** Fills L1 and L2 for `keys` (start-up warming of hot products). Returns how many were found. */
  async warm(keys: string[]): Promise<number> {
    const wanted = keys.filter((k) => !this.l1.has(k));
    if (wanted.length === 0) return 0;
    let found = 0;
    const missing: string[] = [];
    try {
      const raws = await this.opts.redis.mget(wanted.map((k) => this.l2Key(k)));
      wanted.forEach((k, i) => {
        const raw = raws[i];
        if (raw === null || raw === undefined || raw === NEGATIVE) missing.push(k);
        else {
          this.l1.set(k, { value: this.decode(raw) }, { ttl: this.l1Ttl() });
          found++;
        }
      });
    } catch (err) {
      this.logger.warn({ cache: this.name, err: (err as Error).message }, 'cache warm: L2 read failed');
      missing.push(...wanted);
    }
    if (missing.length === 0) return found;
    const loaded = this.opts.loadMany ? await this.opts.loadMany(missing) : await this.loadEach(missing);
    for (const [k, v] of loaded) {
      this.l1.set(k, { value: v }, { ttl: this.l1Ttl() });
      await this.writeL2(k, v);
      found++;
    }
    return found;
  }

  /** Counts since creation, per level and result (tests, benchmarks). */
  snapshot(): CacheStats {
    return { l1: { ...this.stats.l1 }, l2: { ...this.stats.l2 }, db: { ...this.stats.db } };
  }

  /** Whether L1 holds an entry (positive or negative) for key. */
  inL1(key: string): boolean {
    return this.l1.has(key);
  }

  l2Key(key: string): string {
    return `${this.opts.keyPrefix}${this.name}:${key}`;
  }

  /** Runs pending delayed deletes now and stops the timers. */
  async close(): Promise<void> {
    const entries = [...this.timers];
    for (const e of entries) clearTimeout(e.timer);
    await Promise.all(entries.map((e) => e.run()));
  }

  private async fromL2OrLoad(key: string): Promise<V | undefined> {
    const token = { invalidated: false };
    this.pending.set(key, token);
    try {
      let raw: string | null = null;
      try {
        raw = await this.opts.redis.get(this.l2Key(key));
        this.count('l2', raw === null ? 'miss' : raw === NEGATIVE ? 'negative_hit' : 'hit');
      } catch (err) {
        this.count('l2', 'error');
        this.logger.warn({ cache: this.name, err: (err as Error).message }, 'L2 read failed; loading from the source');
      }
      if (raw === NEGATIVE) {
        if (!token.invalidated) this.l1.set(key, { missing: true }, { ttl: this.negativeL1Ttl() });
        return undefined;
      }
      if (raw !== null) {
        const value = this.decode(raw);
        if (!token.invalidated) this.l1.set(key, { value }, { ttl: this.l1Ttl() });
        return value;
      }
      const value = await this.opts.load(key);
      this.count('db', value === undefined ? 'miss' : 'hit');
      if (!token.invalidated) {
        if (value === undefined) {
          this.l1.set(key, { missing: true }, { ttl: this.negativeL1Ttl() });
          await this.writeL2Negative(key);
        } else {
          this.l1.set(key, { value }, { ttl: this.l1Ttl() });
          await this.writeL2(key, value);
        }
      }
      return value;
    } finally {
      this.pending.delete(key);
    }
  }

  private async loadEach(keys: string[]): Promise<Map<string, V>> {
    const out = new Map<string, V>();
    for (const k of keys) {
      const v = await this.opts.load(k);
      if (v !== undefined) out.set(k, v);
    }
    return out;
  }

  private async writeL2(key: string, value: V): Promise<void> {
    try {
      await this.opts.redis.set(this.l2Key(key), this.encode(value), 'EX', jitteredTtl(this.l2TtlSeconds, this.jitterRatio));
    } catch (err) {
      this.logger.warn({ cache: this.name, err: (err as Error).message }, 'L2 write failed');
    }
  }

  private async writeL2Negative(key: string): Promise<void> {
    try {
      await this.opts.redis.set(this.l2Key(key), NEGATIVE, 'EX', jitteredTtl(this.negativeTtlSeconds, this.jitterRatio));
    } catch (err) {
      this.logger.warn({ cache: this.name, err: (err as Error).message }, 'L2 negative write failed');
    }
  }

  private async deleteEverywhere(keys: string[]): Promise<void> {
    this.dropLocal(keys, 'local');
    try {
      await this.opts.redis.del(...keys.map((k) => this.l2Key(k)));
    } catch (err) {
      this.logger.error({ cache: this.name, err: (err as Error).message, keys: keys.length }, 'L2 invalidation failed');
    }
    try {
      await this.opts.bus?.publish(this.name, keys);
    } catch (err) {
      this.logger.error({ cache: this.name, err: (err as Error).message, keys: keys.length }, 'L1 invalidation broadcast failed');
    }
  }

  private dropLocal(keys: string[], source: 'local' | 'remote'): void {
    for (const k of keys) {
      this.l1.delete(k);
      const p = this.pending.get(k);
      if (p) p.invalidated = true;
    }
    this.invalidations.inc({ cache: this.name, source }, keys.length);
  }

  private resetLocal(): void {
    this.l1.clear();
    for (const p of this.pending.values()) p.invalidated = true;
    this.invalidations.inc({ cache: this.name, source: 'reset' });
  }

  private l1Ttl(): number {
    return jitteredTtl(this.l1TtlMs, this.jitterRatio);
  }

  private negativeL1Ttl(): number {
    return Math.min(this.l1Ttl(), jitteredTtl(this.negativeTtlSeconds * 1000, this.jitterRatio));
  }

  private count(level: CacheLevel, result: CacheResult): void {
    this.stats[level][result]++;
    this.requests.inc({ cache: this.name, level, result });
  }
}
