// pino transport target (runs in pino's worker thread, hence plain JS) wrapping pino-loki 3.
// It moves trace_id/span_id into `meta`, which pino-loki sends as Loki structured metadata
// (never as labels: unbounded values would create a stream per trace), makes closing the
// transport wait for pino-loki's final push, so shutdown does not lose the last batch, and
// retries pushes that fail for a transient reason (see retryingFetch).
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import build from 'pino-abstract-transport';
import { pinoLoki } from 'pino-loki';

const RETRY_BASE_DELAY_MS = 250;
const RETRY_MAX_DELAY_MS = 5_000;
/** While closing, a push gets at most this long: thread-stream gives end() 10 s in all. */
const CLOSING_BUDGET_MS = 3_000;
const CLOSING_ATTEMPT_TIMEOUT_MS = 2_000;

let closing = false;

const transient = (status) => status === 429 || status >= 500;

/**
 * pino-loki pushes with the global fetch and drops a batch at the first failure: a Loki restart
 * would lose every line of the batch. This worker thread runs only this transport, so its fetch is
 * wrapped: network errors, 429 and 5xx are retried with exponential backoff and full jitter for up
 * to `budgetMs` (a fresh timeout per attempt), then the last answer goes back to pino-loki, which
 * reports it on stderr. Lines that arrive meanwhile wait in pino-loki's bounded buffer.
 */
function retryingFetch(fetchImpl, budgetMs, attemptTimeoutMs) {
  return async function fetchWithRetry(url, init = {}) {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      let outcome;
      try {
        const timeoutMs = closing ? Math.min(attemptTimeoutMs, CLOSING_ATTEMPT_TIMEOUT_MS) : attemptTimeoutMs;
        outcome = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
        if (!transient(outcome.status)) return outcome;
      } catch (err) {
        outcome = err;
      }
      const delay = Math.random() * Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_DELAY_MS * 2 ** (attempt - 1));
      const budget = closing ? Math.min(budgetMs, CLOSING_BUDGET_MS) : budgetMs;
      if (Date.now() + delay - started > budget) {
        if (outcome instanceof Error) throw outcome;
        return outcome;
      }
      await sleep(delay);
    }
  };
}

export default async function lokiTarget({ retryBudgetMs = 30_000, ...options }) {
  globalThis.fetch = retryingFetch(globalThis.fetch, retryBudgetMs, options.timeout ?? 5_000);
  const loki = pinoLoki(options);
  return build(
    async (source) => {
      for await (const log of source) {
        if (log.trace_id !== undefined) {
          log.meta = { ...(log.meta ?? {}), trace_id: log.trace_id, span_id: log.span_id };
          delete log.trace_id;
          delete log.span_id;
          delete log.trace_flags;
        }
        if (!loki.write(`${JSON.stringify(log)}\n`)) await once(loki, 'drain');
      }
    },
    {
      async close() {
        closing = true;
        const closed = once(loki, 'close');
        loki.end();
        await closed;
      },
    },
  );
}
