import type { Counter } from 'prom-client';
import { CACHE_REQUESTS, getOrCreateCounter } from '@lantern/sdk';

export type CacheLevel = 'l1' | 'l2' | 'db';
/** hit: value found; negative_hit: a cached "does not exist"; miss: not there; error: the level failed (treated as a miss). */
export type CacheResult = 'hit' | 'miss' | 'negative_hit' | 'error';

/**
 * Per-level lookups under the SDK's cache metric (`cache_requests_total{cache, level, result}`), so
 * dashboards treat every cache alike. Labels are bounded: cache names are constants, 3 levels, 4 results.
 */
export function cacheRequestsCounter(): Counter<'cache' | 'level' | 'result'> {
  return getOrCreateCounter({ name: CACHE_REQUESTS, help: 'Cache lookups by cache name, level (l1 in-process, l2 redis, db) and result', labelNames: ['cache', 'level', 'result'] });
}

export function cacheInvalidationsCounter(): Counter<'cache' | 'source'> {
  return getOrCreateCounter({ name: 'cache_invalidations_total', help: 'L1 invalidations applied, by cache and source (local, remote via pub/sub, reset after a reconnect)', labelNames: ['cache', 'source'] });
}
