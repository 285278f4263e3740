// spanmetrics: Jaeger SPM's exact series from spans, exemplars in OpenMetrics, the cardinality cap,
// pass-through, and the SPM queries answered by a real Prometheus scraping the prometheus exporter.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { promExemplars, promQuery, registerScrapeTarget, uniqueName, waitFor } from '@lantern/testkit';
import { Collector } from '../src/index.js';
import type { DecodedSpan, ResourceInfo } from '../src/otlp/types.js';
import { metricValue, selfMetrics, startTestCollector, tempDir, testConfig, type Doc } from './support/collector.js';
import { sink } from './support/sink.js';
import { source } from './support/source.js';
import { span } from './support/spans.js';

const DEFAULT_BUCKETS = ['2', '4', '6', '8', '10', '50', '100', '200', '400', '800', '1000', '1400', '2000', '5000', '10000', '15000', '+Inf'];
const OPENMETRICS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** A traces pipeline through spanmetrics into a sink, and the prometheus exporter serving the metrics. */
function doc(key: string, spanmetrics: Doc = {}): Doc {
  return {
    receivers: { [`test_source/${key}`]: {}, [`test_source/${key}_m`]: {} },
    processors: { [`spanmetrics/${key}`]: spanmetrics },
    exporters: { [`test_sink/${key}`]: {}, [`prometheus/${key}`]: { endpoint: '127.0.0.1:0' } },
    service: {
      pipelines: {
        traces: { receivers: [`test_source/${key}`], processors: [`spanmetrics/${key}`], exporters: [`test_sink/${key}`] },
        metrics: { receivers: [`test_source/${key}_m`], exporters: [`prometheus/${key}`] },
      },
    },
  };
}

