import { getOrCreateCounter, getOrCreateGauge } from '@lantern/sdk';

/** Transitions into each status (the 8 statuses of the state machine: bounded). */
export const ordersTotal = getOrCreateCounter({
  name: 'orders_total',
  help: 'Orders that entered each status',
  labelNames: ['status'] as const,
});

/** Orders currently in each status, refreshed from Postgres (so it is right across instances and restarts). */
export const ordersInState = getOrCreateGauge({
  name: 'orders_in_state',
  help: 'Orders currently in each status (from Postgres, refreshed periodically)',
  labelNames: ['status'] as const,
});

/** Revenue of paid orders in minor units; currency comes from the catalogue (a handful of ISO codes). */
export const revenueCentsTotal = getOrCreateCounter({
  name: 'order_revenue_cents_total',
  help: 'Revenue of orders that reached paid, in cents, by currency',
  labelNames: ['currency'] as const,
});

/** Outcome of every saga step: reserve, payment, confirm, release, flash_sale_consume. */
export const sagaStepsTotal = getOrCreateCounter({
  name: 'order_saga_steps_total',
  help: 'Order saga steps by step and outcome (succeeded, failed, pending, unknown)',
  labelNames: ['step', 'outcome'] as const,
});

/** Durable scheduler runs by job kind and outcome (done, rescheduled, failed). */
export const jobsTotal = getOrCreateCounter({
  name: 'order_scheduled_jobs_total',
  help: 'Scheduled job runs by kind and outcome',
  labelNames: ['kind', 'outcome'] as const,
});

/** Jobs waiting in scheduled_jobs, by kind (refreshed with orders_in_state). */
export const jobsPending = getOrCreateGauge({
  name: 'order_scheduled_jobs_pending',
  help: 'Jobs waiting in the durable scheduler, by kind',
  labelNames: ['kind'] as const,
});

/** Idempotency-Key outcomes: created (first use), replayed (same body), conflict (other body). */
export const idempotencyTotal = getOrCreateCounter({
  name: 'order_idempotency_requests_total',
  help: 'Order requests carrying an Idempotency-Key, by outcome',
  labelNames: ['outcome'] as const,
});

/** A payment that succeeded after its order left `reserved` (expired, cancelled): refunded by a durable job. */
export const latePaymentsTotal = getOrCreateCounter({
  name: 'order_late_payments_total',
  help: 'Successful payments for orders no longer awaiting payment',
});

/** The refunds of late payments: refunded, or failed (payment refused it for good: a person must look). */
export const lateRefundsTotal = getOrCreateCounter({
  name: 'order_late_payment_refunds_total',
  help: 'Automatic refunds of payments that succeeded after their order left reserved, by outcome',
  labelNames: ['outcome'] as const,
});
