import { LATENCY_BUCKETS_SECONDS, cardinalityGuard, getOrCreateCounter, getOrCreateGauge, getOrCreateHistogram, observeWithExemplar } from '@lantern/sdk';

/** How a reservation request ended. `replayed`: the same request again, answered from the stored reservation. */
export type ReserveOutcome = 'reserved' | 'insufficient' | 'conflict' | 'error' | 'replayed';
/** Which gate decided: Redis then Postgres (the normal path), or Postgres alone. */
export type ReservePath = 'redis' | 'postgres_only';
/** Why a request went to Postgres alone. */
export type FallbackReason = 'redis_unavailable' | 'redis_key_missing' | 'redis_low' | 'holds_in_flight';

export const reservationsTotal = getOrCreateCounter({
  name: 'inventory_reservations_total',
  help: 'Reservation requests (orders and flash-sale allocations) by outcome',
  labelNames: ['kind', 'outcome'] as const,
});

export const reserveDuration = getOrCreateHistogram({
  name: 'inventory_reserve_duration_seconds',
  help: 'Time to decide a reservation request, by kind and outcome',
  labelNames: ['kind', 'outcome'] as const,
  buckets: LATENCY_BUCKETS_SECONDS,
  enableExemplars: true,
});

export const reservePathTotal = getOrCreateCounter({
  name: 'inventory_reserve_path_total',
  help: 'Reservation attempts by the gate that decided them (redis = Redis Lua hold, then Postgres)',
  labelNames: ['path'] as const,
});

export const redisFallbackTotal = getOrCreateCounter({
  name: 'inventory_redis_fallback_total',
  help: 'Reservation attempts decided by Postgres alone, by reason',
  labelNames: ['reason'] as const,
});

/** Redis said yes, Postgres said no: the Redis hold was undone (Redis had more than the truth). */
export const gateUndoneTotal = getOrCreateCounter({
  name: 'inventory_redis_hold_undone_total',
  help: 'Redis holds undone because Postgres refused the reservation or failed',
  labelNames: ['reason'] as const,
});

export const reservationTransitionsTotal = getOrCreateCounter({
  name: 'inventory_reservation_transitions_total',
  help: 'Reservations leaving the reserved state, by new status (confirmed, released, expired)',
  labelNames: ['status'] as const,
});

export const driftUnits = getOrCreateGauge({
  name: 'inventory_redis_drift_units',
  help: 'Units by which Redis differed from Postgres (summed over products, missing keys counting their full value) at the last full reconciliation, before it repaired them',
});

export const driftDetectedUnitsTotal = getOrCreateCounter({
  name: 'inventory_redis_drift_detected_units_total',
  help: 'Units of drift between Redis and Postgres found by every reconciliation (full and targeted)',
});

export const redisRepairsTotal = getOrCreateCounter({
  name: 'inventory_redis_repairs_total',
  help: 'Products whose Redis stock the reconciler rewrote, by kind (missing key, mismatched value)',
  labelNames: ['kind'] as const,
});

export const reconcileRunsTotal = getOrCreateCounter({
  name: 'inventory_reconcile_runs_total',
  help: 'Reconciliation runs by scope (full, targeted) and outcome (ok, error)',
  labelNames: ['scope', 'outcome'] as const,
});

export const reconcileDeferredTotal = getOrCreateCounter({
  name: 'inventory_reconcile_deferred_total',
  help: 'Products left for the next reconciliation because they kept changing while being reconciled',
});

export const lowStockEventsTotal = getOrCreateCounter({
  name: 'inventory_low_stock_events_total',
  help: 'inventory.low_stock events written to the outbox (one per downward crossing of the threshold)',
});

export const expiredSweptTotal = getOrCreateCounter({
  name: 'inventory_reservations_expired_total',
  help: 'Reservations released by the expiry sweeper',
});

const STOCK_LEVEL = 'inventory_stock_level';
const stockLevel = getOrCreateGauge({
  name: STOCK_LEVEL,
  help: 'Units available to sell (on hand minus reserved minus allocated to flash sales), per SKU',
  labelNames: ['sku'] as const,
});

/**
 * Per-SKU stock gauge, bounded by the SDK's cardinality guard: the catalogue is finite, so the limit
 * sits above its SKU count (STOCK_GAUGE_MAX_SKUS); anything beyond folds into `__overflow__`.
 */
export class StockLevelGauge {
  private readonly guard;
  constructor(limit: number) {
    this.guard = cardinalityGuard<'sku'>(STOCK_LEVEL, ['sku'], limit);
  }
  set(sku: string, available: number): void {
    stockLevel.set(this.guard.resolveKey(sku, () => ({ sku })), available);
  }
}

/** Records one reservation decision: counter and latency with the active trace as exemplar. */
export function recordReserve(kind: 'order' | 'allocation', outcome: ReserveOutcome, seconds: number): void {
  reservationsTotal.inc({ kind, outcome });
  observeWithExemplar(reserveDuration, { kind, outcome }, seconds);
}
