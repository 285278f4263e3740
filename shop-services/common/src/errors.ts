/**
 * Typed errors every shop service throws. The error middleware renders them as
 * `{ error: { code, message, details }, trace_id }` with `status`; anything that is
 * not an AppError is an unexpected fault and goes to the SDK's safe-500 handler.
 */
export interface ErrorDetail {
  /** Where the problem is, e.g. `body.email` or `params.id`. */
  path?: string;
  message: string;
  [key: string]: unknown;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[] | undefined;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, opts: { details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = opts.details;
    this.headers = opts.headers ?? {};
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: ErrorDetail[]) {
    super(400, 'validation_failed', message, { details });
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, code = 'bad_request') {
    super(400, code, message);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'authentication required', code = 'unauthorized') {
    super(401, code, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'not allowed', code = 'forbidden') {
    super(403, code, message);
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'not found', code = 'not_found') {
    super(404, code, message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code = 'conflict') {
    super(409, code, message);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message = 'request body too large') {
    super(413, 'payload_too_large', message);
  }
}

export class TooManyRequestsError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterMs: number, code = 'too_many_requests') {
    const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(429, code, message, { headers: { 'retry-after': String(retryAfterSeconds) } });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** An upstream service failed, timed out or is shed by its circuit breaker: 502 or 503. */
export class UpstreamError extends AppError {
  readonly upstream: string;
  constructor(upstream: string, message: string, opts: { status?: 502 | 503 | 504; code?: string; cause?: unknown } = {}) {
    super(opts.status ?? 502, opts.code ?? 'upstream_error', message, { cause: opts.cause });
    this.upstream = upstream;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
