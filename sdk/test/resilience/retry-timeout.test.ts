import test from 'ava';
import { uniqueName } from '@lantern/testkit';
import { LanternError, TimeoutError, fullJitterDelay, isRetryableError, retry, withTimeout, ResilienceConfigError } from '../../src/index.js';
import { inSpan, metricValue, setUpTracing } from './helpers.js';

const { tracer, exporter } = setUpTracing();
const fast = { baseDelayMs: 1, maxDelayMs: 2 };
const netError = (): Error => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
const httpError = (status: number): Error => Object.assign(new Error(`HTTP ${status}`), { status });

test('retry: retries a retryable error up to maxAttempts, then throws the last error', async (t) => {
  const name = uniqueName('retry_exhaust');
  const errors: Error[] = [];
  const err = await t.throwsAsync(
    retry(
      async ({ attempt }) => {
        const e = Object.assign(netError(), { attempt });
        errors.push(e);
        throw e;
      },
      { name, maxAttempts: 4, ...fast },
    ),
  );
  t.is(errors.length, 4);
  t.true(err === errors[3]); // the last error, unchanged
  t.is(await metricValue('resilience_retry_attempts_total', { name, outcome: 'retry' }), 3);
  t.is(await metricValue('resilience_retry_attempts_total', { name, outcome: 'exhausted' }), 1);
  t.is(await metricValue('resilience_retry_attempts_total', { name, outcome: 'success' }), 0);
});

test('retry: does not retry a 400-classified error', async (t) => {
  const name = uniqueName('retry_400');
  let calls = 0;
  const err = await t.throwsAsync(
    retry(async () => {
      calls++;
      throw httpError(400);
    }, { name, ...fast }),
  );
  t.is(calls, 1);
  t.is((err as { status?: number }).status, 400);
  t.is(await metricValue('resilience_retry_attempts_total', { name, outcome: 'non_retryable' }), 1);
});

test('retry: succeeds on attempt 2, passes attempt numbers, records span events', async (t) => {
  const name = uniqueName('retry_ok');
  const seen: number[] = [];
  let result: string | undefined;
  const span = await inSpan(tracer, exporter, async () => {
    result = await retry(
      async ({ attempt, signal }) => {
        seen.push(attempt);
        t.false(signal.aborted);
        if (attempt === 1) throw httpError(503);
        return 'ok';
      },
      { name, ...fast },
    );
  });
  t.is(result, 'ok');
  t.deepEqual(seen, [1, 2]);
  t.is(await metricValue('resilience_retry_attempts_total', { name, outcome: 'retry' }), 1);
  t.is(await metricValue('resilience_retry_attempts_total', { name, outcome: 'success' }), 1);
  const events = span.events.filter((e) => e.name === 'resilience.retry');
  t.is(events.length, 1);
  t.is(events[0]?.attributes?.['retry.attempt'], 2);
  t.is(events[0]?.attributes?.['resilience.name'], name);
  const delay = events[0]?.attributes?.['retry.delay_ms'];
  t.true(typeof delay === 'number' && delay >= 0 && delay <= fast.baseDelayMs);
});

test('retry: a custom isRetryable overrides the default classification', async (t) => {
  let calls = 0;
  await t.throwsAsync(
    retry(async () => {
      calls++;
      throw httpError(500);
    }, { name: uniqueName('retry_custom'), maxAttempts: 3, isRetryable: () => true, ...fast }),
  );
  t.is(calls, 3);
});

test('retry: an aborted signal stops retrying and rejects with its reason', async (t) => {
  const ac = new AbortController();
  let calls = 0;
  const reason = new Error('caller gave up');
  const err = await t.throwsAsync(
    retry(
      async () => {
        calls++;
        ac.abort(reason);
        throw netError();
      },
      { name: uniqueName('retry_abort'), maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000, signal: ac.signal },
    ),
  );
  t.is(err, reason);
  t.is(calls, 1);
});

test('fullJitterDelay: stays within [0, min(max, base * 2^(retry-1))]', (t) => {
  const opts = { baseDelayMs: 100, maxDelayMs: 1000 };
  for (let retryNo = 1; retryNo <= 10; retryNo++) {
    const cap = Math.min(1000, 100 * 2 ** (retryNo - 1));
    t.is(fullJitterDelay(retryNo, opts, () => 0), 0);
    const top = fullJitterDelay(retryNo, opts, () => 0.999999);
    t.true(top <= cap && top >= cap - 1, `retry ${retryNo}: ${top} vs cap ${cap}`);
    for (let i = 0; i < 200; i++) {
      const d = fullJitterDelay(retryNo, opts);
      t.true(d >= 0 && d <= cap, `retry ${retryNo}: ${d} outside [0, ${cap}]`);
    }
  }
  // Exponential: the cap doubles until it reaches maxDelayMs.
  t.is(fullJitterDelay(3, opts, () => 0.5), 200);
  t.is(fullJitterDelay(20, opts, () => 0.5), 500);
});

