import { DelegateBackoff, handleWhen, retry as cockatielRetry } from 'cockatiel';
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

/**
 * Calls `fn` until it succeeds, a non-retryable error is thrown, or `maxAttempts` calls were made;
 * then throws the last error unchanged. Backoff is exponential with full jitter (cockatiel's retry
 * policy drives the loop). Every attempt is counted in resilience_retry_attempts_total{name,outcome}
 * and every retry adds a "resilience.retry" span event with the attempt and delay.
 */
export async function retry<T>(fn: (ctx: RetryContext) => Promise<T>, options: RetryOptions): Promise<T> {
  const opts = parseOptions(schema, options, 'retry');
  const { name, maxAttempts, signal } = opts;
  signal?.throwIfAborted();
  const attempts = metrics.retryAttempts();
  const retryable = (err: unknown): boolean => !signal?.aborted && opts.isRetryable(err);

  const policy = cockatielRetry(handleWhen(retryable), {
    maxAttempts: maxAttempts - 1, // cockatiel counts retries, we count calls
    backoff: new DelegateBackoff<{ attempt: number }>((ctx) => fullJitterDelay(ctx.attempt, opts)),
  });
  policy.onRetry((event) => {
    spanEvent('resilience.retry', {
      'resilience.name': name,
      'retry.attempt': event.attempt + 1, // the attempt about to be made
      'retry.delay_ms': event.delay,
      'retry.error': 'error' in event ? describeError(event.error) : 'result',
    });
  });

  const run = policy.execute(async ({ attempt: retriesSoFar, signal: ctxSignal }) => {
    // A caller abort during a backoff sleep: don't start another call.
    signal?.throwIfAborted();
    const attempt = retriesSoFar + 1;
    try {
      const value = await fn({ attempt, signal: ctxSignal });
      attempts.inc({ name, outcome: 'success' });
      return value;
    } catch (err) {
      const outcome = signal?.aborted
        ? 'aborted'
        : !opts.isRetryable(err)
          ? 'non_retryable'
          : attempt >= maxAttempts
            ? 'exhausted'
            : 'retry';
      attempts.inc({ name, outcome });
      if (outcome === 'exhausted' || outcome === 'non_retryable') {
        spanEvent('resilience.retry.give_up', { 'resilience.name': name, 'retry.attempt': attempt, 'retry.outcome': outcome, 'retry.error': describeError(err) });
      }
      throw err;
    }
  }, signal);

  return signal ? raceAbort(run, signal) : run;
}

/**
 * cockatiel's backoff sleep ignores the signal, so an abort mid-sleep would only be noticed when
 * the sleep ends. Reject the caller at once; the policy's loop then stops at its next step.
 */
function raceAbort<T>(run: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    run.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
