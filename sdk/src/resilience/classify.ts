/**
 * Default classification of errors for retry() and the circuit breaker. Conservative: only what is
 * known to be transient is retried; a 4xx (other than 429) is the caller's fault and never retried.
 */

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/** undici codes that are not transient: caller aborts, programming errors, oversize bodies. */
const UNDICI_NOT_TRANSIENT = new Set([
  'UND_ERR_ABORTED',
  'UND_ERR_INVALID_ARG',
  'UND_ERR_INVALID_RETURN_VALUE',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_RESPONSE_STATUS_CODE', // classified by its status instead
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
]);

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

type ErrorLike = {
  code?: unknown;
  name?: unknown;
  retryable?: unknown;
  status?: unknown;
  statusCode?: unknown;
  response?: { status?: unknown };
  cause?: unknown;
};

function asErrorLike(err: unknown): ErrorLike | undefined {
  return typeof err === 'object' && err !== null ? (err as ErrorLike) : undefined;
}

/** HTTP status carried by an error (`status`, `statusCode` or `response.status`), if any. */
export function httpStatusOf(err: unknown): number | undefined {
  const e = asErrorLike(err);
  if (!e) return undefined;
  for (const v of [e.status, e.statusCode, e.response?.status]) {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599) return v;
  }
  return undefined;
}

function isNetworkCode(code: unknown): boolean {
  if (typeof code !== 'string') return false;
  if (NETWORK_CODES.has(code)) return true;
  return code.startsWith('UND_ERR_') && !UNDICI_NOT_TRANSIENT.has(code);
}

/**
 * True for: `retryable === true`; HTTP 429/502/503/504; network errors (ECONNRESET, ECONNREFUSED,
 * ETIMEDOUT, EPIPE, transient UND_ERR_*), also when wrapped as `cause` (fetch's "fetch failed");
 * TimeoutError (ours, or the DOM one from AbortSignal.timeout). `retryable === false` always wins.
 * Caller aborts (AbortError) are never retryable.
 */
export function isRetryableError(err: unknown): boolean {
  return classify(err, 0);
}

function classify(err: unknown, depth: number): boolean {
  const e = asErrorLike(err);
  if (!e) return false;
  if (e.retryable === true) return true;
  if (e.retryable === false) return false;
  if (e.name === 'AbortError') return false;
  const status = httpStatusOf(err);
  if (status !== undefined) return RETRYABLE_STATUS.has(status);
  if (e.name === 'TimeoutError') return true;
  if (isNetworkCode(e.code)) return true;
  // fetch() wraps socket errors: TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }).
  return depth < 3 && e.cause !== undefined && e.cause !== err && classify(e.cause, depth + 1);
}

/**
 * Default failure test for the circuit breaker: every error counts against the dependency except
 * the caller's own mistakes (HTTP 4xx other than 408/429) and caller aborts.
 */
export function isDependencyFailure(err: unknown): boolean {
  const e = asErrorLike(err);
  if (e?.name === 'AbortError') return false;
  const status = httpStatusOf(err);
  if (status !== undefined && status >= 400 && status < 500) return status === 408 || status === 429;
  return true;
}
