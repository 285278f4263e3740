// The store's bounds: max_traces evicts the oldest trace (counted), max_spans_per_trace drops extra spans (counted),
// the log ring keeps only the newest max_log_records, and duplicate spans are stored once.
import test from 'ava';
import { metricValue, selfMetrics } from './support/collector.js';
import { source } from './support/source.js';
import { logRecord, newTraceId, span } from './support/spans.js';
import { get, startStore } from './support/store.js';

test('max_traces: the oldest trace is evicted first and counted; its service and operation go with it', async (t) => {
  const key = 'sb-traces';
  const { c, url } = await startStore(key, { max_traces: 3 });
  t.teardown(() => c.shutdown());
  const ids = Array.from({ length: 5 }, () => newTraceId());
  for (const [i, id] of ids.entries()) await source(`test_source/${key}`).traces!.consume([span({ traceId: id, service: `svc${i}`, name: `op${i}` })]);
  for (const id of ids.slice(0, 2)) t.is((await get(`${url}/api/traces/${id}`)).status, 404);
  for (const id of ids.slice(2)) t.is((await get(`${url}/api/traces/${id}`)).status, 200);
  t.deepEqual((await get(`${url}/api/services`)).json, { data: ['svc2', 'svc3', 'svc4'], total: 3, limit: 0, offset: 0, errors: null });
  t.is(((await get(`${url}/api/services/svc0/operations`)).json as { data: unknown }).data, null);
  const m = await selfMetrics(c);
  t.is(metricValue(m, 'otelcol_exporter_store_evicted_traces_total', { exporter: `store/${key}` }), 2);
  t.is(metricValue(m, 'otelcol_exporter_store_traces', { exporter: `store/${key}` }), 3);
});

test('a later span of a stored trace joins it without evicting anything', async (t) => {
  const key = 'sb-join';
  const { c, url } = await startStore(key, { max_traces: 2 });
  t.teardown(() => c.shutdown());
  const [a, b] = [newTraceId(), newTraceId()];
  const root = span({ traceId: a, name: 'root' });
  await source(`test_source/${key}`).traces!.consume([root]);
  await source(`test_source/${key}`).traces!.consume([span({ traceId: b })]);
  await source(`test_source/${key}`).traces!.consume([span({ traceId: a, name: 'late', parentSpanId: root.spanId })]);
  const r = (await get(`${url}/api/traces/${a}`)).json as { data: { spans: { operationName: string }[] }[] };
  t.deepEqual(r.data[0]!.spans.map((s) => s.operationName), ['root', 'late']);
  t.is((await get(`${url}/api/traces/${b}`)).status, 200);
});

test('max_spans_per_trace drops and counts extra spans; a resent span is stored once', async (t) => {
  const key = 'sb-spans';
  const { c, url } = await startStore(key, { max_spans_per_trace: 3 });
  t.teardown(() => c.shutdown());
  const id = newTraceId();
  const spans = Array.from({ length: 5 }, (_, i) => span({ traceId: id, name: `s${i}` }));
  await source(`test_source/${key}`).traces!.consume(spans.slice(0, 2));
  await source(`test_source/${key}`).traces!.consume(spans.slice(0, 2)); // an exporter's retry
  await source(`test_source/${key}`).traces!.consume(spans.slice(2));
  const r = (await get(`${url}/api/traces/${id}`)).json as { data: { spans: { operationName: string }[] }[] };
  t.deepEqual(r.data[0]!.spans.map((s) => s.operationName), ['s0', 's1', 's2']);
  const m = await selfMetrics(c);
  t.is(metricValue(m, 'otelcol_exporter_store_dropped_spans_total', { exporter: `store/${key}` }), 2);
  t.is(metricValue(m, 'otelcol_exporter_store_duplicate_spans_total', { exporter: `store/${key}` }), 2);
});

test('the log ring keeps the newest max_log_records; evictions are counted; per-trace lines go with them', async (t) => {
  const key = 'sb-logs';
  const { c, url } = await startStore(key, { max_log_records: 5 });
  t.teardown(() => c.shutdown());
  const tid = newTraceId();
  const base = Date.now() - 60_000;
  await source(`test_source/${key}`).logs!.consume([logRecord({ body: 'line0', traceId: tid, timeMs: base })]);
  const rest = Array.from({ length: 7 }, (_, i) => logRecord({ body: `line${i + 1}`, timeMs: base + (i + 1) * 10 }));
  await source(`test_source/${key}`).logs!.consume(rest);
  const body = (await get(`${url}/api/logs?limit=100`)).json as { data: { message: string }[]; total: number };
  t.is(body.total, 5);
  t.deepEqual(body.data.map((d) => d.message), ['line7', 'line6', 'line5', 'line4', 'line3']);
  t.is(((await get(`${url}/api/logs?trace_id=${tid}`)).json as { total: number }).total, 0);
  const m = await selfMetrics(c);
  t.is(metricValue(m, 'otelcol_exporter_store_evicted_log_records_total', { exporter: `store/${key}` }), 3);
  t.is(metricValue(m, 'otelcol_exporter_store_log_records', { exporter: `store/${key}` }), 5);
});
