// batch through a real pipeline: test_source → batch → test_sink / test_slow_sink. Every test checks
// both what reached the sink and how each consume() settled (back-pressure survives the batching).
import test from 'ava';
import { setImmediate as tick } from 'node:timers/promises';
import { ConfigError, RefusedError } from '../src/index.js';
import type { DecodedMetric } from '../src/otlp/types.js';
import { metricValue, selfMetrics, startTestCollector } from './support/collector.js';
import { sink } from './support/sink.js';
import { refuseIf } from './support/slow-sink.js';
import { source } from './support/source.js';
import { resourceOf, span } from './support/spans.js';

const doc = (key: string, batch: Record<string, unknown>, signal = 'traces', exporter = `test_sink/${key}`) => ({
  receivers: { [`test_source/${key}`]: {} },
  processors: { [`batch/${key}`]: batch },
  exporters: { [exporter]: exporter.startsWith('test_slow_sink') ? { key: `test_sink/${key}` } : {} },
  service: { pipelines: { [signal]: { receivers: [`test_source/${key}`], processors: [`batch/${key}`], exporters: [exporter] } } },
});

const spans = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => span({ name: `${prefix}${i}` }));

function gauge(name: string, points: number): DecodedMetric {
  return {
    name,
    type: 'gauge',
    resource: resourceOf('svc'),
    scope: { name: 'test', attributes: {} },
    dataPoints: Array.from({ length: points }, (_, i) => ({ attributes: { i }, startTimeUnixNano: '0', timeUnixNano: '1', flags: 0, value: i, exemplars: [] })),
  };
}

test('size trigger: a batch is sent once send_batch_size items are buffered, not before', async (t) => {
  const c = await startTestCollector(doc('b-size', { send_batch_size: 3, timeout: '1h' }));
  t.teardown(() => c.shutdown());
  const s = sink('test_sink/b-size');
  const first = source('test_source/b-size').traces!.consume(spans('a', 2));
  let settled = false;
  void first.then(() => (settled = true));
  await tick();
  t.is(s.batches.traces.length, 0);
  t.false(settled, 'a consume settles only once its items were sent and accepted');
  await Promise.all([first, source('test_source/b-size').traces!.consume(spans('b', 1))]);
  t.deepEqual(s.batches.traces.map((b) => b.map((x) => x.name)), [['a0', 'a1', 'b0']]);
  t.is(metricValue(await selfMetrics(c), 'otelcol_processor_batch_batch_size_trigger_send_total', { processor: 'batch/b-size', pipeline: 'traces' }), 1);
});

test('timeout trigger: a small batch is sent after the timeout, as one batch', async (t) => {
  const c = await startTestCollector(doc('b-time', { send_batch_size: 1000, timeout: '50ms' }));
  t.teardown(() => c.shutdown());
  const src = source('test_source/b-time').traces!;
  await Promise.all([src.consume(spans('a', 2)), src.consume(spans('b', 1))]);
  t.deepEqual(sink('test_sink/b-time').batches.traces.map((b) => b.length), [3]);
  const m = await selfMetrics(c);
  t.is(metricValue(m, 'otelcol_processor_batch_timeout_trigger_send_total', { processor: 'batch/b-time', pipeline: 'traces' }), 1);
  t.is(metricValue(m, 'otelcol_processor_batch_batch_send_size_sum', { processor: 'batch/b-time', pipeline: 'traces' }), 3);
});

test('send_batch_max_size splits a large batch into chunks of at most that many items, in order', async (t) => {
  const c = await startTestCollector(doc('b-max', { send_batch_size: 4, send_batch_max_size: 4, timeout: '1h' }));
  t.teardown(() => c.shutdown());
  const input = spans('s', 10);
  await source('test_source/b-max').traces!.consume(input);
  const s = sink('test_sink/b-max');
  t.deepEqual(s.batches.traces.map((b) => b.length), [4, 4, 2]);
  t.deepEqual(s.traces.map((x) => x.name), input.map((x) => x.name));
});

