// otlphttp exporter against loopback OTLP backends: retries exactly the retryable answers (503 with
// Retry-After, 429, 502) and loses nothing; 400 and partial success are not retried and are counted;
// headers, gzip, JSON and per-signal endpoints; and the persistent queue survives a SIGKILL mid-export.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@lantern/testkit';
import { encodeTraces } from '../src/otlp/encode.js';
import { ConfigError } from '../src/pipeline/errors.js';
import type { DecodedMetric } from '../src/otlp/types.js';
import { closeServer, listen } from '../src/util/server.js';
import { metricValue, selfMetrics, startTestCollector, tempDir } from './support/collector.js';
import { freePort, startOtlpBackend, type OtlpBackend } from './support/otlp-backend.js';
import { source } from './support/source.js';
import { logRecord, span } from './support/spans.js';

const fastRetry = { initial_interval: '20ms', max_interval: '100ms', max_elapsed_time: '60s' };

async function pipeline(key: string, backend: OtlpBackend, exporter: Record<string, unknown> = {}, signals: string[] = ['traces']) {
  const id = `otlphttp/${key}`;
  const pipelines = Object.fromEntries(signals.map((s) => [s, { receivers: [`test_source/${key}`], exporters: [id] }]));
  const c = await startTestCollector({
    receivers: { [`test_source/${key}`]: {} },
    exporters: { [id]: { endpoint: backend.url, retry_on_failure: fastRetry, sending_queue: { num_consumers: 1 }, ...exporter } },
    service: { pipelines },
  });
  return { c, id, src: source(`test_source/${key}`) };
}

const metric = async (c: Parameters<typeof selfMetrics>[0], name: string, labels: Record<string, string>) => metricValue(await selfMetrics(c), name, labels);

test('503 (Retry-After), 429 and 502 are retried: every span arrives exactly as sent, once', async (t) => {
  const backend = await startOtlpBackend({ script: [{ status: 503, headers: { 'retry-after': '1' } }, { status: 429 }, { status: 502 }] });
  t.teardown(() => backend.close());
  const { c, id, src } = await pipeline('retry', backend);
  t.teardown(() => c.shutdown());
  const spans = Array.from({ length: 40 }, (_, i) => span({ service: i % 2 ? 'a' : 'b', name: `op-${i}`, attributes: { i, big: '9223372036854775807' } }));
  await src.traces!.consume(spans);
  await waitFor(() => backend.spans.length >= spans.length, { what: 'spans at the backend' });
  await waitFor(async () => (await metric(c, 'otelcol_exporter_sent_spans_total', { exporter: id })) === 40, { what: 'sent metric' });
  t.deepEqual(backend.requests.map((r) => r.status), [503, 429, 502, 200]);
  const byId = new Map(backend.spans.map((s) => [s.spanId, s]));
  t.is(byId.size, spans.length, 'no duplicates, nothing lost');
  for (const s of spans) t.deepEqual(byId.get(s.spanId), s);
  t.is(await metric(c, 'otelcol_exporter_send_failed_spans_total', { exporter: id }), undefined);
});

test('400 is permanent: not retried, counted as failed', async (t) => {
  const backend = await startOtlpBackend({ script: [{ status: 400, headers: { 'content-type': 'application/json' }, body: '{"code":3,"message":"bad span"}' }] });
  t.teardown(() => backend.close());
  const { c, id, src } = await pipeline('perm400', backend);
  t.teardown(() => c.shutdown());
  await src.traces!.consume([span(), span(), span()]);
  await waitFor(async () => (await metric(c, 'otelcol_exporter_send_failed_spans_total', { exporter: id })) === 3, { what: 'failed metric' });
  // a later batch goes through: the exporter did not get stuck retrying the first
  await src.traces!.consume([span()]);
  await waitFor(() => backend.spans.length === 1, { what: 'second batch' });
  t.deepEqual(backend.requests.map((r) => r.status), [400, 200]);
});

test('a 200 with partial success is not retried; the rejected spans are counted as failed', async (t) => {
  const backend = await startOtlpBackend();
  backend.otherwise = { status: 200, headers: { 'content-type': 'application/json' }, body: '{"partialSuccess":{"rejectedSpans":"2","errorMessage":"spans too old"}}' };
  t.teardown(() => backend.close());
  const { c, id, src } = await pipeline('partial', backend, { encoding: 'json' });
  t.teardown(() => c.shutdown());
  await src.traces!.consume([span(), span(), span(), span(), span()]);
  await waitFor(async () => (await metric(c, 'otelcol_exporter_send_failed_spans_total', { exporter: id })) === 2, { what: 'failed metric' });
  t.is(backend.requests.length, 1);
});

