import test from 'ava';
import { uniqueName, waitFor } from '@lantern/testkit';
import { BulkheadRejectedError, CircuitOpenError, createBulkhead, createCircuitBreaker } from '../../src/index.js';
import type { CircuitBreaker, CircuitStateName } from '../../src/index.js';
import { deferred, inSpan, metricValue, setUpTracing, tick } from './helpers.js';

const { tracer, exporter } = setUpTracing();
const boom = (): Error => new Error('dependency down');

async function failTimes(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await breaker.execute(async () => Promise.reject(boom())).catch(() => undefined);
  }
}

/** Polls until the open interval has passed and the breaker lets `fn` through as the trial. */
async function runTrial(breaker: CircuitBreaker, fn: () => Promise<string>): Promise<'ran'> {
  return waitFor(
    async () => {
      let ran = false;
      try {
        await breaker.execute(() => {
          ran = true;
          return fn();
        });
      } catch (err) {
        if (!ran && err instanceof CircuitOpenError) return false; // still open
        if (!ran) throw err;
      }
      return ran ? 'ran' : false;
    },
    { what: 'half-open trial', intervalMs: 20 },
  );
}

test('breaker: opens after the threshold and rejects without calling fn', async (t) => {
  const name = uniqueName('breaker_open');
  const breaker = createCircuitBreaker({ name, failureThreshold: 3, halfOpenAfterMs: 60_000 });
  const seen: [CircuitStateName, CircuitStateName][] = [];
  breaker.onStateChange((to, from) => seen.push([to, from]));
  t.is(await metricValue('resilience_circuit_state', { name }), 0);

  await failTimes(breaker, 2);
  t.is(breaker.state, 'closed');
  await failTimes(breaker, 1);
  t.is(breaker.state, 'open');
  t.deepEqual(seen, [['open', 'closed']]);
  t.is(await metricValue('resilience_circuit_state', { name }), 2);
  t.is(await metricValue('resilience_circuit_transitions_total', { name, to: 'open' }), 1);

  let called = false;
  let err: unknown;
  const span = await inSpan(tracer, exporter, async () => {
    err = await t.throwsAsync(
      breaker.execute(async () => {
        called = true;
        return 1;
      }),
    );
  });
  t.false(called);
  t.true(err instanceof CircuitOpenError);
  const open = err as CircuitOpenError;
  t.is(open.code, 'ECIRCUITOPEN');
  t.is(open.operation, name);
  t.true(open.retryAfterMs !== undefined && open.retryAfterMs > 0 && open.retryAfterMs <= 60_000);
  t.is(await metricValue('resilience_circuit_rejections_total', { name }), 1);
  t.true(span.events.some((e) => e.name === 'resilience.circuit.rejected'));
});

test('breaker: a success resets the consecutive count; 4xx errors do not count', async (t) => {
  const name = uniqueName('breaker_reset');
  const breaker = createCircuitBreaker({ name, failureThreshold: 2, halfOpenAfterMs: 60_000 });
  await failTimes(breaker, 1);
  await breaker.execute(async () => 'ok');
  await failTimes(breaker, 1);
  t.is(breaker.state, 'closed');
  for (let i = 0; i < 5; i++) {
    await breaker.execute(async () => Promise.reject(Object.assign(new Error('bad request'), { status: 400 }))).catch(() => undefined);
  }
  t.is(breaker.state, 'closed');
});

test('breaker: half-open lets one trial through and closes on success', async (t) => {
  const name = uniqueName('breaker_close');
  const breaker = createCircuitBreaker({ name, failureThreshold: 1, halfOpenAfterMs: 50 });
  await failTimes(breaker, 1);
  t.is(breaker.state, 'open');

  const trial = deferred<string>();
  let trialStarted = false;
  const trialRun = runTrial(breaker, () => {
    trialStarted = true;
    return trial.promise;
  });
  await waitFor(() => trialStarted, { what: 'trial to start' });
  t.is(breaker.state, 'half-open');
  t.is(await metricValue('resilience_circuit_state', { name }), 1);

  // While the trial is in flight, everyone else is rejected at once (fn not called).
  let otherCalled = false;
  const other = await t.throwsAsync(
    breaker.execute(async () => {
      otherCalled = true;
    }),
    { instanceOf: CircuitOpenError },
  );
  t.false(otherCalled);
  t.is(other?.retryAfterMs, undefined);

  trial.resolve('ok');
  await trialRun;
  t.is(breaker.state, 'closed');
  t.is(await metricValue('resilience_circuit_state', { name }), 0);
  t.is(await breaker.execute(async () => 'after'), 'after');
  t.is(await metricValue('resilience_circuit_transitions_total', { name, to: 'half-open' }), 1);
  t.is(await metricValue('resilience_circuit_transitions_total', { name, to: 'closed' }), 1);
});

