// prometheus exporter: OTLP metrics from a metrics pipeline exposed with contrib-style names and types,
// delta accumulation, expiration, content negotiation, and hostile names/values that a real
// Prometheus still scrapes ("up") and reads back exactly.
import test from 'ava';
import { promQuery, promTargets, registerScrapeTarget, uniqueName, waitFor } from '@lantern/testkit';
import type { Collector } from '../src/index.js';
import type { DecodedMetric, ResourceInfo, Scope } from '../src/otlp/types.js';
import { metricValue, selfMetrics, startTestCollector, type Doc } from './support/collector.js';
import { source as sourceOf } from './support/source.js';

const OPENMETRICS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

function doc(key: string, exporters: Record<string, Doc>): Doc {
  return {
    receivers: { [`test_source/${key}`]: {} },
    exporters,
    service: { pipelines: { metrics: { receivers: [`test_source/${key}`], exporters: Object.keys(exporters) } } },
  };
}

async function start(key: string, config: Doc = {}): Promise<Collector> {
  return startTestCollector(doc(key, { [`prometheus/${key}`]: { endpoint: '127.0.0.1:0', ...config } }));
}

/** The metrics consumer of the test source feeding collector `c`'s pipeline `key`. */
const source = (_c: Collector, key: string) => sourceOf(`test_source/${key}`).metrics!;

