import { TimeoutStrategy, timeout as cockatielTimeout } from 'cockatiel';
import { z } from 'zod';
import { abortSignal, parseOptions, positiveNumber, toolName } from './config.js';
import { TimeoutError } from './errors.js';
import { metrics, spanEvent } from './telemetry.js';

export interface WithTimeoutOptions {
  /** A parent signal: aborting it aborts `fn`'s signal too, and withTimeout rejects with its reason. */
  signal?: AbortSignal;
}

const schema = z.object({ ms: positiveNumber.max(2 ** 31 - 1), name: toolName, signal: abortSignal.optional() });

/**
 * Runs `fn` with a deadline. On expiry the signal given to `fn` is aborted (so a fetch/query using
 * it is cancelled) and the call rejects with {@link TimeoutError} at once, even if `fn` ignores the
 * signal. Counts resilience_timeouts_total{name} and adds a "resilience.timeout" span event.
 *
 * On success the signal is left un-aborted, so a returned stream (e.g. a fetch Response body)
 * can still be read after withTimeout resolves.
 */
export async function withTimeout<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  ms: number,
  name: string,
  options: WithTimeoutOptions = {},
): Promise<T> {
  const { signal: parent } = parseOptions(schema, { ms, name, signal: options.signal }, 'withTimeout');
  parent?.throwIfAborted();
  // Aggressive: reject at the deadline rather than waiting for fn to notice the abort.
  const policy = cockatielTimeout(ms, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
  let expired = false;
  // onTimeout fires when the inner signal aborts: the deadline, or the parent signal.
  policy.onTimeout(() => {
    if (parent?.aborted) return;
    expired = true;
    metrics.timeouts().inc({ name });
    spanEvent('resilience.timeout', { 'resilience.name': name, 'timeout.ms': ms });
  });
  try {
    return await policy.execute((_ctx, signal) => fn(signal), parent);
  } catch (err) {
    if (expired) throw new TimeoutError(name, ms, { cause: err });
    if (parent?.aborted) throw parent.reason;
    throw err;
  }
}
