import { CollectorError } from '../pipeline/errors.js';

/**
 * The backend said "later" (429/502/503/504, a network error, a broker not available). Retried with
 * backoff; retryAfterMs (from Retry-After) replaces the backoff delay for that attempt. Anything else a
 * send() throws is permanent: counted as failed, logged, not retried.
 */
export class RetryableExportError extends CollectorError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, opts: { retryAfterMs?: number; cause?: unknown } = {}) {
    super('EXPORTER_RETRYABLE', message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retryAfterMs = opts.retryAfterMs;
  }
}
