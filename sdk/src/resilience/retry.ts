import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { isRetryableError } from './classify.js';
import { abortSignal, parseOptions, positiveInt, positiveNumber, predicate, toolName } from './config.js';
import { describeError, metrics, spanEvent } from './telemetry.js';

export interface RetryContext {
  /** 1 for the first call, 2 for the first retry, ... */
  attempt: number;
  /** The caller's signal (never aborted if none was given); pass it to I/O so an abort stops the call. */
  signal: AbortSignal;
}

export interface RetryOptions {
  /** Metric label and span attribute; a code-defined constant like "inventory-api". */
  name: string;
  /** Total calls including the first. Default 3. */
  maxAttempts?: number;
  /** Cap of the first retry's delay; doubles each retry. Default 100 ms. */
  baseDelayMs?: number;
  /** Upper bound of any delay. Default 5000 ms. */
  maxDelayMs?: number;
  /** Which errors to retry. Default {@link isRetryableError}. */
  isRetryable?: (err: unknown) => boolean;
  /** Aborting stops retrying at once (also during a backoff sleep) and rejects with the signal's reason. */
  signal?: AbortSignal;
}

const schema = z.object({
  name: toolName,
  maxAttempts: positiveInt.max(100).default(3),
  baseDelayMs: positiveNumber.default(100),
  maxDelayMs: positiveNumber.default(5000),
  isRetryable: predicate.default(() => isRetryableError),
  signal: abortSignal.optional(),
});

/**
 * Delay before retry number `retry` (1 = first retry): "full jitter" from the AWS architecture blog,
 * uniform in [0, min(maxDelayMs, baseDelayMs * 2^(retry-1))]. Spreads retrying clients out so they
 * don't hammer a recovering dependency in lockstep.
 */
export function fullJitterDelay(
  retry: number,
  opts: { baseDelayMs: number; maxDelayMs: number },
  random: () => number = Math.random,
): number {
  const cap = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * cap);
}

type Parsed = z.output<typeof schema>;

const positive = (v: unknown, max = Number.POSITIVE_INFINITY) => typeof v === 'number' && v > 0 && v <= max && Number.isFinite(v);

/**
 * The options with defaults, checked by hand when they are plainly valid: retry() wraps every
 * service-to-service call, and a zod parse per call was a visible share of it. Anything unusual
 * goes through the schema, which names the bad key.
 */
function options(o: RetryOptions): Parsed {
  const ok =
    typeof o === 'object' &&
    o !== null &&
    typeof o.name === 'string' &&
    o.name.length >= 1 &&
    o.name.length <= 100 &&
    (o.maxAttempts === undefined || (Number.isInteger(o.maxAttempts) && positive(o.maxAttempts, 100))) &&
    (o.baseDelayMs === undefined || positive(o.baseDelayMs)) &&
    (o.maxDelayMs === undefined || positive(o.maxDelayMs)) &&
    (o.isRetryable === undefined || typeof o.isRetryable === 'function') &&
    (o.signal === undefined || o.signal instanceof AbortSignal);
  if (!ok) return parseOptions(schema, o, 'retry');
  return {
    name: o.name,
    maxAttempts: o.maxAttempts ?? 3,
    baseDelayMs: o.baseDelayMs ?? 100,
    maxDelayMs: o.maxDelayMs ?? 5000,
    isRetryable: o.isRetryable ?? isRetryableError,
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
  };
}

/**
 * Calls `fn` until it succeeds, a non-retryable error is thrown, or `maxAttempts` calls were made;
 * then throws the last error unchanged. Backoff is exponential with full jitter. Every attempt is
 * counted in resilience_retry_attempts_total{name,outcome} and every retry adds a
 * "resilience.retry" span event with the attempt and delay.
 *
 * Hand-written rather than cockatiel's RetryPolicy: cockatiel 3.2.1 sleeps between attempts with
 * a timer the signal cannot cancel, so an aborted caller waited (and kept the process alive) for
 * up to maxDelayMs. Here the sleep is abortable.
 */
export async function retry<T>(fn: (ctx: RetryContext) => Promise<T>, retryOptions: RetryOptions): Promise<T> {
  const opts = options(retryOptions);
  const { name, maxAttempts } = opts;
  const signal = opts.signal;
  // without a caller's signal, fn gets a never-aborted one, made only if fn asks for it
  let own: AbortSignal | undefined;
  const ctxSignal = () => signal ?? (own ??= new AbortController().signal);
  const attempts = metrics.retryAttempts();
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    let error: unknown;
    try {
      const value = await fn({
        attempt,
        get signal() {
          return ctxSignal();
        },
      });
      attempts.inc({ name, outcome: 'success' });
      return value;
    } catch (err) {
      error = err;
    }
    // Aborted mid-attempt: the caller asked to stop, so report that rather than the side effect.
    if (signal?.aborted) {
      attempts.inc({ name, outcome: 'aborted' });
      throw signal.reason;
    }
    const outcome = !opts.isRetryable(error) ? 'non_retryable' : attempt >= maxAttempts ? 'exhausted' : 'retry';
    attempts.inc({ name, outcome });
    if (outcome !== 'retry') {
      spanEvent('resilience.retry.give_up', {
        'resilience.name': name,
        'retry.attempt': attempt,
        'retry.outcome': outcome,
        'retry.error': describeError(error),
      });
      throw error;
    }
    const delayMs = fullJitterDelay(attempt, opts);
    spanEvent('resilience.retry', {
      'resilience.name': name,
      'retry.attempt': attempt + 1, // the attempt about to be made
      'retry.delay_ms': delayMs,
      'retry.error': describeError(error),
    });
    // An abort during the sleep clears the timer and rejects at once, with the caller's reason.
    if (signal === undefined) await sleep(delayMs);
    else
      await sleep(delayMs, undefined, { signal }).catch(() => {
        throw signal.reason;
      });
  }
}