test('isRetryableError: default classification', (t) => {
  for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']) {
    t.true(isRetryableError(Object.assign(new Error(code), { code })), code);
  }
  for (const status of [429, 502, 503, 504]) t.true(isRetryableError(httpError(status)), String(status));
  for (const status of [400, 401, 403, 404, 409, 422, 500]) t.false(isRetryableError(httpError(status)), String(status));
  t.true(isRetryableError({ statusCode: 503 }));
  t.true(isRetryableError({ response: { status: 429 } }));
  t.true(isRetryableError(Object.assign(new Error('x'), { retryable: true })));
  t.false(isRetryableError(Object.assign(netError(), { retryable: false })));
  t.true(isRetryableError(new TimeoutError('op', 10)));
  t.true(isRetryableError(new TypeError('fetch failed', { cause: Object.assign(new Error('c'), { code: 'ECONNREFUSED' }) })));
  t.false(isRetryableError(Object.assign(new Error('aborted'), { code: 'UND_ERR_ABORTED' })));
  t.false(isRetryableError(new DOMException('aborted', 'AbortError')));
  t.false(isRetryableError(new Error('plain')));
  t.false(isRetryableError('a string'));
});

test('retry: invalid options fail with the key named', async (t) => {
  const err = await t.throwsAsync(retry(async () => 1, { name: 'x', maxAttempts: 0 }), { instanceOf: ResilienceConfigError });
  t.is(err?.key, 'maxAttempts');
  t.regex(err?.message ?? '', /maxAttempts/);
});

test('withTimeout: throws TimeoutError, aborts the signal, counts and records an event', async (t) => {
  const name = uniqueName('timeout');
  let seen: AbortSignal | undefined;
  let err: unknown;
  const span = await inSpan(tracer, exporter, async () => {
    err = await t.throwsAsync(
      withTimeout(
        (signal) => {
          seen = signal;
          return new Promise<never>(() => {}); // never settles: the deadline must win on its own
        },
        20,
        name,
      ),
    );
  });
  t.true(err instanceof TimeoutError);
  const te = err as TimeoutError;
  t.is(te.code, 'ETIMEOUT');
  t.is(te.name, 'TimeoutError');
  t.true(te instanceof LanternError, 'one base class for every SDK error');
  t.is(te.operation, name);
  t.is(te.timeoutMs, 20);
  t.true(seen?.aborted);
  t.is(await metricValue('resilience_timeouts_total', { name }), 1);
  t.true(span.events.some((e) => e.name === 'resilience.timeout' && e.attributes?.['resilience.name'] === name));
});

test('withTimeout: passes through the result and fn errors, leaving the signal usable', async (t) => {
  const name = uniqueName('timeout_ok');
  let seen: AbortSignal | undefined;
  t.is(await withTimeout(async (signal) => ((seen = signal), 42), 60_000, name), 42);
  t.false(seen?.aborted); // a returned stream can still be read
  const boom = new Error('boom');
  t.is(await t.throwsAsync(withTimeout(async () => Promise.reject(boom), 60_000, name)), boom);
  t.is(await metricValue('resilience_timeouts_total', { name }), 0);
});

test('withTimeout: a parent abort rejects with its reason, not a TimeoutError', async (t) => {
  const ac = new AbortController();
  const reason = new Error('client went away');
  const name = uniqueName('timeout_parent');
  const p = withTimeout((signal) => new Promise((_r, rej) => signal.addEventListener('abort', () => rej(signal.reason))), 60_000, name, {
    signal: ac.signal,
  });
  ac.abort(reason);
  t.is(await t.throwsAsync(p), reason);
  t.is(await metricValue('resilience_timeouts_total', { name }), 0);
});

test('retry: an abort during the backoff sleep rejects without another attempt', async (t) => {
  const ac = new AbortController();
  let calls = 0;
  const failed = new Promise<void>((resolve) => {
    void retry(
      async () => {
        calls++;
        setImmediate(resolve);
        throw netError();
      },
      // A long sleep: only the abort can end this test in time.
      { name: uniqueName('retry_abort_sleep'), maxAttempts: 5, baseDelayMs: 20_000, maxDelayMs: 20_000, signal: ac.signal },
    ).then(
      () => t.fail('should not resolve'),
      (err: unknown) => t.is(err, reason),
    );
  });
  const reason = new Error('shutdown');
  await failed; // first attempt failed; the policy is sleeping now (or about to)
  ac.abort(reason);
  await new Promise((r) => setImmediate(r));
  t.is(calls, 1);
  t.plan(2);
});
