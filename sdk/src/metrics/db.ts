import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from './buckets.js';
import { cardinalityGuard } from './cardinality.js';
import { observeWithExemplar } from './exemplars.js';
import { defaultRegistry, getOrCreateHistogram } from './registry.js';

export const DB_DURATION = 'db_client_operation_duration_seconds';
export type DbOutcome = 'success' | 'error';
type DbLabel = 'operation' | 'table' | 'outcome';

function instruments(registry: Registry) {
  const labelNames: DbLabel[] = ['operation', 'table', 'outcome'];
  return {
    histogram: getOrCreateHistogram<DbLabel>(
      { name: DB_DURATION, help: 'Duration of database operations, by operation (select, insert...) and table', labelNames, buckets: LATENCY_BUCKETS_SECONDS, enableExemplars: true },
      registry,
    ),
    guard: cardinalityGuard<DbLabel>(DB_DURATION, labelNames, undefined, registry),
  };
}

/**
 * Database metrics: `db_client_operation_duration_seconds{operation, table, outcome}`.
 * `operation` and `table` must be code-defined constants (`'select'`, `'products'`), never SQL text.
 */
export const dbMetrics = {
  observeQuery(operation: string, table: string, seconds: number, outcome: DbOutcome = 'success', registry: Registry = defaultRegistry()): void {
    const m = instruments(registry);
    observeWithExemplar(m.histogram, m.guard.resolve({ operation, table, outcome }), seconds);
  },
};

/** Runs `fn` and records its duration and outcome as one database operation; returns or rethrows its result. */
export async function timeDb<T>(operation: string, table: string, fn: () => Promise<T> | PromiseLike<T>): Promise<T> {
  const start = performance.now();
  let outcome: DbOutcome = 'error';
  try {
    const result = await fn();
    outcome = 'success';
    return result;
  } finally {
    dbMetrics.observeQuery(operation, table, (performance.now() - start) / 1000, outcome);
  }
}
