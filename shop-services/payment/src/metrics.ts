import { getOrCreateCounter, getOrCreateHistogram, LATENCY_BUCKETS_SECONDS } from '@lantern/sdk';

// Every label value below is a code-defined constant or a configured channel name (card, wallet,
// bank): never an id, so cardinality stays bounded.

/**
 * One observation per call to a payment channel (charges and refunds), as docs/runbooks.md specifies:
 * outcome success | declined (the channel answered no) | error (timeout, unavailable, no answer).
 * PaymentChannelFailing reads it. Calls refused by the channel's open breaker are not calls.
 */
export const channelRequestDuration = getOrCreateHistogram({
  name: 'payment_channel_request_duration_seconds',
  help: 'Duration of calls to payment channels, by channel and outcome (success, declined, error)',
  labelNames: ['channel', 'outcome'] as const,
  buckets: LATENCY_BUCKETS_SECONDS,
  enableExemplars: true,
});

/** Final (or pending) outcome of each payment intent; channel "none" when no channel answered. */
export const paymentsTotal = getOrCreateCounter({
  name: 'payments_total',
  help: 'Payment intents by the channel that answered and their outcome (succeeded, failed, pending)',
  labelNames: ['channel', 'status'] as const,
});

/** Moving to the next channel after one failed (errors only; declines never fail over). */
export const failoversTotal = getOrCreateCounter({
  name: 'payment_failovers_total',
  help: 'Charges moved on to the next channel after an error, by the channel that failed',
  labelNames: ['channel'] as const,
});

/**
 * Lookups of an unanswered attempt's reference at its channel, before failing over: outcome
 * succeeded | pending | declined (the channel had answered after all: no failover), none (no record,
 * and the channel will never charge it now: failover) or error (the lookup failed: the payment is
 * left undecided for recovery, no failover).
 */
export const failoverLookupsTotal = getOrCreateCounter({
  name: 'payment_failover_lookups_total',
  help: 'Lookups of an unanswered charge at its channel before failing over, by channel and outcome (succeeded, pending, declined, none, error)',
  labelNames: ['channel', 'outcome'] as const,
});

/**
 * Lookups of an unanswered refund's reference at its channel: outcome succeeded | rejected (the
 * channel had answered after all), none (no record, and the channel will never refund it now: the
 * refund fails and its reservation is released) or error (the lookup failed: the refund is left
 * undecided, its amount reserved, for recovery).
 */
export const refundLookupsTotal = getOrCreateCounter({
  name: 'payment_refund_lookups_total',
  help: 'Lookups of an unanswered refund at its channel, by channel and outcome (succeeded, rejected, none, error)',
  labelNames: ['channel', 'outcome'] as const,
});

/** Refunds by their final outcome; one left undecided is counted once recovery settles it. */
export const refundsTotal = getOrCreateCounter({
  name: 'payment_refunds_total',
  help: 'Refunds by channel and outcome (succeeded, rejected, failed)',
  labelNames: ['channel', 'outcome'] as const,
});

export const refundedCentsTotal = getOrCreateCounter({
  name: 'payment_refunded_cents_total',
  help: 'Money refunded, in minor units, by currency',
  labelNames: ['currency'] as const,
});

/** Provider callbacks: applied, replayed (event id seen before), ignored (unknown reference or final state), rejected (bad signature). */
export const callbacksTotal = getOrCreateCounter({
  name: 'payment_callbacks_total',
  help: 'Provider callbacks by channel and outcome (applied, replayed, ignored, rejected)',
  labelNames: ['channel', 'outcome'] as const,
});

export const reconciliationMismatchesTotal = getOrCreateCounter({
  name: 'payment_reconciliation_mismatches_total',
  help: 'New disagreements between the ledger and a channel, by channel and kind',
  labelNames: ['channel', 'kind'] as const,
});

export const reconciliationRunsTotal = getOrCreateCounter({
  name: 'payment_reconciliation_runs_total',
  help: 'Reconciliation runs by outcome (completed, skipped: another instance held the lock, failed)',
  labelNames: ['outcome'] as const,
});
