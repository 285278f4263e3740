/**
 * The resilience primitives the service client and event consumer use, shaped like the SDK's
 * contract (@lantern/sdk resilience: retry / withTimeout / createCircuitBreaker). The SDK's
 * implementation was not committed when this layer was written; this one file is the only
 * place to switch over (re-export from '@lantern/sdk') once it is.
 */
import { circuitBreaker, ConsecutiveBreaker, handleAll, BrokenCircuitError, CircuitState, type CircuitBreakerPolicy } from 'cockatiel';

export class TimeoutError extends Error {
  readonly code = 'ETIMEOUT';
  constructor(readonly operation: string, readonly timeoutMs: number) {
    super(`${operation}: timed out after ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

export class CircuitOpenError extends Error {
  readonly code = 'ECIRCUITOPEN';
  constructor(readonly operation: string) {
    super(`${operation}: circuit open`);
    this.name = 'CircuitOpenError';
  }
}

/** Runs fn with an AbortSignal that fires after ms; rejects with TimeoutError. */
export async function withTimeout<T>(fn: (signal: AbortSignal) => Promise<T>, ms: number, name: string): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new TimeoutError(name, ms);
      ac.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([fn(ac.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RetryOptions {
  name: string;
  maxAttempts: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  isRetryable?: (err: unknown) => boolean;
}

/** Exponential backoff with full jitter; stops early on errors isRetryable rejects. */
export async function retry<T>(fn: (ctx: { attempt: number; signal: AbortSignal }) => Promise<T>, opts: RetryOptions): Promise<T> {
  const base = opts.baseDelayMs ?? 50;
  const max = opts.maxDelayMs ?? 1000;
  const signal = new AbortController().signal;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn({ attempt, signal });
    } catch (err) {
      if (attempt >= opts.maxAttempts || !(opts.isRetryable?.(err) ?? true)) throw err;
      const delay = Math.random() * Math.min(max, base * 2 ** (attempt - 1));
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export interface CircuitBreaker {
  execute<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  readonly state: 'closed' | 'open' | 'half-open';
}

export function createCircuitBreaker(opts: { name: string; failureThreshold: number; halfOpenAfterMs: number }): CircuitBreaker {
  const policy: CircuitBreakerPolicy = circuitBreaker(handleAll, {
    halfOpenAfter: opts.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(opts.failureThreshold),
  });
  return {
    async execute(fn) {
      try {
        return await policy.execute(({ signal }) => fn(signal));
      } catch (err) {
        if (err instanceof BrokenCircuitError) throw new CircuitOpenError(opts.name);
        throw err;
      }
    },
    get state() {
      switch (policy.state) {
        case CircuitState.Closed:
          return 'closed';
        case CircuitState.HalfOpen:
          return 'half-open';
        default:
          return 'open';
      }
    },
  };
}
