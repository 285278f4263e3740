import { AppError, type ErrorDetail } from '../errors.js';
import { InvalidEventError } from './envelope.js';

/**
 * Consumer error classes. A handler throws one of these to say how a failure should be treated:
 * - RetryableEventError: a transient fault (a dependency down, a lock timeout): retried with
 *   exponential backoff and jitter up to maxAttempts, then dead-lettered.
 * - NonRetryableEventError: retrying cannot help (a business rule refuses the event): dead-lettered at once.
 * - InvalidEventError (envelope.ts): poison, the message itself is malformed: dead-lettered at once.
 * Any other error counts as retryable: an unexpected fault is more often transient than not, and a
 * retry that fails again still ends in the DLQ, so nothing is lost either way.
 */
export class RetryableEventError extends Error {
  readonly code = 'retryable_event_error';
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RetryableEventError';
  }
}

export class NonRetryableEventError extends Error {
  readonly code = 'non_retryable_event_error';
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'NonRetryableEventError';
  }
}

/**
 * enqueueEvent was given data that breaks the contract in SHOP_EVENTS: a bug in the producing
 * service, caught before it is written (and so before any consumer sees it). A 500 with the paths.
 */
export class InvalidEventDataError extends AppError {
  readonly eventType: string;
  constructor(eventType: string, details: ErrorDetail[]) {
    super(500, 'invalid_event_data', `event ${eventType} does not match its schema: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, { details });
    this.eventType = eventType;
  }
}

export type EventErrorKind = 'retryable' | 'non_retryable' | 'poison';

/** How the consumer treats an error a handler threw. */
export function eventErrorKind(err: unknown): EventErrorKind {
  if (err instanceof InvalidEventError) return 'poison';
  if (err instanceof NonRetryableEventError) return 'non_retryable';
  return 'retryable';
}

/** The error's class name for the `dlq-error-class` header ('Error' for plain errors, 'NonError' for thrown non-errors). */
export function errorClassName(err: unknown): string {
  return err instanceof Error ? err.constructor.name || err.name : 'NonError';
}