test('breaker: a failed trial reopens the circuit', async (t) => {
  const name = uniqueName('breaker_reopen');
  const breaker = createCircuitBreaker({ name, failureThreshold: 1, halfOpenAfterMs: 50 });
  await failTimes(breaker, 1);
  await runTrial(breaker, async () => Promise.reject(boom()));
  t.is(breaker.state, 'open');
  t.is(await metricValue('resilience_circuit_state', { name }), 2);
  t.is(await metricValue('resilience_circuit_transitions_total', { name, to: 'open' }), 2);
  t.is(await metricValue('resilience_circuit_transitions_total', { name, to: 'closed' }), 0);
  await t.throwsAsync(breaker.execute(async () => 1), { instanceOf: CircuitOpenError });
});

test('breaker: ratio-based sampling opens when the failure rate passes the threshold', async (t) => {
  const name = uniqueName('breaker_sampling');
  const breaker = createCircuitBreaker({ name, sampling: { threshold: 0.5, durationMs: 60_000, minimumRps: 0.001 }, halfOpenAfterMs: 60_000 });
  for (let i = 0; i < 4; i++) await breaker.execute(async () => 'ok');
  await failTimes(breaker, 3);
  t.is(breaker.state, 'closed'); // 3 of 7 failed: under 50%
  await failTimes(breaker, 2);
  t.is(breaker.state, 'open'); // 5 of 9
});

test('bulkhead: at most maxConcurrent in flight; over the queue is rejected', async (t) => {
  const name = uniqueName('bulkhead');
  const bulkhead = createBulkhead({ name, maxConcurrent: 2, maxQueue: 2 });
  let inFlight = 0;
  let maxInFlight = 0;
  const gates = Array.from({ length: 4 }, () => deferred());
  const started: number[] = [];
  const runs = gates.map((gate, i) =>
    bulkhead.execute(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      started.push(i);
      await gate.promise;
      inFlight--;
      return i;
    }),
  );
  await tick();
  t.deepEqual(started, [0, 1]);
  t.is(bulkhead.active, 2);
  t.is(bulkhead.queued, 2);
  t.is(await metricValue('resilience_bulkhead_active', { name }), 2);
  t.is(await metricValue('resilience_bulkhead_queued', { name }), 2);

  let rejectedCalled = false;
  const err = await t.throwsAsync(
    bulkhead.execute(async () => {
      rejectedCalled = true;
    }),
    { instanceOf: BulkheadRejectedError },
  );
  t.false(rejectedCalled);
  t.is(err?.code, 'EBULKHEADFULL');
  t.is(await metricValue('resilience_bulkhead_rejections_total', { name }), 1);

  gates[0]?.resolve();
  await waitFor(() => started.length === 3, { what: 'queued call to start' });
  t.is(bulkhead.queued, 1);
  for (const g of gates) g.resolve();
  t.deepEqual(await Promise.all(runs), [0, 1, 2, 3]);
  t.is(maxInFlight, 2);
  t.is(bulkhead.active, 0);
  t.is(await metricValue('resilience_bulkhead_active', { name }), 0);
  t.is(await metricValue('resilience_bulkhead_queued', { name }), 0);
});

test('bulkhead: errors from fn pass through and free the slot', async (t) => {
  const bulkhead = createBulkhead({ name: uniqueName('bulkhead_err'), maxConcurrent: 1 });
  const e = new Error('inner');
  t.is(await t.throwsAsync(bulkhead.execute(async () => Promise.reject(e))), e);
  t.is(await bulkhead.execute(async () => 'next'), 'next');
});
