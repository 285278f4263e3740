// loki exporter against a loopback push endpoint that checks Loki's contract: 429 is retried and nothing
// is lost; 400 is counted as failed, not retried; labels bounded and sanitised, trace context in
// structured metadata, tenant header, ns string timestamps, streams sorted by time; JSON and protobuf.
import test from 'ava';
import { waitFor } from '@lantern/testkit';
import { ConfigError } from '../src/pipeline/errors.js';
import type { DecodedLogRecord } from '../src/otlp/types.js';
import { metricValue, selfMetrics, startTestCollector } from './support/collector.js';
import { startLokiBackend, type LokiBackend } from './support/loki-push-backend.js';
import { source } from './support/source.js';
import { logRecord, newSpanId, newTraceId } from './support/spans.js';

const fastRetry = { initial_interval: '20ms', max_interval: '100ms', max_elapsed_time: '60s' };

async function pipeline(key: string, backend: LokiBackend, exporter: Record<string, unknown> = {}) {
  const id = `loki/${key}`;
  const c = await startTestCollector({
    receivers: { [`test_source/${key}`]: {} },
    exporters: { [id]: { endpoint: backend.url, retry_on_failure: fastRetry, sending_queue: { num_consumers: 1 }, ...exporter } },
    service: { pipelines: { logs: { receivers: [`test_source/${key}`], exporters: [id] } } },
  });
  return { c, id, src: source(`test_source/${key}`) };
}

const metric = async (c: Parameters<typeof selfMetrics>[0], name: string, labels: Record<string, string>) => metricValue(await selfMetrics(c), name, labels);

function records(n: number, service = 'shop'): DecodedLogRecord[] {
  const base = Date.now();
  // deliberately out of time order, several severities
  return Array.from({ length: n }, (_, i) => {
    const rec = logRecord({ service, body: `line ${i}`, severity: [9, 13, 17][i % 3], timeMs: base - ((i * 7) % n), attributes: { 'http.route': '/orders', 'user.id': `u${i}`, attempt: i } });
    return { ...rec, traceId: newTraceId(), spanId: newSpanId() };
  });
}

test('429 is retried (Retry-After) and every entry arrives: push contract, labels, metadata, tenant', async (t) => {
  const backend = await startLokiBackend({ script: [{ status: 429, headers: { 'retry-after': '1' }, body: 'Ingestion rate limit exceeded' }, { status: 503 }] });
  t.teardown(() => backend.close());
  const { c, id, src } = await pipeline('retry', backend, { tenant_id: 'shop-team', headers: { authorization: 'Basic c2VjcmV0' } });
  t.teardown(() => c.shutdown());
  const recs = records(30);
  await src.logs!.consume(recs);
  await waitFor(() => backend.entries.length >= recs.length, { what: 'entries in Loki' });
  await waitFor(async () => (await metric(c, 'otelcol_exporter_sent_log_records_total', { exporter: id })) === 30, { what: 'sent metric' });
  t.deepEqual(backend.violations, []);
  t.deepEqual(backend.requests.map((r) => r.status), [429, 503, 204]);
  for (const r of backend.requests) {
    t.is(r.headers['x-scope-orgid'], 'shop-team');
    t.is(r.headers.authorization, 'Basic c2VjcmV0');
  }
  t.is(backend.entries.length, recs.length, 'each entry exactly once');
  const byLine = new Map(backend.entries.map((e) => [e.line, e]));
  for (const [i, rec] of recs.entries()) {
    const e = byLine.get(`line ${i}`)!;
    t.is(e.ts, rec.timeUnixNano);
    t.deepEqual(e.labels, { service_name: 'shop', level: ['info', 'warn', 'error'][i % 3]! });
    t.is(e.metadata.trace_id, rec.traceId);
    t.is(e.metadata.span_id, rec.spanId);
    t.is(e.metadata.user_id, `u${i}`);
    t.is(e.metadata.attempt, String(i));
  }
  // three streams (one per level), each in time order
  const push = backend.pushes[0]!;
  t.is(push.length, 3);
  for (const s of push) t.deepEqual(s.ts, [...s.ts].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0)));
});

test('400 is permanent: not retried, counted as failed, and later pushes still go through', async (t) => {
  const backend = await startLokiBackend({ script: [{ status: 400, body: 'entry for stream has timestamp too old' }] });
  t.teardown(() => backend.close());
  const { c, id, src } = await pipeline('perm', backend);
  t.teardown(() => c.shutdown());
  await src.logs!.consume(records(4));
  await waitFor(async () => (await metric(c, 'otelcol_exporter_send_failed_log_records_total', { exporter: id })) === 4, { what: 'failed metric' });
  await src.logs!.consume(records(1));
  await waitFor(() => backend.entries.length === 1, { what: 'the next push' });
  t.deepEqual(backend.requests.map((r) => r.status), [400, 204]);
});

test('labels are sanitised and bounded by max_labels; the overflow goes to structured metadata', async (t) => {
  const backend = await startLokiBackend({ maxLabels: 4 });
  t.teardown(() => backend.close());
  const { c, src } = await pipeline('bounded', backend, {
    max_labels: 4,
    labels: { resource: { 'service.name': 'service_name', 'deployment.environment': 'env' }, attributes: { 'http.route': 'http.route', region: '1region', 'k8s.pod': 'pod' } },
  });
  t.teardown(() => c.shutdown());
  const rec = logRecord({ attributes: { 'http.route': '/pay', region: 'eu', 'k8s.pod': 'pod-7' } });
  const withEnv = { ...rec, resource: { attributes: { 'service.name': 'pay', 'deployment.environment': 'prod' } } };
  await src.logs!.consume([withEnv]);
  await waitFor(() => backend.entries.length === 1, { what: 'the entry' });
  t.deepEqual(backend.violations, []);
  const e = backend.entries[0]!;
  t.deepEqual(e.labels, { service_name: 'pay', env: 'prod', level: 'info', http_route: '/pay' });
  t.is(e.metadata._1region, 'eu');
  t.is(e.metadata.pod, 'pod-7');
});

test('protobuf format: snappy PushRequest with structured metadata', async (t) => {
  const backend = await startLokiBackend();
  t.teardown(() => backend.close());
  const { c, src } = await pipeline('proto', backend, { format: 'protobuf' });
  t.teardown(() => c.shutdown());
  const recs = records(5, 'inventory');
  await src.logs!.consume(recs);
  await waitFor(() => backend.entries.length === 5, { what: 'entries' });
  t.deepEqual(backend.violations, []);
  t.is(backend.requests[0]?.headers['content-type'], 'application/x-protobuf');
  const e = backend.entries.find((x) => x.line === 'line 2')!;
  t.is(e.ts, recs[2]!.timeUnixNano);
  t.is(e.metadata.trace_id, recs[2]!.traceId);
  t.deepEqual(e.labels, { service_name: 'inventory', level: 'error' });
});

test('config: trace or request ids can never be labels', async (t) => {
  const err = await t.throwsAsync(
    () =>
      startTestCollector({
        receivers: { 'test_source/lokicfg': {} },
        exporters: { 'loki/cfg': { labels: { attributes: { trace_id: 'trace_id' } } } },
        service: { pipelines: { logs: { receivers: ['test_source/lokicfg'], exporters: ['loki/cfg'] } } },
      }),
    { instanceOf: ConfigError },
  );
  t.regex(err?.message ?? '', /structured metadata/);
});
