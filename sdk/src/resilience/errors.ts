import { LanternError } from '../errors.js';

/**
 * Typed errors thrown by the resilience tools, all LanternErrors. Each has a stable `code` for programmatic checks
 * (`err.code === 'ECIRCUITOPEN'`) and keeps the standard `name` (the class name), so logs and
 * `instanceof` work as usual. `operation` is the `name` option the tool was created with.
 */
export abstract class ResilienceError extends LanternError {
  /** Each subclass narrows it to its own literal (its field initialiser replaces the generic code). */
  abstract override readonly code: string;
  constructor(
    message: string,
    /** The tool's `name` option (e.g. "payments-api"), also the `name` metric label. */
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super('ERESILIENCE', message, options);
  }
}

/** `withTimeout` ran out of time. Retryable by the default `retry` classifier. */
export class TimeoutError extends ResilienceError {
  readonly code = 'ETIMEOUT';
  /** Lets `isRetryableError` (and other libraries' conventions) treat it as transient. */
  readonly retryable = true;
  constructor(
    operation: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: timed out after ${timeoutMs} ms`, operation, options);
  }
}

/** The circuit breaker is open (or a half-open trial is in flight): the call was not made. */
export class CircuitOpenError extends ResilienceError {
  readonly code = 'ECIRCUITOPEN';
  constructor(
    operation: string,
    /** When the breaker will let a trial call through; undefined while a trial is in flight. */
    readonly retryAfterMs?: number,
  ) {
    super(
      retryAfterMs === undefined
        ? `${operation}: circuit half-open, trial call in flight`
        : `${operation}: circuit open, retry after ${retryAfterMs} ms`,
      operation,
    );
  }
}

/** The bulkhead's concurrency slots and queue are full: the call was not made. */
export class BulkheadRejectedError extends ResilienceError {
  readonly code = 'EBULKHEADFULL';
  constructor(
    operation: string,
    readonly maxConcurrent: number,
    readonly maxQueue: number,
  ) {
    super(`${operation}: bulkhead full (${maxConcurrent} in flight, ${maxQueue} queued)`, operation);
  }
}

/** `RedisLock.withLock` could not take the lock within `waitMs`. */
export class LockNotAcquiredError extends ResilienceError {
  readonly code = 'ELOCKNOTACQUIRED';
  constructor(
    operation: string,
    readonly resource: string,
    readonly waitMs: number,
  ) {
    super(`${operation}: lock on "${resource}" not acquired within ${waitMs} ms`, operation);
  }
}

/** Invalid options passed to a resilience tool; the message names the offending key. */
export class ResilienceConfigError extends ResilienceError {
  readonly code = 'ERESILIENCECONFIG';
  constructor(
    operation: string,
    readonly key: string,
    detail: string,
  ) {
    super(`${operation}: invalid option "${key}": ${detail}`, operation);
  }
}

/** The reason `LockHandle.signal` aborts with when auto-renewal finds the lock gone (expired, taken). */
export class LockLostError extends ResilienceError {
  readonly code = 'ELOCKLOST';
  constructor(
    operation: string,
    readonly resource: string,
    readonly fencingToken: number,
  ) {
    super(`${operation}: lock on "${resource}" (fencing token ${fencingToken}) was lost`, operation);
  }
}
