/**
 * The resilience primitives the service client and event consumer use come from the SDK, so
 * their metrics (retry attempts, timeouts, breaker state) and span events are reported the same
 * way as every other dependency call.
 */
export { retry, withTimeout, recordTimeout, createCircuitBreaker, TimeoutError, CircuitOpenError, type CircuitBreaker } from '@lantern/sdk';
