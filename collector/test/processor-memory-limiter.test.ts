// memory_limiter through a real pipeline: test_source → memory_limiter → test_sink. The RSS reading is
// injected (a factory variant registered under its own type) so the test drives it over and under the limits.
import test, { type ExecutionContext } from 'ava';
import { waitFor } from '@lantern/testkit';
import { ConfigError, RefusedError } from '../src/index.js';
import { createMemoryLimiterFactory } from '../src/components/processors/memory_limiter/index.js';
import { registerFactory } from '../src/pipeline/registry.js';
import { metricValue, selfMetrics, startTestCollector } from './support/collector.js';
import { sink } from './support/sink.js';
import { source } from './support/source.js';
import { logRecord, span } from './support/spans.js';

const MIB = 1024 * 1024;

const pipelineDoc = (key: string, processor: string, body: Record<string, unknown>) => ({
  receivers: { [`test_source/${key}`]: {} },
  processors: { [processor]: body },
  exporters: { [`test_sink/${key}`]: {} },
  service: { pipelines: { traces: { receivers: [`test_source/${key}`], processors: [processor], exporters: [`test_sink/${key}`] } } },
});

/** A memory_limiter type whose RSS reading is `rss.bytes` (and V8's free heap `rss.freeHeap`). */
function fakeLimiter(type: string, initialMiB: number) {
  const rss = { bytes: initialMiB * MIB, freeHeap: 0 };
  registerFactory(createMemoryLimiterFactory({ type, readRss: () => rss.bytes, readFreeHeap: () => rss.freeHeap }));
  return rss;
}

async function configError(t: ExecutionContext, body: Record<string, unknown>, key: string, message: RegExp) {
  const err = await t.throwsAsync(() => startTestCollector(pipelineDoc('ml-cfg', 'memory_limiter', body)), { instanceOf: ConfigError });
  t.is(err?.key, key);
  t.regex(err?.message ?? '', message);
}

test('refuses above the soft limit (nothing reaches the sink), passes again once back under it', async (t) => {
  // hard 100 MiB, soft 80 MiB
  const rss = fakeLimiter('memory_limiter_fake1', 90);
  const c = await startTestCollector(pipelineDoc('ml1', 'memory_limiter_fake1', { limit_mib: 100, spike_limit_mib: 20, check_interval: '10ms' }));
  t.teardown(() => c.shutdown());
  const consume = () => source('test_source/ml1').traces!.consume([span({ name: 'x' }), span({ name: 'y' })]);
  const state = async () => metricValue(await selfMetrics(c), 'otelcol_processor_memory_limiter_state', { processor: 'memory_limiter_fake1', pipeline: 'traces' });

  const refused = await t.throwsAsync(consume, { instanceOf: RefusedError });
  t.is(refused?.retryAfterSeconds, 1);
  t.is(sink('test_sink/ml1').traces.length, 0);
  t.is(await state(), 1);
  t.is(metricValue(await selfMetrics(c), 'otelcol_processor_refused_spans_total', { processor: 'memory_limiter_fake1', pipeline: 'traces' }), 2);

  rss.bytes = 150 * MIB;
  await waitFor(async () => (await state()) === 2, { intervalMs: 20, timeoutMs: 10_000 });
  await t.throwsAsync(consume, { instanceOf: RefusedError });

  rss.bytes = 50 * MIB;
  await waitFor(async () => (await state()) === 0, { intervalMs: 20, timeoutMs: 10_000 });
  await consume();
  t.deepEqual(sink('test_sink/ml1').traces.map((s) => s.name), ['x', 'y']);

  // between soft and hard after having been fine: refuses again
  rss.bytes = 85 * MIB;
  await waitFor(async () => (await state()) === 1, { intervalMs: 20, timeoutMs: 10_000 });
  await t.throwsAsync(consume, { instanceOf: RefusedError });
  t.is(sink('test_sink/ml1').traces.length, 2);
});

test('the soft limit is compared with RSS less free V8 heap; the hard limit with RSS itself', async (t) => {
  // hard 100 MiB, soft 80 MiB
  const rss = fakeLimiter('memory_limiter_fake4', 90);
  rss.freeHeap = 20 * MIB;
  const c = await startTestCollector(pipelineDoc('ml4', 'memory_limiter_fake4', { limit_mib: 100, spike_limit_mib: 20, check_interval: '10ms' }));
  t.teardown(() => c.shutdown());
  const state = async () => metricValue(await selfMetrics(c), 'otelcol_processor_memory_limiter_state', { processor: 'memory_limiter_fake4', pipeline: 'traces' });
  // 90 MiB resident, 20 of it free heap: 70 MiB used, under the soft limit
  await source('test_source/ml4').traces!.consume([span()]);
  t.is(sink('test_sink/ml4').traces.length, 1);
  // 110 MiB resident is over the hard limit however much of it is free heap
  rss.bytes = 110 * MIB;
  rss.freeHeap = 60 * MIB;
  await waitFor(async () => (await state()) === 2, { intervalMs: 20, timeoutMs: 10_000 });
  await t.throwsAsync(() => source('test_source/ml4').traces!.consume([span()]), { instanceOf: RefusedError });
  t.is(sink('test_sink/ml4').traces.length, 1);
});