test('metrics are counted and split by data point; the input metrics are not modified', async (t) => {
  const c = await startTestCollector(doc('b-met', { send_batch_size: 4, send_batch_max_size: 4, timeout: '1h' }, 'metrics'));
  t.teardown(() => c.shutdown());
  const input = [gauge('m1', 5), gauge('m2', 3)];
  await source('test_source/b-met').metrics!.consume(input);
  const batches = sink('test_sink/b-met').batches.metrics;
  t.deepEqual(batches.map((b) => b.map((m) => `${m.name}:${m.dataPoints.length}`)), [['m1:4'], ['m1:1', 'm2:3']]);
  t.deepEqual(batches.flatMap((b) => b.flatMap((m) => m.dataPoints.map((p) => `${m.name}/${String(p.attributes.i)}`))), ['m1/0', 'm1/1', 'm1/2', 'm1/3', 'm1/4', 'm2/0', 'm2/1', 'm2/2']);
  t.is(input[0]!.dataPoints.length, 5);
  t.is(input[1]!.dataPoints.length, 3);
});

test('a refusing exporter makes every consume that contributed to the batch reject; nothing is lost', async (t) => {
  const c = await startTestCollector(doc('b-refuse', { send_batch_size: 3, timeout: '1h' }));
  t.teardown(() => c.shutdown());
  const s = sink('test_sink/b-refuse');
  s.refuse = true;
  const src = source('test_source/b-refuse').traces!;
  const results = await Promise.allSettled([src.consume(spans('a', 1)), src.consume(spans('b', 1)), src.consume(spans('c', 1))]);
  t.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
  for (const r of results) t.true(r.status === 'rejected' && r.reason instanceof RefusedError);
  t.is(s.traces.length, 0);
  // the senders retry once the exporter accepts again: everything arrives
  s.refuse = false;
  await Promise.all([src.consume(spans('a', 1)), src.consume(spans('b', 1)), src.consume(spans('c', 1))]);
  t.deepEqual(s.traces.map((x) => x.name).sort(), ['a0', 'b0', 'c0']);
});

test('when one chunk is refused, only the consumes whose items it carried reject', async (t) => {
  const c = await startTestCollector(doc('b-part', { send_batch_size: 2, send_batch_max_size: 2, timeout: '1h' }, 'traces', 'test_slow_sink/b-part'));
  t.teardown(() => c.shutdown());
  // refuse the chunk carrying span "b2"
  refuseIf('test_sink/b-part', (_signal, data) => (data as { name: string }[]).some((x) => x.name === 'b2'));
  t.teardown(() => refuseIf('test_sink/b-part', undefined));
  const src = source('test_source/b-part').traces!;
  // one batch of 4 items, sent as chunks [a0 b0] [b1 b2]: a's item was accepted, b's were not all
  const results = await Promise.allSettled([src.consume(spans('a', 1)), src.consume(spans('b', 3))]);
  t.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected']);
  t.true(results[1]!.status === 'rejected' && results[1].reason instanceof RefusedError);
  t.deepEqual(sink('test_sink/b-part').batches.traces.map((b) => b.map((x) => x.name)), [['a0', 'b0']]);
});

test('shutdown sends what is buffered and waits for it', async (t) => {
  const c = await startTestCollector(doc('b-shut', { send_batch_size: 1000, timeout: '1h' }, 'logs', 'test_slow_sink/b-shut'));
  const src = source('test_source/b-shut').logs!;
  const pending = src.consume([
    { timeUnixNano: '1', observedTimeUnixNano: '1', severityNumber: 9, body: 'one', attributes: {}, flags: 0, resource: resourceOf('svc'), scope: { name: 't', attributes: {} } },
  ]);
  await tick();
  t.is(sink('test_sink/b-shut').logs.length, 0);
  await c.shutdown();
  t.deepEqual(sink('test_sink/b-shut').logs.map((l) => l.body), ['one']);
  await t.notThrowsAsync(pending);
});

test('config: send_batch_max_size below send_batch_size names the key', async (t) => {
  const err = await t.throwsAsync(() => startTestCollector(doc('b-cfg', { send_batch_size: 100, send_batch_max_size: 10 })), { instanceOf: ConfigError });
  t.is(err?.key, 'processors.batch/b-cfg.send_batch_max_size');
  const err2 = await t.throwsAsync(() => startTestCollector(doc('b-cfg', { timeout: 'soon' })), { instanceOf: ConfigError });
  t.is(err2?.key, 'processors.batch/b-cfg.timeout');
});