async function scrape(c: Collector, key: string, accept?: string): Promise<{ body: string; type: string }> {
  const res = await fetch(`${c.endpoint(`prometheus/${key}`)}/metrics`, { headers: accept ? { accept } : {} });
  return { body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

const calls = (text: string, labels: Record<string, string>) => metricValue(text, 'traces_span_metrics_calls_total', labels);

test('calls and duration series have SPM names, labels and default buckets, with the right counts and sums', async (t) => {
  const c = await startTestCollector(doc('sm1'));
  t.teardown(() => c.shutdown());
  await source('test_source/sm1').traces!.consume([
    span({ service: 'shop', name: 'GET /cart', kind: 'server', durationMs: 3 }),
    span({ service: 'shop', name: 'GET /cart', kind: 'server', durationMs: 45 }),
    span({ service: 'shop', name: 'GET /cart', kind: 'server', durationMs: 7, status: 'error' }),
    span({ service: 'shop', name: 'SELECT', kind: 'client', durationMs: 1.5, status: 'ok' }),
    span({ service: 'shop', name: 'work', kind: 'internal', durationMs: 20_000 }),
  ]);
  const { body } = await scrape(c, 'sm1');
  t.regex(body, /^# TYPE traces_span_metrics_calls_total counter$/m);
  t.regex(body, /^# TYPE traces_span_metrics_duration_milliseconds histogram$/m);
  const ok = { service_name: 'shop', span_name: 'GET /cart', span_kind: 'SPAN_KIND_SERVER', status_code: 'STATUS_CODE_UNSET' };
  t.is(calls(body, ok), 2);
  t.is(calls(body, { ...ok, status_code: 'STATUS_CODE_ERROR' }), 1);
  t.is(calls(body, { span_name: 'SELECT', span_kind: 'SPAN_KIND_CLIENT', status_code: 'STATUS_CODE_OK' }), 1);
  t.is(calls(body, { span_name: 'work', span_kind: 'SPAN_KIND_INTERNAL' }), 1);
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_sum', ok), 48);
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_count', ok), 2);
  // cumulative buckets: 3 ms falls in le=4, 45 ms in le=50
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_bucket', { ...ok, le: '2' }), 0);
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_bucket', { ...ok, le: '4' }), 1);
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_bucket', { ...ok, le: '10' }), 1);
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_bucket', { ...ok, le: '50' }), 2);
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_bucket', { ...ok, le: '+Inf' }), 2);
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_sum', { span_name: 'SELECT' }), 1.5);
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_bucket', { span_name: 'work', le: '15000' }), 0);
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_bucket', { span_name: 'work', le: '+Inf' }), 1);
  const les = [...body.matchAll(/^traces_span_metrics_duration_milliseconds_bucket\{[^}]*span_name="SELECT"[^}]*le="([^"]+)"/gm)].map((m) => m[1]);
  t.deepEqual(les, DEFAULT_BUCKETS);
  // exactly the four SPM labels (no dimensions configured)
  const line = body.split('\n').find((l) => l.startsWith('traces_span_metrics_calls_total{') && l.includes('"SELECT"'))!;
  t.deepEqual([...line.matchAll(/([a-z_]+)="/g)].map((m) => m[1]).sort(), ['service_name', 'span_kind', 'span_name', 'status_code']);
});

test('a duration is exact from the nanosecond strings (no float rounding of 19-digit timestamps)', async (t) => {
  const c = await startTestCollector(doc('sm_ns', { histogram: { explicit: { buckets: ['1ms', 2] } } }));
  t.teardown(() => c.shutdown());
  const s = span({ service: 'ns', name: 'exact' });
  const precise: DecodedSpan = { ...s, startTimeUnixNano: '1700000000123456789', endTimeUnixNano: '1700000000124456790' };
  await source('test_source/sm_ns').traces!.consume([precise]);
  const { body } = await scrape(c, 'sm_ns');
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_sum', { span_name: 'exact' }), 1.000001);
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_bucket', { span_name: 'exact', le: '1' }), 0);
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_bucket', { span_name: 'exact', le: '2' }), 1);
});

test('dimensions: span attribute, else resource attribute, else the default; dots become underscores', async (t) => {
  const c = await startTestCollector(
    doc('sm2', {
      dimensions: [{ name: 'http.method' }, { name: 'deployment.environment', default: 'none' }, { name: 'http.route' }],
      namespace: 'traces.span.metrics',
    }),
  );
  t.teardown(() => c.shutdown());
  const resource: ResourceInfo = { attributes: { 'service.name': 'dims', 'deployment.environment': 'prod', 'http.method': 'FROM_RESOURCE' } };
  const bare: ResourceInfo = { attributes: { 'service.name': 'dims' } };
  await source('test_source/sm2').traces!.consume([
    { ...span({ name: 'a', attributes: { 'http.method': 'GET' } }), resource },
    { ...span({ name: 'b' }), resource },
    { ...span({ name: 'c', attributes: { 'http.method': 'POST' } }), resource: bare },
  ]);
  const { body } = await scrape(c, 'sm2');
  t.is(calls(body, { span_name: 'a', http_method: 'GET', deployment_environment: 'prod' }), 1);
  t.is(calls(body, { span_name: 'b', http_method: 'FROM_RESOURCE', deployment_environment: 'prod' }), 1);
  t.is(calls(body, { span_name: 'c', http_method: 'POST', deployment_environment: 'none' }), 1);
  // a dimension without value or default is left out, not an empty label
  t.notRegex(body, /http_route=/);
});

test('beyond the cardinality limit new label sets go to one otel_metric_overflow series, counted in self metrics', async (t) => {
  const c = await startTestCollector(doc('sm3', { aggregation_cardinality_limit: 3 }));
  t.teardown(() => c.shutdown());
  const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
  await source('test_source/sm3').traces!.consume(names.map((name) => span({ service: 'card', name })));
  await source('test_source/sm3').traces!.consume([span({ service: 'card', name: 'n1' }), span({ service: 'card', name: 'n6' })]);
  const { body } = await scrape(c, 'sm3');
  t.is(calls(body, { span_name: 'n1' }), 2);
  t.is(calls(body, { span_name: 'n3' }), 1);
  t.is(calls(body, { span_name: 'n4' }), undefined);
  t.is(calls(body, { otel_metric_overflow: 'true' }), 3);
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_count', { otel_metric_overflow: 'true' }), 3);
  t.is(metricValue(await selfMetrics(c), 'otelcol_processor_spanmetrics_overflow_spans_total', { processor: 'spanmetrics/sm3' }), 3);
});

test('metrics_expiration drops idle series; a label set seen again starts a fresh series', async (t) => {
  const c = await startTestCollector(doc('sm_exp', { metrics_expiration: '200ms' }));
  t.teardown(() => c.shutdown());
  await source('test_source/sm_exp').traces!.consume([span({ service: 'idle', name: 'x' }), span({ service: 'idle', name: 'x' })]);
  t.is(calls((await scrape(c, 'sm_exp')).body, { service_name: 'idle' }), 2);
  await waitFor(async () => calls((await scrape(c, 'sm_exp')).body, { service_name: 'idle' }) === undefined, { what: 'the idle series to expire' });
  await source('test_source/sm_exp').traces!.consume([span({ service: 'idle', name: 'x' })]);
  const body = (await scrape(c, 'sm_exp')).body;
  t.is(calls(body, { service_name: 'idle' }), 1);
  t.is(metricValue(body, 'traces_span_metrics_duration_milliseconds_count', { service_name: 'idle' }), 1);
});

test('spans pass through unchanged (same objects, same content)', async (t) => {
  const c = await startTestCollector(doc('sm4', { dimensions: [{ name: 'x', default: 'd' }] }));
  t.teardown(() => c.shutdown());
  const spans = [span({ service: 'pt', name: 'one', attributes: { x: 1 } }), span({ service: 'pt', name: 'two', kind: 'client', status: 'error' })];
  const before = structuredClone(spans);
  await source('test_source/sm4').traces!.consume(spans);
  const got = sink('test_sink/sm4').traces;
  t.is(got.length, 2);
  t.is(got[0], spans[0]);
  t.deepEqual(got, before);
});

test('OpenMetrics scrape carries exemplars with the trace and span id on the duration buckets and the calls counter', async (t) => {
  const c = await startTestCollector(doc('sm5'));
  t.teardown(() => c.shutdown());
  const s = span({ service: 'ex', name: 'GET /ex', durationMs: 30 });
  await source('test_source/sm5').traces!.consume([s]);
  const om = await scrape(c, 'sm5', OPENMETRICS_ACCEPT);
  t.regex(om.type, /^application\/openmetrics-text; version=1\.0\.0/);
  t.true(om.body.endsWith('# EOF\n'));
  t.is(om.body.match(/^# EOF$/gm)?.length, 1);
  t.regex(om.body, /^# TYPE traces_span_metrics_calls counter$/m);
  const ex = `# {trace_id="${s.traceId}",span_id="${s.spanId}"}`;
  const bucket = om.body.split('\n').find((l) => l.startsWith('traces_span_metrics_duration_milliseconds_bucket{') && l.includes('le="50"'));
  t.truthy(bucket);
  t.true(bucket!.includes(`} 1 ${ex} 30 `), bucket);
  const counter = om.body.split('\n').find((l) => l.startsWith('traces_span_metrics_calls_total{'));
  t.true(counter!.includes(`} 1 ${ex} 1 `), counter);
  // text format: no exemplars, no EOF
  const text = await scrape(c, 'sm5');
  t.regex(text.type, /^text\/plain; version=0\.0\.4/);
  t.false(text.body.includes('trace_id'));
  t.false(text.body.includes('# EOF'));
});

test('exemplars can be turned off', async (t) => {
  const c = await startTestCollector(doc('sm6', { exemplars: { enabled: false } }));
  t.teardown(() => c.shutdown());
  await source('test_source/sm6').traces!.consume([span({ service: 'noex' })]);
  const om = await scrape(c, 'sm6', OPENMETRICS_ACCEPT);
  t.is(metricValue(om.body, 'traces_span_metrics_calls_total', { service_name: 'noex' }), 1);
  t.false(om.body.includes('trace_id'));
});

test('the series survive a reload (get-or-create in host.derivedMetrics)', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'collector.yaml');
  const write = (limit: number) => writeFileSync(file, JSON.stringify(testConfig(doc('sm7', { aggregation_cardinality_limit: limit }), dir)));
  write(100);
  const c = await Collector.start({ config: file, logger: pino({ level: 'silent' }) });
  t.teardown(() => c.shutdown());
  await source('test_source/sm7').traces!.consume([span({ service: 'reload', name: 'r' })]);
  write(200);
  await c.reload();
  await source('test_source/sm7').traces!.consume([span({ service: 'reload', name: 'r' })]);
  t.is(calls((await scrape(c, 'sm7')).body, { service_name: 'reload', span_name: 'r' }), 2);
});

test('config errors name the key', async (t) => {
  const bad = async (body: Doc, key: string) => {
    const err = await t.throwsAsync(() => startTestCollector(doc('sm8', body)));
    t.regex(err?.message ?? '', new RegExp(key.replace(/\./g, '\\.')));
  };
  await bad({ histogram: { explicit: { buckets: [10, 5] } } }, 'processors.spanmetrics/sm8.histogram.explicit.buckets');
  await bad({ dimensions: [{ name: 'span.name' }] }, 'processors.spanmetrics/sm8.dimensions.0.name');
  await bad({ dimension: [] }, 'processors.spanmetrics/sm8');
});

test('a real Prometheus scraping the exporter answers the Jaeger SPM queries and returns the exemplars', async (t) => {
  const c = await startTestCollector(doc('sm_prom'));
  const service = uniqueName('spm');
  const unregister = await registerScrapeTarget(uniqueName('spanmetrics'), new URL(c.endpoint('prometheus/sm_prom')).host);
  t.teardown(async () => {
    await unregister();
    await c.shutdown();
  });
  const traceIds = new Set<string>();
  // a few spans per poll, so the counters keep rising between the 1 s scrapes and rate() has something to show
  const push = async () => {
    const spans = [
      span({ service, name: 'GET /spm', kind: 'server', durationMs: 12 }),
      span({ service, name: 'GET /spm', kind: 'server', durationMs: 80 }),
      span({ service, name: 'GET /spm', kind: 'server', durationMs: 30, status: 'error' }),
      span({ service, name: 'call', kind: 'client', durationMs: 5 }),
    ];
    for (const s of spans) traceIds.add(s.traceId);
    await source('test_source/sm_prom').traces!.consume(spans);
  };
  const sel = `service_name=~"${service}",span_kind=~"SPAN_KIND_SERVER"`;
  const callsQ = `sum(rate(traces_span_metrics_calls_total{${sel}}[1m])) by (service_name,span_name)`;
  const rates = await waitFor(
    async () => {
      await push();
      const r = await promQuery(callsQ);
      return r.length > 0 && Number(r[0]!.value[1]) > 0 && r;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'SPM calls rate' },
  );
  t.is(rates.length, 1);
  t.deepEqual(rates[0]!.metric, { service_name: service, span_name: 'GET /spm' });

  const errors = await promQuery(
    `sum(rate(traces_span_metrics_calls_total{${sel},status_code="STATUS_CODE_ERROR"}[1m])) by (service_name) / sum(rate(traces_span_metrics_calls_total{${sel}}[1m])) by (service_name)`,
  );
  t.is(errors.length, 1);
  const ratio = Number(errors[0]!.value[1]);
  t.true(ratio > 0 && ratio < 1, `error ratio ${ratio}`);

  const latency = await promQuery(`histogram_quantile(0.95, sum(rate(traces_span_metrics_duration_milliseconds_bucket{${sel}}[1m])) by (service_name,le))`);
  t.is(latency.length, 1);
  const p95 = Number(latency[0]!.value[1]);
  t.true(p95 > 10 && p95 <= 100, `p95 ${p95}`);

  const exemplars = await waitFor(
    async () => {
      const series = await promExemplars(`traces_span_metrics_duration_milliseconds_bucket{service_name="${service}"}`);
      const found = series.flatMap((s) => s.exemplars).filter((e) => traceIds.has(e.labels.trace_id ?? ''));
      return found.length > 0 && found;
    },
    { timeoutMs: 30_000, what: 'exemplars in Prometheus' },
  );
  t.regex(exemplars[0]!.labels.span_id ?? '', /^[0-9a-f]{16}$/);
});
