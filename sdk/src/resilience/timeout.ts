import { z } from 'zod';
import { abortSignal, parseOptions, positiveNumber, toolName } from './config.js';
import { TimeoutError } from './errors.js';
import { metrics, spanEvent } from './telemetry.js';

export interface WithTimeoutOptions {
  /** A parent signal: aborting it aborts `fn`'s signal too, and withTimeout rejects with its reason. */
  signal?: AbortSignal;
}

const schema = z.object({ ms: positiveNumber.max(2 ** 31 - 1), name: toolName, signal: abortSignal.optional() });

/** The arguments are checked on every call, so the common valid case must not cost a zod parse. */
function valid(ms: number, name: string, signal: AbortSignal | undefined): boolean {
  return (
    typeof ms === 'number' && ms > 0 && ms <= 2 ** 31 - 1 && typeof name === 'string' && name.length >= 1 && name.length <= 100 && (signal === undefined || signal instanceof AbortSignal)
  );
}

/**
 * Counts and records a deadline that expired, exactly as withTimeout does (resilience_timeouts_total,
 * "resilience.timeout" span event on the active span), and returns the TimeoutError to throw. For
 * code that enforces a deadline itself, e.g. by aborting a request through its dispatcher, without
 * an AbortController per call.
 */
export function recordTimeout(name: string, ms: number): TimeoutError {
  metrics.timeouts().inc({ name });
  spanEvent('resilience.timeout', { 'resilience.name': name, 'timeout.ms': ms });
  return new TimeoutError(name, ms);
}

/**
 * Runs `fn` with a deadline. On expiry the signal given to `fn` is aborted (so a fetch/query using
 * it is cancelled) and the call rejects with {@link TimeoutError} at once, even if `fn` ignores the
 * signal. Counts resilience_timeouts_total{name} and adds a "resilience.timeout" span event.
 *
 * On success the signal is left un-aborted, so a returned stream (e.g. a fetch Response body)
 * can still be read after withTimeout resolves.
 *
 * One AbortController and one timer per call (it sits on every service-to-service request): no
 * policy objects, event emitters or listeners on shared signals.
 */
export function withTimeout<T>(fn: (signal: AbortSignal) => Promise<T>, ms: number, name: string, options: WithTimeoutOptions = {}): Promise<T> {
  const parent = options.signal;
  if (!valid(ms, name, parent)) parseOptions(schema, { ms, name, signal: parent }, 'withTimeout');
  if (parent?.aborted) return Promise.reject(parent.reason);
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onParentAbort = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      controller.abort(parent!.reason);
      reject(parent!.reason);
    };
    // runs in the caller's async context, so the span event lands on the caller's span
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      parent?.removeEventListener('abort', onParentAbort);
      const err = recordTimeout(name, ms);
      controller.abort(err);
      reject(err);
    }, ms);
    parent?.addEventListener('abort', onParentAbort, { once: true });
    const done = () => {
      settled = true;
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    };
    let work: Promise<T>;
    try {
      work = fn(controller.signal);
    } catch (err) {
      done();
      reject(err);
      return;
    }
    work.then(
      (value) => {
        if (settled) return;
        done();
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        done();
        reject(err);
      },
    );
  });
}
