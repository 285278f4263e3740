import { getOrCreateCounter, getOrCreateGauge } from '@lantern/sdk';

/** Every answer to a purchase attempt; `not_found` is an unknown sale id, `error` a 5xx (Redis or Postgres unavailable). */
export const ATTEMPT_OUTCOMES = ['accepted', 'sold_out', 'already_purchased', 'rate_limited', 'not_active', 'not_found', 'error'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export const attemptsTotal = getOrCreateCounter<'outcome'>({
  name: 'flash_sale_purchase_attempts_total',
  help: 'Flash-sale purchase attempts by outcome (accepted, sold_out, already_purchased, rate_limited, not_active, not_found, error)',
  labelNames: ['outcome'],
});

/** How a sold-out answer was reached: local flag (no Redis), the Redis script, or Postgres' guard. */
export const soldOutAnswersTotal = getOrCreateCounter<'path'>({
  name: 'flash_sale_sold_out_answers_total',
  help: 'Sold-out answers by the path that decided them (local: no Redis round trip; redis; postgres: the Redis count was stale)',
  labelNames: ['path'],
});

/** Units left per active sale; labels only for sales this instance knows to be active, at most REMAINING_GAUGE_MAX_SALES. */
export const remainingUnits = getOrCreateGauge<'sale_id'>({
  name: 'flash_sale_remaining_units',
  help: 'Units left in each active flash sale (bounded: active sales only)',
  labelNames: ['sale_id'],
});

/** Purchases changing state after they were accepted. */
export const purchaseTransitionsTotal = getOrCreateCounter<'status'>({
  name: 'flash_sale_purchases_total',
  help: 'Flash-sale purchases by the state they reached (queued when accepted, then ordered or failed)',
  labelNames: ['status'],
});

/** Redis counters rebuilt from Postgres (after a flush, a restart or key expiry). */
export const counterRebuildsTotal = getOrCreateCounter({
  name: 'flash_sale_counter_rebuilds_total',
  help: 'Sale counters loaded into Redis from Postgres because they were missing',
});

/** Units given back to a sale's Redis count, by why. */
export const unitsReleasedTotal = getOrCreateCounter<'reason'>({
  name: 'flash_sale_units_released_total',
  help: 'Units given back to a sale: db_failed (Postgres write failed after the Redis hold), refused (Postgres refused it), stale_hold (the request died), purchase_failed (order not created)',
  labelNames: ['reason'],
});

/** Units returned to inventory after sales ended. */
export const unitsReturnedTotal = getOrCreateCounter({
  name: 'flash_sale_units_returned_total',
  help: 'Unsold flash-sale units returned to inventory',
});
