// Alertmanager's RetryStage: exponential backoff (500 ms × 1.5, jittered, at most 60 s between attempts)
// until success, a permanent error, or the deadline (the group's group_interval, enforced by the caller's
// signal). RetryableNotifyError.retryAfterMs (a 429's Retry-After) overrides the backoff when longer.
import type { Clock } from '../model/clock.js';
import { RetryableNotifyError } from '../model/notification.js';

export interface RetryOptions {
  clock: Clock;
  signal: AbortSignal;
  /** Waits on the clock; the dispatcher substitutes one that lets tests see it is idle. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  initialMs?: number;
  maxIntervalMs?: number;
  random?: () => number;
}

export type RetryOutcome = { ok: true; attempts: number } | { ok: false; attempts: number; error: Error; permanent: boolean };

export function clockSleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      timer.clear();
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export async function withRetry(attempt: (signal: AbortSignal) => Promise<void>, o: RetryOptions): Promise<RetryOutcome> {
  const sleep = o.sleep ?? ((ms, signal) => clockSleep(o.clock, ms, signal));
  const random = o.random ?? Math.random;
  let interval = o.initialMs ?? 500;
  const maxInterval = o.maxIntervalMs ?? 60_000;
  // created only when needed: an Error captures a stack trace, and most sends succeed at once
  let lastError: Error | undefined;
  for (let attempts = 1; ; attempts++) {
    if (o.signal.aborted) return { ok: false, attempts: attempts - 1, error: lastError ?? new Error('notification not attempted before the deadline'), permanent: false };
    try {
      await attempt(o.signal);
      return { ok: true, attempts };
    } catch (err) {
      lastError = err instanceof Error ? err : new Error(String(err));
      if (!(err instanceof RetryableNotifyError)) return { ok: false, attempts, error: lastError, permanent: true };
      // backoff.ExponentialBackOff: randomised ±50 % around the current interval.
      const jittered = interval * (0.5 + random());
      const wait = Math.max(jittered, err.retryAfterMs ?? 0);
      interval = Math.min(interval * 1.5, maxInterval);
      await sleep(wait, o.signal);
    }
  }
}