test('headers, gzip, JSON encoding and per-signal endpoints', async (t) => {
  const backend = await startOtlpBackend();
  t.teardown(() => backend.close());
  const { c, src } = await pipeline(
    'shape',
    backend,
    { encoding: 'json', headers: { authorization: 'Bearer s3cret', 'x-tenant': 'shop' }, metrics_endpoint: `${backend.url}/custom/v1/metrics` },
    ['traces', 'logs', 'metrics'],
  );
  t.teardown(() => c.shutdown());
  const s = span({ name: 'json-span' });
  const rec = logRecord({ body: 'hello loki', traceId: s.traceId });
  const m: DecodedMetric = { name: 'orders_total', resource: s.resource, scope: s.scope, type: 'sum', temporality: 'cumulative', isMonotonic: true, dataPoints: [{ attributes: {}, startTimeUnixNano: '1', timeUnixNano: '2', flags: 0, value: 3, exemplars: [] }] };
  await src.traces!.consume([s]);
  await src.logs!.consume([rec]);
  await src.metrics!.consume([m]);
  await waitFor(() => backend.spans.length === 1 && backend.logs.length === 1 && backend.metrics.length === 1, { what: 'all three signals' });
  t.deepEqual(backend.spans[0], s);
  t.deepEqual(backend.logs[0], rec);
  t.deepEqual(backend.metrics[0], m);
  t.deepEqual(backend.requests.map((r) => r.path).sort(), ['/custom/v1/metrics', '/v1/logs', '/v1/traces']);
  for (const r of backend.requests) {
    t.is(r.headers.authorization, 'Bearer s3cret');
    t.is(r.headers['x-tenant'], 'shop');
    t.is(r.headers['content-encoding'], 'gzip');
    t.is(r.format, 'json');
  }
});

test('config: an endpoint is required', async (t) => {
  const err = await t.throwsAsync(
    () => startTestCollector({ receivers: { 'test_source/noep': {} }, exporters: { 'otlphttp/noep': {} }, service: { pipelines: { traces: { receivers: ['test_source/noep'], exporters: ['otlphttp/noep'] } } } }),
    { instanceOf: ConfigError },
  );
  t.regex(err?.message ?? '', /endpoint/);
});

// ---- crash test: a real collector process, SIGKILLed while its exports hang ----

const CHILD = fileURLToPath(new URL('./support/otlphttp-crash-child.ts', import.meta.url));

function startChild(dataDir: string, backendUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, DATA_DIR: dataDir, BACKEND_URL: backendUrl }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /READY (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`collector child exited (${code}) before it was ready: ${out}`)));
  });
}

/** A backend that accepts connections and never answers: exports hang in flight. */
async function hangingBackend(port: number): Promise<{ server: Server; seen: () => number }> {
  let seen = 0;
  const server = createServer(() => void seen++);
  await listen(server, '127.0.0.1', port);
  return { server, seen: () => seen };
}

test('persistent queue: SIGKILL mid-export loses nothing (at least once after the restart)', async (t) => {
  const dataDir = tempDir('otlphttp-crash-');
  const port = await freePort();
  const backendUrl = `http://127.0.0.1:${port}`;
  const hang = await hangingBackend(port);

  const first = await startChild(dataDir, backendUrl);
  t.teardown(() => void first.child.kill('SIGKILL'));
  const sent = Array.from({ length: 10 }, (_, b) => Array.from({ length: 20 }, (_, i) => span({ name: `b${b}-s${i}` })));
  for (const batch of sent) {
    const res = await fetch(`${first.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: encodeTraces(batch) });
    t.is(res.status, 200, 'accepted: persisted before the answer');
  }
  await waitFor(() => hang.seen() >= 2, { what: 'exports in flight' });
  const exited = new Promise((r) => first.child.once('exit', r));
  first.child.kill('SIGKILL');
  await exited;
  hang.server.closeAllConnections();
  await closeServer(hang.server);

  const backend = await startOtlpBackend({ port });
  t.teardown(() => backend.close());
  const second = await startChild(dataDir, backendUrl);
  t.teardown(() => void second.child.kill('SIGKILL'));
  const want = new Set(sent.flat().map((s) => s.spanId));
  await waitFor(() => want.size === new Set(backend.spans.filter((s) => want.has(s.spanId)).map((s) => s.spanId)).size, { what: 'every span after the restart' });
  const got = new Map(backend.spans.map((s) => [s.spanId, s]));
  for (const s of sent.flat()) t.deepEqual(got.get(s.spanId), s);
  const exitedCleanly = new Promise<number | null>((r) => second.child.once('exit', (code) => r(code)));
  second.child.kill('SIGTERM');
  t.is(await exitedCleanly, 0);
});