test('one limiter per processor id, shared by the pipelines that list it (one measurement, one GC)', async (t) => {
  let reads = 0;
  registerFactory(createMemoryLimiterFactory({ type: 'memory_limiter_fake5', readRss: () => (reads++, 90 * MIB) }));
  const c = await startTestCollector({
    receivers: { 'test_source/ml5': {} },
    processors: { memory_limiter_fake5: { limit_mib: 100, spike_limit_mib: 20, check_interval: '1h' } },
    exporters: { 'test_sink/ml5': {} },
    service: {
      pipelines: {
        traces: { receivers: ['test_source/ml5'], processors: ['memory_limiter_fake5'], exporters: ['test_sink/ml5'] },
        logs: { receivers: ['test_source/ml5'], processors: ['memory_limiter_fake5'], exporters: ['test_sink/ml5'] },
      },
    },
  });
  t.teardown(() => c.shutdown());
  t.is(reads, 1);
  await t.throwsAsync(() => source('test_source/ml5').traces!.consume([span()]), { instanceOf: RefusedError });
  await t.throwsAsync(() => source('test_source/ml5').logs!.consume([logRecord()]), { instanceOf: RefusedError });
  const m = await selfMetrics(c);
  t.is(metricValue(m, 'otelcol_processor_memory_limiter_state', { processor: 'memory_limiter_fake5', pipeline: 'traces' }), 1);
  t.is(metricValue(m, 'otelcol_processor_memory_limiter_state', { processor: 'memory_limiter_fake5', pipeline: 'logs' }), 1);
  t.is(metricValue(m, 'otelcol_processor_refused_log_records_total', { processor: 'memory_limiter_fake5', pipeline: 'logs' }), 1);
});

test('Retry-After follows check_interval, rounded up', async (t) => {
  fakeLimiter('memory_limiter_fake2', 500);
  const c = await startTestCollector(pipelineDoc('ml2', 'memory_limiter_fake2', { limit_percentage: 50, check_interval: '2.5s' }));
  t.teardown(() => c.shutdown());
  // 500 MiB is far below 50% of any machine this runs on: accepted
  await source('test_source/ml2').traces!.consume([span()]);
  t.is(sink('test_sink/ml2').traces.length, 1);
  fakeLimiter('memory_limiter_fake3', 10);
  const c3 = await startTestCollector(pipelineDoc('ml3', 'memory_limiter_fake3', { limit_mib: 8, check_interval: '2.5s' }));
  t.teardown(() => c3.shutdown());
  const err = await t.throwsAsync(() => source('test_source/ml3').traces!.consume([span()]), { instanceOf: RefusedError });
  t.is(err?.retryAfterSeconds, 3);
});

test('with the real RSS measurement and a tiny limit, data is refused', async (t) => {
  const c = await startTestCollector(pipelineDoc('ml-real', 'memory_limiter/real', { limit_mib: 1 }));
  t.teardown(() => c.shutdown());
  await t.throwsAsync(() => source('test_source/ml-real').traces!.consume([span()]), { instanceOf: RefusedError });
  t.is(sink('test_sink/ml-real').traces.length, 0);
});

test('with the real measurement and a generous limit, data passes', async (t) => {
  const c = await startTestCollector(pipelineDoc('ml-real2', 'memory_limiter/real2', { limit_mib: 64 * 1024 }));
  t.teardown(() => c.shutdown());
  await source('test_source/ml-real2').traces!.consume([span()]);
  t.is(sink('test_sink/ml-real2').traces.length, 1);
});

test('config errors name the key', async (t) => {
  await configError(t, {}, 'processors.memory_limiter.limit_mib', /one of limit_mib or limit_percentage is required/);
  await configError(t, { limit_mib: 100, limit_percentage: 50 }, 'processors.memory_limiter.limit_percentage', /either limit_mib or limit_percentage/);
  await configError(t, { limit_mib: 100, spike_limit_mib: 100 }, 'processors.memory_limiter.spike_limit_mib', /less than the hard limit/);
  await configError(t, { limit_percentage: 10, spike_limit_percentage: 20 }, 'processors.memory_limiter.spike_limit_percentage', /less than the hard limit/);
  await configError(t, { limit_percentage: 101 }, 'processors.memory_limiter.limit_percentage', /100/);
  await configError(t, { limit_mib: 10, check_interval: '0s' }, 'processors.memory_limiter.check_interval', /greater than 0/);
  await configError(t, { limit_mib: 10, ballast: 1 }, 'processors.memory_limiter', /ballast/);
});
