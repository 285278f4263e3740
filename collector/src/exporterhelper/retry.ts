// Exponential backoff with jitter, as the OpenTelemetry Collector's exporterhelper does it: the delay
// starts at initial_interval, grows by multiplier up to max_interval, and the request is given up once
// the next attempt would start after max_elapsed_time (0: never give up).
import { setTimeout as sleep } from 'node:timers/promises';
import type { RetryOnFailure } from '../config/values.js';
import { RefusedError } from '../pipeline/errors.js';
import { RetryableExportError } from './errors.js';

export type SendOutcome =
  | { kind: 'sent'; attempts: number }
  /** permanent: the backend refused it for good; gave_up: retries exhausted (or retry disabled). */
  | { kind: 'failed'; reason: 'permanent' | 'gave_up'; error: unknown; attempts: number }
  /** Stopped by `abort` (shutdown) before it could be sent. */
  | { kind: 'aborted'; error: unknown; attempts: number };

/** ±50 % around the interval (the collector's randomization factor), never above max_interval. */
export function jittered(intervalMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.min(maxMs, intervalMs * (0.5 + random()));
}

/** The delay the backend asked for, if the error carries one. */
function retryAfterOf(err: unknown): number | undefined {
  if (err instanceof RetryableExportError) return err.retryAfterMs;
  if (err instanceof RefusedError) return err.retryAfterSeconds * 1000;
  return undefined;
}

const isRetryable = (err: unknown) => err instanceof RetryableExportError || err instanceof RefusedError;

/**
 * Calls `attempt` until it succeeds, fails permanently, or retries run out. A Retry-After from the backend
 * replaces the backoff for that attempt (honoured as asked, so long as it ends within max_elapsed_time).
 * `abort` cuts a wait short and is handed to the attempt so an in-flight request can be cancelled.
 */
export async function sendWithRetry(attempt: (signal: AbortSignal) => Promise<void>, cfg: RetryOnFailure, abort: AbortSignal): Promise<SendOutcome> {
  const started = Date.now();
  let interval = cfg.initial_interval;
  for (let attempts = 1; ; attempts++) {
    if (abort.aborted) return { kind: 'aborted', error: abort.reason, attempts: attempts - 1 };
    try {
      await attempt(abort);
      return { kind: 'sent', attempts };
    } catch (error) {
      if (abort.aborted) return { kind: 'aborted', error, attempts };
      if (!isRetryable(error)) return { kind: 'failed', reason: 'permanent', error, attempts };
      if (!cfg.enabled) return { kind: 'failed', reason: 'gave_up', error, attempts };
      const delay = retryAfterOf(error) ?? jittered(interval, cfg.max_interval);
      interval = Math.min(interval * cfg.multiplier, cfg.max_interval);
      if (cfg.max_elapsed_time > 0 && Date.now() - started + delay > cfg.max_elapsed_time) {
        return { kind: 'failed', reason: 'gave_up', error, attempts };
      }
      try {
        await sleep(delay, undefined, { signal: abort });
      } catch {
        return { kind: 'aborted', error, attempts };
      }
    }
  }
}
