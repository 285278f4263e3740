import { trace } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import { getOrCreateCounter, getOrCreateGauge, getOrCreateHistogram } from '../metrics/registry.js';

/**
 * Metrics for every resilience tool. Created lazily (first use) through the SDK's get-or-create
 * helpers, so importing the SDK registers nothing and repeated creation is harmless.
 * Label `name` is the tool's `name` option: keep it a code-defined constant, never user input.
 */
export const metrics = {
  retryAttempts: () =>
    getOrCreateCounter({
      name: 'resilience_retry_attempts_total',
      help: 'Attempts made by retry(), by outcome: success | retry (failed, will retry) | exhausted (failed, out of attempts) | non_retryable | aborted',
      labelNames: ['name', 'outcome'],
    }),
  timeouts: () =>
    getOrCreateCounter({ name: 'resilience_timeouts_total', help: 'Calls that hit withTimeout()', labelNames: ['name'] }),
  circuitState: () =>
    getOrCreateGauge({
      name: 'resilience_circuit_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      labelNames: ['name'],
    }),
  circuitTransitions: () =>
    getOrCreateCounter({
      name: 'resilience_circuit_transitions_total',
      help: 'Circuit breaker state transitions, by target state (closed | half-open | open)',
      labelNames: ['name', 'to'],
    }),
  circuitRejections: () =>
    getOrCreateCounter({
      name: 'resilience_circuit_rejections_total',
      help: 'Calls rejected with CircuitOpenError without being made',
      labelNames: ['name'],
    }),
  bulkheadRejections: () =>
    getOrCreateCounter({
      name: 'resilience_bulkhead_rejections_total',
      help: 'Calls rejected because the bulkhead and its queue were full',
      labelNames: ['name'],
    }),
  rateLimitDecisions: () =>
    getOrCreateCounter({
      name: 'ratelimit_decisions_total',
      help: 'Rate limiter decisions: allowed | denied | error (Redis unavailable; the call threw)',
      labelNames: ['name', 'decision'],
    }),
  lockAcquisitions: () =>
    getOrCreateCounter({
      name: 'resilience_lock_acquisitions_total',
      help: 'Redis lock acquisition attempts (a whole acquire() call), by outcome: acquired | timeout | error',
      labelNames: ['name', 'outcome'],
    }),
  lockHold: () =>
    getOrCreateHistogram({
      name: 'resilience_lock_hold_seconds',
      help: 'How long a Redis lock was held, from acquisition to release or loss',
      labelNames: ['name'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
    }),
  lockRenewFailures: () =>
    getOrCreateCounter({
      name: 'resilience_lock_renew_failures_total',
      help: 'Redis lock renewals that failed: the lock was no longer ours (lost) or Redis errored',
      labelNames: ['name', 'reason'],
    }),
};

/** Adds an event to the active span, if any. Cheap no-op outside a trace. */
export function spanEvent(event: string, attributes: Attributes): void {
  trace.getActiveSpan()?.addEvent(event, attributes);
}

/** A short, bounded description of an error for span attributes (never the payload). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.name} ${code}` : err.name;
  }
  return typeof err;
}
