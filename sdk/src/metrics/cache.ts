import type { Registry } from 'prom-client';
import { cardinalityGuard } from './cardinality.js';
import { defaultRegistry, getOrCreateCounter } from './registry.js';

export const CACHE_REQUESTS = 'cache_requests_total';
/** hit; negative_hit: a cached "does not exist"; miss; error: the level failed (callers treat it as a miss). */
export type CacheResult = 'hit' | 'miss' | 'negative_hit' | 'error';
type CacheLabel = 'cache' | 'level' | 'result';

function count(cache: string, level: string, result: CacheResult, registry: Registry): void {
  const labelNames: CacheLabel[] = ['cache', 'level', 'result'];
  const counter = getOrCreateCounter<CacheLabel>({ name: CACHE_REQUESTS, help: 'Cache lookups by cache name, level (l1 in-process, l2 redis...) and result', labelNames }, registry);
  counter.inc(cardinalityGuard<CacheLabel>(CACHE_REQUESTS, labelNames, undefined, registry).resolve({ cache, level, result }));
}

/**
 * Cache metrics: `cache_requests_total{cache, level, result}`; hit ratio per level is
 * `sum by (level) (rate(cache_requests_total{result="hit"}[5m])) / sum by (level) (rate(cache_requests_total[5m]))`.
 * `cache` and `level` are code-defined constants, e.g. `cacheMetrics.hit('product', 'l1')`.
 */
export const cacheMetrics = {
  hit(cache: string, level: string, registry: Registry = defaultRegistry()): void {
    count(cache, level, 'hit', registry);
  },
  miss(cache: string, level: string, registry: Registry = defaultRegistry()): void {
    count(cache, level, 'miss', registry);
  },
  record(cache: string, level: string, result: CacheResult, registry: Registry = defaultRegistry()): void {
    count(cache, level, result, registry);
  },
};
