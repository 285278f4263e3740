// Resilience tools: retry, timeout, circuit breaker, bulkhead (cockatiel underneath), token-bucket
// rate limiters (in memory and Redis) and a Redis lock with fencing tokens. Every tool reports
// prom-client metrics into the SDK registry and span events on the active span.
export {
  ResilienceError,
  TimeoutError,
  CircuitOpenError,
  BulkheadRejectedError,
  LockNotAcquiredError,
  LockLostError,
  ResilienceConfigError,
} from './errors.js';
export { isRetryableError, isDependencyFailure, httpStatusOf } from './classify.js';
export { retry, fullJitterDelay, type RetryOptions, type RetryContext } from './retry.js';
export { withTimeout, recordTimeout, type WithTimeoutOptions } from './timeout.js';
export {
  createCircuitBreaker,
  CIRCUIT_STATE_VALUE,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitStateName,
  type StateChangeListener,
} from './circuit-breaker.js';
export { createBulkhead, type Bulkhead, type BulkheadOptions } from './bulkhead.js';
export { TokenBucketLimiter, type TokenBucketOptions, type RateLimitDecision } from './token-bucket.js';
export { RedisRateLimiter, type RedisRateLimiterOptions } from './redis-rate-limiter.js';
export { RedisLock, type RedisLockOptions, type AcquireOptions, type LockHandle } from './redis-lock.js';
