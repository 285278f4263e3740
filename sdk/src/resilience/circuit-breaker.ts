import {
  CircuitState,
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

/** Reports transitions (gauge, counter, span event, listeners) and rejections, for both implementations. */
function reporter(name: string) {
  const gauge = metrics.circuitState();
  const transitions = metrics.circuitTransitions();
  const rejections = metrics.circuitRejections();
  const listeners = new Set<StateChangeListener>();
  gauge.set({ name }, CIRCUIT_STATE_VALUE.closed);
  return {
    listeners,
    /** Runs synchronously inside the call that caused it, so the active span is that call's. */
    transition(from: CircuitStateName, to: CircuitStateName, lastError: unknown) {
      gauge.set({ name }, CIRCUIT_STATE_VALUE[to]);
      transitions.inc({ name, to });
      spanEvent('resilience.circuit.transition', {
        'resilience.name': name,
        'circuit.from': from,
        'circuit.to': to,
        ...(to === 'open' && lastError !== undefined ? { 'circuit.last_error': describeError(lastError) } : {}),
      });
      for (const cb of listeners) {
        try {
          cb(to, from);
        } catch {
          // A listener's bug must not break the call that happened to trigger the transition.
        }
      }
    },
    reject(state: CircuitStateName, retryAfterMs: number | undefined): CircuitOpenError {
      rejections.inc({ name });
      spanEvent('resilience.circuit.rejected', {
        'resilience.name': name,
        'circuit.state': state,
        ...(retryAfterMs !== undefined ? { 'circuit.retry_after_ms': retryAfterMs } : {}),
      });
      return new CircuitOpenError(name, retryAfterMs);
    },
  };
}

/** Passed to fn when the caller gives no signal (as cockatiel does): never aborted, only read. */
const NEVER_ABORTED = new AbortController().signal;

/**
 * The consecutive-failure breaker without a policy library: it wraps every service-to-service call,
 * so a closed circuit costs one state check and one promise reaction, not cockatiel's executor,
 * event emitters and three async frames. Same rules as cockatiel's ConsecutiveBreaker: a counted
 * failure increments, a success resets; at the threshold it opens; after halfOpenAfterMs one call
 * is the trial (everyone else fails fast), which closes the circuit on success or on an error that
 * does not count, and reopens it on a counted failure.
 */
function consecutiveBreaker(opts: { name: string; failureThreshold: number; halfOpenAfterMs: number; isFailure: (err: unknown) => boolean }): CircuitBreaker {
  const { failureThreshold, halfOpenAfterMs, isFailure } = opts;
  const report = reporter(opts.name);
  let state: CircuitStateName = 'closed';
  let failures = 0;
  let openedAt = 0;
  const move = (to: CircuitStateName, lastError?: unknown) => {
    if (to === state) return;
    const from = state;
    state = to;
    if (to === 'open') openedAt = Date.now();
    report.transition(from, to, lastError);
  };
  return {
    get state() {
      return state;
    },
    onStateChange(cb) {
      report.listeners.add(cb);
      return () => report.listeners.delete(cb);
    },
    execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
      // fail fast while the trial is in flight
      if (state === 'half-open') return Promise.reject(report.reject(state, undefined));
      let trial = false;
      if (state === 'open') {
        const wait = openedAt + halfOpenAfterMs - Date.now();
        if (wait > 0) return Promise.reject(report.reject(state, wait));
        move('half-open');
        trial = true;
      }
      let work: Promise<T>;
      try {
        work = fn(signal ?? NEVER_ABORTED);
      } catch (err) {
        work = Promise.reject(err);
      }
      return work.then(
        (value) => {
          failures = 0;
          if (trial) move('closed');
          return value;
        },
        (err: unknown) => {
          if (!isFailure(err)) {
            if (trial) move('closed');
            throw err;
          }
          failures++;
          if (trial || (state === 'closed' && failures >= failureThreshold)) move('open', err);
          throw err;
        },
      );
    },
  };
}

/**
 * A circuit breaker with metrics: resilience_circuit_state{name} gauge (0 closed, 1 half-open,
 * 2 open), resilience_circuit_transitions_total{name,to}, resilience_circuit_rejections_total{name};
 * span events "resilience.circuit.transition" and "resilience.circuit.rejected" on the span of the
 * call that caused them. Consecutive-failure breakers are implemented here; ratio-based ones
 * (`sampling`) use cockatiel's SamplingBreaker.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const opts = parseOptions(schema, options, 'createCircuitBreaker');
  const { name, halfOpenAfterMs } = opts;
  if (!opts.sampling) return consecutiveBreaker({ name, failureThreshold: opts.failureThreshold, halfOpenAfterMs, isFailure: opts.isFailure });
  const breaker: IBreaker = new SamplingBreaker({
    threshold: opts.sampling.threshold,
    duration: opts.sampling.durationMs,
    ...(opts.sampling.minimumRps !== undefined ? { minimumRps: opts.sampling.minimumRps } : {}),
  });
  const policy = circuitBreaker(handleWhen((err) => opts.isFailure(err)), { breaker, halfOpenAfter: halfOpenAfterMs });
  const report = reporter(name);
  let state: CircuitStateName = 'closed';
  let openedAt = 0;

  // cockatiel emits synchronously inside execute(), so the active span is the triggering call's.
  policy.onStateChange((next) => {
    const from = state;
    const to = stateName(next);
    if (to === from) return;
    state = to;
    if (to === 'open') openedAt = Date.now();
    const last = policy.lastFailure;
    report.transition(from, to, to === 'open' && last && 'error' in last ? last.error : undefined);
  });

  return {
    get state() {
      return state;
    },
    onStateChange(cb) {
      report.listeners.add(cb);
      return () => report.listeners.delete(cb);
    },
    async execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
      // cockatiel would make concurrent callers wait for the trial; fail them fast instead.
      if (state === 'half-open') throw report.reject(state, undefined);
      try {
        return await policy.execute(({ signal: s }) => fn(s), signal);
      } catch (err) {
        // Only our own rejection; a BrokenCircuitError from a breaker nested inside fn passes through.
        if (isBrokenCircuitError(err) && state === 'open') throw report.reject(state, Math.max(0, openedAt + halfOpenAfterMs - Date.now()));
        throw err;
      }
    },
  };
}