async function scrape(c: Collector, id: string, accept?: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(`${c.endpoint(id)}/metrics`, { headers: accept ? { accept } : {} });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

const resource: ResourceInfo = { attributes: { 'service.name': 'pay', 'service.namespace': 'shop', 'service.instance.id': 'i-1', 'host.name': 'h1' } };
const scope: Scope = { name: 'test-meter', version: '1.2', attributes: {} };
const nowNs = (offsetMs = 0) => String((Date.now() + offsetMs) * 1_000_000);
const base = { startTimeUnixNano: nowNs(-60_000), flags: 0 };
const num = (value: number, attributes: Record<string, string> = {}, time = nowNs()) => ({ ...base, attributes, timeUnixNano: time, value, exemplars: [] });

function metricsBatch(traceId: string): DecodedMetric[] {
  return [
    { name: 'system.cpu.utilization', unit: '1', description: 'CPU share', resource, scope, type: 'gauge', dataPoints: [num(0.25, { cpu: '0' })] },
    {
      name: 'http.server.requests',
      unit: '{request}',
      resource,
      scope,
      type: 'sum',
      temporality: 'cumulative',
      isMonotonic: true,
      dataPoints: [{ ...num(42, { 'http.route': '/pay' }), exemplars: [{ timeUnixNano: nowNs(), value: 1, traceId, spanId: '00f067aa0ba902b7', filteredAttributes: {} }] }],
    },
    { name: 'jobs.processed', unit: '1', resource, scope, type: 'sum', temporality: 'delta', isMonotonic: true, dataPoints: [num(3)] },
    { name: 'queue.depth', unit: 'By', resource, scope, type: 'sum', temporality: 'cumulative', isMonotonic: false, dataPoints: [num(512)] },
    {
      name: 'rpc.duration',
      unit: 's',
      resource,
      scope,
      type: 'histogram',
      temporality: 'cumulative',
      dataPoints: [
        {
          ...base,
          attributes: { method: 'charge' },
          timeUnixNano: nowNs(),
          count: 4,
          sum: 2.5,
          bucketCounts: [1, 2, 1],
          explicitBounds: [0.1, 1],
          exemplars: [{ timeUnixNano: nowNs(), value: 0.5, traceId, spanId: '00f067aa0ba902b8', filteredAttributes: {} }],
        },
      ],
    },
    {
      name: 'gc.pause',
      unit: 'ms',
      resource,
      scope,
      type: 'summary',
      dataPoints: [{ ...base, attributes: {}, timeUnixNano: nowNs(), count: 10, sum: 55, quantileValues: [{ quantile: 0.99, value: 20 }, { quantile: 0.5, value: 4 }] }],
    },
    {
      name: 'exp.hist',
      resource,
      scope,
      type: 'exponentialHistogram',
      temporality: 'cumulative',
      dataPoints: [{ ...base, attributes: {}, timeUnixNano: nowNs(), count: 1, scale: 0, zeroCount: 0, zeroThreshold: 0, positive: { offset: 0, bucketCounts: [1] }, negative: { offset: 0, bucketCounts: [] }, exemplars: [] }],
    },
  ];
}

const who = { job: 'shop/pay', instance: 'i-1', otel_scope_name: 'test-meter', otel_scope_version: '1.2', region: 'eu' };

test('OTLP metrics are exposed with contrib names, types, job/instance/scope labels, namespace and const_labels', async (t) => {
  const c = await start('pe1', { namespace: 'app', const_labels: { region: 'eu' } });
  t.teardown(() => c.shutdown());
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  await source(c, 'pe1').consume(metricsBatch(traceId));
  const { body } = await scrape(c, 'prometheus/pe1');
  t.regex(body, /^# TYPE app_system_cpu_utilization_ratio gauge$/m);
  t.regex(body, /^# HELP app_system_cpu_utilization_ratio CPU share$/m);
  t.is(metricValue(body, 'app_system_cpu_utilization_ratio', { ...who, cpu: '0' }), 0.25);
  t.regex(body, /^# TYPE app_http_server_requests_total counter$/m);
  t.is(metricValue(body, 'app_http_server_requests_total', { ...who, http_route: '/pay' }), 42);
  t.regex(body, /^# TYPE app_jobs_processed_total counter$/m);
  t.is(metricValue(body, 'app_jobs_processed_total', who), 3);
  t.regex(body, /^# TYPE app_queue_depth_bytes gauge$/m);
  t.is(metricValue(body, 'app_queue_depth_bytes', who), 512);
  t.regex(body, /^# TYPE app_rpc_duration_seconds histogram$/m);
  t.is(metricValue(body, 'app_rpc_duration_seconds_bucket', { ...who, method: 'charge', le: '0.1' }), 1);
  t.is(metricValue(body, 'app_rpc_duration_seconds_bucket', { ...who, method: 'charge', le: '1' }), 3);
  t.is(metricValue(body, 'app_rpc_duration_seconds_bucket', { ...who, method: 'charge', le: '+Inf' }), 4);
  t.is(metricValue(body, 'app_rpc_duration_seconds_sum', { ...who, method: 'charge' }), 2.5);
  t.is(metricValue(body, 'app_rpc_duration_seconds_count', { ...who, method: 'charge' }), 4);
  t.regex(body, /^# TYPE app_gc_pause_milliseconds summary$/m);
  t.is(metricValue(body, 'app_gc_pause_milliseconds', { ...who, quantile: '0.5' }), 4);
  t.is(metricValue(body, 'app_gc_pause_milliseconds', { ...who, quantile: '0.99' }), 20);
  t.is(metricValue(body, 'app_gc_pause_milliseconds_count', who), 10);
  t.false(body.includes('host_name'), 'resource attributes stay out without resource_to_telemetry_conversion');
  t.false(body.includes('exp_hist'));
  t.is(metricValue(await selfMetrics(c), 'otelcol_exporter_prometheus_dropped_metric_points_total', { exporter: 'prometheus/pe1', reason: 'unsupported_type' }), 1);

  // delta sums add up; an older cumulative point does not replace a newer one
  await source(c, 'pe1').consume([
    { name: 'jobs.processed', unit: '1', resource, scope, type: 'sum', temporality: 'delta', isMonotonic: true, dataPoints: [num(4)] },
    { name: 'http.server.requests', unit: '{request}', resource, scope, type: 'sum', temporality: 'cumulative', isMonotonic: true, dataPoints: [num(7, { 'http.route': '/pay' }, nowNs(-30_000))] },
  ]);
  const after = (await scrape(c, 'prometheus/pe1')).body;
  t.is(metricValue(after, 'app_jobs_processed_total', who), 7);
  t.is(metricValue(after, 'app_http_server_requests_total', { ...who, http_route: '/pay' }), 42);

  // OpenMetrics: counter family without _total, exemplars from the OTLP points
  const om = (await scrape(c, 'prometheus/pe1', OPENMETRICS_ACCEPT)).body;
  t.regex(om, /^# TYPE app_http_server_requests counter$/m);
  t.regex(om, new RegExp(`^app_http_server_requests_total\\{[^}]*\\} 42 # \\{trace_id="${traceId}",span_id="00f067aa0ba902b7"\\} 1 \\d+\\.\\d{3}$`, 'm'));
  t.regex(om, new RegExp(`^app_rpc_duration_seconds_bucket\\{[^}]*le="1"\\} 3 # \\{trace_id="${traceId}",span_id="00f067aa0ba902b8"\\} 0.5 `, 'm'));
});

test('resource_to_telemetry_conversion turns resource attributes into labels; add_metric_suffixes false keeps the bare names', async (t) => {
  const c = await start('pe2', { resource_to_telemetry_conversion: { enabled: true }, add_metric_suffixes: false });
  t.teardown(() => c.shutdown());
  await source(c, 'pe2').consume(metricsBatch('4bf92f3577b34da6a3ce929d0e0e4736').slice(0, 2));
  const { body } = await scrape(c, 'prometheus/pe2');
  t.is(metricValue(body, 'system_cpu_utilization', { host_name: 'h1', service_name: 'pay', job: 'shop/pay' }), 0.25);
  t.is(metricValue(body, 'http_server_requests_total', { host_name: 'h1', http_route: '/pay' }), 42);
});

test('a series not updated for metric_expiration disappears', async (t) => {
  const c = await start('pe3', { metric_expiration: '300ms' });
  t.teardown(() => c.shutdown());
  await source(c, 'pe3').consume([{ name: 'short.lived', resource, scope, type: 'gauge', dataPoints: [num(1)] }]);
  t.is(metricValue((await scrape(c, 'prometheus/pe3')).body, 'short_lived', { job: 'shop/pay' }), 1);
  await waitFor(async () => metricValue((await scrape(c, 'prometheus/pe3')).body, 'short_lived') === undefined, { what: 'the series to expire' });
  // it comes back when updated again
  await source(c, 'pe3').consume([{ name: 'short.lived', resource, scope, type: 'gauge', dataPoints: [num(2)] }]);
  t.is(metricValue((await scrape(c, 'prometheus/pe3')).body, 'short_lived'), 2);
});

test('content negotiation, one # EOF, 404 and 405', async (t) => {
  const col = await startTestCollector(
    doc('pe4', { 'prometheus/pe4': { endpoint: '127.0.0.1:0' }, 'prometheus/pe4_text': { endpoint: '127.0.0.1:0', enable_open_metrics: false } }),
  );
  t.teardown(() => col.shutdown());
  await source(col, 'pe4').consume([{ name: 'g', resource, scope, type: 'gauge', dataPoints: [num(1)] }]);
  const plain = await scrape(col, 'prometheus/pe4');
  t.is(plain.status, 200);
  t.regex(plain.type, /^text\/plain; version=0\.0\.4/);
  t.false(plain.body.includes('# EOF'));
  const om = await scrape(col, 'prometheus/pe4', OPENMETRICS_ACCEPT);
  t.regex(om.type, /^application\/openmetrics-text; version=1\.0\.0/);
  t.is(om.body.match(/^# EOF$/gm)?.length, 1);
  t.true(om.body.endsWith('\n# EOF\n'));
  t.regex((await scrape(col, 'prometheus/pe4', 'text/plain;q=1, application/openmetrics-text;q=0.2')).type, /^text\/plain/);
  t.regex((await scrape(col, 'prometheus/pe4_text', OPENMETRICS_ACCEPT)).type, /^text\/plain/);
  const url = col.endpoint('prometheus/pe4');
  t.is((await fetch(`${url}/metrics?x=%zz`)).status, 200);
  const notFound = await fetch(`${url}/nope/../%00`);
  t.is(notFound.status, 404);
  t.regex(await notFound.text(), /\/metrics/);
  const post = await fetch(`${url}/metrics`, { method: 'POST', body: 'x' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
  t.is(col.endpoints()['prometheus/pe4'], url);
});

test('config errors name the key', async (t) => {
  const bad = async (config: Doc, key: string) => {
    const err = await t.throwsAsync(() => start('pe5', config));
    t.true((err?.message ?? '').startsWith(key), err?.message);
  };
  await bad({ endpoint: 'nope' }, 'exporters.prometheus/pe5.endpoint');
  await bad({ const_labels: { 'bad-name': 'x' } }, 'exporters.prometheus/pe5.const_labels');
  await bad({ metric_expiration: 'soon' }, 'exporters.prometheus/pe5.metric_expiration');
  await bad({ enable_openmetrics: true }, 'exporters.prometheus/pe5');
});

// ---- hostile names and values ----

const HOSTILE: Record<string, string> = {
  quote: 'say "hi"',
  backslash: 'C:\\path\\to\\',
  newline: 'line1\nline2\n',
  braces: '} x{a="b"} 1\n# EOF',
  unicode: 'grüße 🚀 ✓ 中文',
  tab_cr: 'a\tb\rc',
  trailing_backslash: 'ends with \\',
};

/** Samples of an exposition with label values unescaped (a strict reading of the format). */
function parseSamples(text: string): { name: string; labels: Record<string, string>; value: string }[] {
  const out: { name: string; labels: Record<string, string>; value: string }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (!m) throw new Error(`bad line ${JSON.stringify(line)}`);
    let i = m[1]!.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const n = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
        if (!n) throw new Error(`bad label at ${i} in ${JSON.stringify(line)}`);
        i += n[0].length;
        let v = '';
        for (; line[i] !== '"'; i++) {
          if (i >= line.length) throw new Error(`unterminated value in ${JSON.stringify(line)}`);
          if (line[i] === '\\') {
            const e = line[++i];
            v += e === 'n' ? '\n' : e === '\\' ? '\\' : e === '"' ? '"' : `\\${e}`;
          } else v += line[i];
        }
        i++;
        labels[n[1]!] = v;
        if (line[i] === ',') i++;
      }
      i++;
    }
    out.push({ name: m[1]!, labels, value: line.slice(i).trim().split(' ')[0]! });
  }
  return out;
}

test('hostile label values, label keys and names are escaped: the exposition reads back exactly and a real Prometheus scrapes it (up) in both formats', async (t) => {
  const run = uniqueName('hostile');
  const c = await startTestCollector(
    doc('pe6', { 'prometheus/pe6': { endpoint: '127.0.0.1:0' }, 'prometheus/pe6_text': { endpoint: '127.0.0.1:0', enable_open_metrics: false } }),
  );
  const targets = [await registerScrapeTarget(`${run}_om`, new URL(c.endpoint('prometheus/pe6')).host), await registerScrapeTarget(`${run}_text`, new URL(c.endpoint('prometheus/pe6_text')).host)];
  t.teardown(async () => {
    for (const remove of targets) await remove();
    await c.shutdown();
  });
  const attrs: Record<string, string> = { run, ...HOSTILE, __name__: 'not_the_name', '1st': 'digit', 'a.b-c': 'dots', 'x.y': 'first', x_y: 'second' };
  await source(c, 'pe6').consume([
    { name: 'hostile "metric"\nname/with spaces', description: 'help with "quotes", \\ and\nnewline', resource, scope, type: 'gauge', dataPoints: [num(7, attrs)] },
    { name: 'le.clash', resource, scope, type: 'histogram', temporality: 'cumulative', dataPoints: [{ ...base, attributes: { le: 'attr', run }, timeUnixNano: nowNs(), count: 1, sum: 1, bucketCounts: [1, 0], explicitBounds: [1], exemplars: [] }] },
  ]);
  const name = 'hostile_metric_name_with_spaces';
  for (const accept of [undefined, OPENMETRICS_ACCEPT]) {
    const { body } = await scrape(c, 'prometheus/pe6', accept);
    const sample = parseSamples(body).find((s) => s.name === name);
    t.truthy(sample, accept ?? 'text');
    for (const [k, v] of Object.entries(HOSTILE)) t.is(sample!.labels[k], v, `${k} (${accept ? 'openmetrics' : 'text'})`);
    t.is(sample!.labels.key__name__, 'not_the_name');
    t.is(sample!.labels.key_1st, 'digit');
    t.is(sample!.labels.a_b_c, 'dots');
    t.is(sample!.labels.x_y, 'first;second');
    t.is(sample!.value, '7');
    const bucket = parseSamples(body).find((s) => s.name === 'le_clash_bucket' && s.labels.le === '1');
    t.is(bucket?.labels.exported_le, 'attr');
  }
  const { body: text } = await scrape(c, 'prometheus/pe6');
  t.regex(text, /^# HELP hostile_metric_name_with_spaces help with "quotes", \\\\ and\\nnewline$/m);

  // a real Prometheus: both targets scrape healthy, and the values come back exactly
  const urls = ['prometheus/pe6', 'prometheus/pe6_text'].map((id) => `${c.endpoint(id)}/metrics`);
  const health = await waitFor(
    async () => {
      const active = (await promTargets()).filter((x) => urls.includes(x.scrapeUrl));
      return active.length === 2 && active.every((x) => x.health !== 'unknown') && active;
    },
    { timeoutMs: 60_000, what: 'both scrape targets to be scraped' },
  );
  for (const target of health) t.is(target.health, 'up', `${target.scrapeUrl}: ${target.lastError}`);
  const series = await waitFor(
    async () => {
      const r = await promQuery(`${name}{run="${run}"}`);
      return r.length === 2 && r;
    },
    { what: 'the hostile series in Prometheus' },
  );
  for (const s of series) {
    for (const [k, v] of Object.entries(HOSTILE)) t.is(s.metric[k], v, k);
    t.is(s.metric.__name__, name);
    t.is(s.value[1], '7');
  }
});
