import client from 'prom-client';

export type CacheLevel = 'l1' | 'l2' | 'db';
/** hit: value found; negative_hit: a cached "does not exist"; miss: not there; error: the level failed (treated as a miss). */
export type CacheResult = 'hit' | 'miss' | 'negative_hit' | 'error';

// get-or-create against prom-client's global registry: several caches (and app instances in tests) share one process
function counter<L extends string>(name: string, help: string, labelNames: readonly L[]): client.Counter<L> {
  const found = client.register.getSingleMetric(name);
  if (found) return found as client.Counter<L>;
  return new client.Counter<L>({ name, help, labelNames });
}

/** Per-level lookups, under the SDK's cache metric name so dashboards treat every cache alike. */
export function cacheRequestsCounter(): client.Counter<'cache' | 'level' | 'result'> {
  return counter('cache_requests_total', 'Cache lookups by cache, level (l1, l2, db) and result', ['cache', 'level', 'result']);
}

export function cacheInvalidationsCounter(): client.Counter<'cache' | 'source'> {
  return counter('cache_invalidations_total', 'L1 invalidations applied, by cache and source (local, remote via pub/sub, reconnect)', ['cache', 'source']);
}
