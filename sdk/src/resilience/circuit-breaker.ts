import {
  CircuitState,
  ConsecutiveBreaker,
  SamplingBreaker,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
} from 'cockatiel';
import type { IBreaker } from 'cockatiel';
import { z } from 'zod';
import { isDependencyFailure } from './classify.js';
import { parseOptions, positiveInt, positiveNumber, predicate, toolName } from './config.js';
import { CircuitOpenError } from './errors.js';
import { describeError, metrics, spanEvent } from './telemetry.js';

export type CircuitStateName = 'closed' | 'half-open' | 'open';

/** Value of the resilience_circuit_state gauge for each state. */
export const CIRCUIT_STATE_VALUE: Readonly<Record<CircuitStateName, number>> = { closed: 0, 'half-open': 1, open: 2 };

export interface CircuitBreakerOptions {
  /** Metric label and span attribute; a code-defined constant like "payments-api". */
  name: string;
  /** Open after this many consecutive failures. Default 5. Ignored when `sampling` is set. */
  failureThreshold?: number;
  /** Ratio-based instead: open when more than `threshold` (0..1) of calls in the last `durationMs` failed. */
  sampling?: {
    threshold: number;
    durationMs: number;
    /** Don't open below this call rate (calls per second), so a few failures at low traffic don't trip it. */
    minimumRps?: number;
  };
  /** How long to stay open before letting one trial call through. Default 10000 ms. */
  halfOpenAfterMs?: number;
  /** Which errors count against the dependency. Default {@link isDependencyFailure} (not 4xx, not aborts). */
  isFailure?: (err: unknown) => boolean;
}

export type StateChangeListener = (to: CircuitStateName, from: CircuitStateName) => void;

export interface CircuitBreaker {
  /**
   * Runs `fn` unless the circuit is open. While open, and while a half-open trial call is in
   * flight, rejects with {@link CircuitOpenError} without calling `fn` (fail fast; nobody queues
   * behind the trial). `signal`, if given, is passed through to `fn`.
   */
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
  readonly state: CircuitStateName;
  /** Subscribes to transitions; returns an unsubscribe function. */
  onStateChange(cb: StateChangeListener): () => void;
}

const schema = z.object({
  name: toolName,
  failureThreshold: positiveInt.default(5),
  sampling: z
    .object({
      threshold: z.number().gt(0).lt(1),
      durationMs: positiveNumber,
      minimumRps: positiveNumber.optional(),
    })
    .optional(),
  halfOpenAfterMs: positiveNumber.default(10_000),
  isFailure: predicate.default(() => isDependencyFailure),
});

function stateName(state: CircuitState): CircuitStateName {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.HalfOpen:
      return 'half-open';
    default: // Open, Isolated
      return 'open';
  }
}

/**
 * A circuit breaker (cockatiel's policy underneath) with metrics: resilience_circuit_state{name}
 * gauge (0 closed, 1 half-open, 2 open), resilience_circuit_transitions_total{name,to},
 * resilience_circuit_rejections_total{name}; span events "resilience.circuit.transition" and
 * "resilience.circuit.rejected" on the span of the call that caused them.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const opts = parseOptions(schema, options, 'createCircuitBreaker');
  const { name, halfOpenAfterMs } = opts;
  const breaker: IBreaker = opts.sampling
    ? new SamplingBreaker({
        threshold: opts.sampling.threshold,
        duration: opts.sampling.durationMs,
        ...(opts.sampling.minimumRps !== undefined ? { minimumRps: opts.sampling.minimumRps } : {}),
      })
    : new ConsecutiveBreaker(opts.failureThreshold);
  const policy = circuitBreaker(handleWhen((err) => opts.isFailure(err)), { breaker, halfOpenAfter: halfOpenAfterMs });

  const gauge = metrics.circuitState();
  const transitions = metrics.circuitTransitions();
  const rejections = metrics.circuitRejections();
  const listeners = new Set<StateChangeListener>();
  let state: CircuitStateName = 'closed';
  let openedAt = 0;
  gauge.set({ name }, CIRCUIT_STATE_VALUE.closed);

  // cockatiel emits synchronously inside execute(), so the active span is the triggering call's.
  policy.onStateChange((next) => {
    const from = state;
    const to = stateName(next);
    if (to === from) return;
    state = to;
    if (to === 'open') openedAt = Date.now();
    gauge.set({ name }, CIRCUIT_STATE_VALUE[to]);
    transitions.inc({ name, to });
    const last = policy.lastFailure;
    spanEvent('resilience.circuit.transition', {
      'resilience.name': name,
      'circuit.from': from,
      'circuit.to': to,
      ...(to === 'open' && last && 'error' in last ? { 'circuit.last_error': describeError(last.error) } : {}),
    });
    for (const cb of listeners) {
      try {
        cb(to, from);
      } catch {
        // A listener's bug must not break the call that happened to trigger the transition.
      }
    }
  });

  const reject = (retryAfterMs: number | undefined): CircuitOpenError => {
    rejections.inc({ name });
    spanEvent('resilience.circuit.rejected', {
      'resilience.name': name,
      'circuit.state': state,
      ...(retryAfterMs !== undefined ? { 'circuit.retry_after_ms': retryAfterMs } : {}),
    });
    return new CircuitOpenError(name, retryAfterMs);
  };

  return {
    get state() {
      return state;
    },
    onStateChange(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    async execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
      // cockatiel would make concurrent callers wait for the trial; fail them fast instead.
      if (state === 'half-open') throw reject(undefined);
      try {
        return await policy.execute(({ signal: s }) => fn(s), signal);
      } catch (err) {
        // Only our own rejection; a BrokenCircuitError from a breaker nested inside fn passes through.
        if (isBrokenCircuitError(err) && state === 'open') throw reject(Math.max(0, openedAt + halfOpenAfterMs - Date.now()));
        throw err;
      }
    },
  };
}
