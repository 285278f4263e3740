import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import test from 'ava';
import {
  cacheMetrics,
  cardinalityGuard,
  collectRuntimeMetrics,
  dbMetrics,
  enableHttpClientMetrics,
  getOrCreateHistogram,
  observeWithExemplar,
  prefersOpenMetrics,
  renderMetrics,
  timeDb,
} from '../src/metrics/index.js';
import { setupTracing } from './koa-testing.js';

setupTracing();
collectRuntimeMetrics();
collectRuntimeMetrics(); // idempotent: prom-client would throw on a second registration
enableHttpClientMetrics();
enableHttpClientMetrics();

/** Value of the first sample of `name` whose labels include all of `labels` (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.split('} ')[1]?.split(' ')[0]);
  }
  return 0;
}

function promtool(input: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics']);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(input);
  });
}

async function httpServer(handler: http.RequestListener): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

test('promtool accepts the text exposition of every SDK metric', async (t) => {
  dbMetrics.observeQuery('select', 'products', 0.003);
  cacheMetrics.hit('product', 'l1');
  cardinalityGuard('promtool_probe', ['a']).resolve({ a: 'x' });
  const { body, contentType } = await renderMetrics(undefined);
  t.regex(contentType, /^text\/plain; version=0\.0\.4/);
  t.regex(body, /nodejs_eventloop_lag_seconds /);
  t.regex(body, /nodejs_gc_duration_seconds/);
  const { code, output } = await promtool(body);
  t.is(code, 0, output);
});

test('Accept negotiation: OpenMetrics only when it ranks at least as high as text', (t) => {
  t.true(prefersOpenMetrics('application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'));
  t.true(prefersOpenMetrics('application/openmetrics-text'));
  t.false(prefersOpenMetrics(undefined));
  t.false(prefersOpenMetrics('*/*'));
  t.false(prefersOpenMetrics('text/plain'));
  t.false(prefersOpenMetrics('text/plain, application/openmetrics-text;q=0.5'));
  t.false(prefersOpenMetrics('application/openmetrics-text;q=0'));
});

test('the cardinality guard folds label sets beyond its limit into __overflow__ and counts them', async (t) => {
  const name = 'test_guarded_seconds';
  const histogram = getOrCreateHistogram({ name, help: 'guard test', labelNames: ['user'] });
  const guard = cardinalityGuard(name, ['user'], 5);
  for (let i = 0; i < 12; i++) histogram.observe(guard.resolve({ user: `u${i}` }), 0.01);
  // a label set admitted before the cap keeps working after it
  histogram.observe(guard.resolve({ user: 'u0' }), 0.01);
  const { body } = await renderMetrics(undefined);
  const users = new Set([...body.matchAll(/^test_guarded_seconds_count\{user="([^"]+)"\}/gm)].map((m) => m[1]));
  t.deepEqual([...users].sort(), ['__overflow__', 'u0', 'u1', 'u2', 'u3', 'u4']);
  t.is(sample(body, 'test_guarded_seconds_count', { user: 'u0' }), 2);
  t.is(sample(body, 'test_guarded_seconds_count', { user: '__overflow__' }), 7);
  t.is(sample(body, 'lantern_metric_cardinality_overflow_total', { metric: name }), 7);
  t.is(guard.size, 5);
});

test('HTTP client durations are recorded for fetch and http.request, by host and status, never by path', async (t) => {
  const server = await httpServer((req, res) => {
    res.statusCode = req.url?.startsWith('/teapot') ? 418 : 200;
    res.end('ok');
  });
  t.teardown(server.close);
  const host = `127.0.0.1:${server.port}`;
  const before = (await renderMetrics(undefined)).body;

  const tracer = trace.getTracer('test');
  const fetchTrace = await tracer.startActiveSpan('fetch parent', async (span) => {
    await (await fetch(`http://${host}/a/1`)).text();
    await (await fetch(`http://${host}/teapot/2`, { method: 'POST' })).text();
    span.end();
    return span.spanContext();
  });
  await new Promise<void>((resolve, reject) => {
    http
      .get(`http://${host}/b/3`, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });
  // connection refused: no status, counted as error
  const closed = await httpServer(() => {});
  await closed.close();
  await t.throwsAsync(fetch(`http://127.0.0.1:${closed.port}/x`));
  await new Promise<void>((resolve) => http.get(`http://127.0.0.1:${closed.port}/y`).on('error', () => resolve()));

  const { body } = await renderMetrics(undefined);
  const count = (labels: Record<string, string>) =>
    sample(body, 'http_client_request_duration_seconds_count', labels) - sample(before, 'http_client_request_duration_seconds_count', labels);
  t.is(count({ method: 'GET', host, status_code: '200' }), 2, 'one fetch and one http.get');
  t.is(count({ method: 'POST', host, status_code: '418' }), 1);
  t.is(count({ method: 'GET', host: `127.0.0.1:${closed.port}`, status_code: 'error' }), 2, 'refused fetch and http.get');
  t.false(/http_client_request_duration_seconds_count\{[^}]*\/a\/1/.test(body), 'no paths in labels');

  const om = (await renderMetrics('application/openmetrics-text')).body;
  t.regex(om, new RegExp(`http_client_request_duration_seconds_bucket\\{[^}]*host="${host}"[^}]*status_code="418"[^}]*\\} \\d+ # \\{trace_id="${fetchTrace.traceId}"`));
});

test('timeDb records duration and outcome and passes results and errors through', async (t) => {
  t.is(await timeDb('select', 'widgets', async () => 42), 42);
  await t.throwsAsync(timeDb('insert', 'widgets', async () => Promise.reject(new Error('unique violation'))), { message: 'unique violation' });
  const { body } = await renderMetrics(undefined);
  t.is(sample(body, 'db_client_operation_duration_seconds_count', { operation: 'select', table: 'widgets', outcome: 'success' }), 1);
  t.is(sample(body, 'db_client_operation_duration_seconds_count', { operation: 'insert', table: 'widgets', outcome: 'error' }), 1);
});

test('cache hits and misses are counted per cache and level', async (t) => {
  cacheMetrics.hit('catalog', 'l1');
  cacheMetrics.hit('catalog', 'l1');
  cacheMetrics.miss('catalog', 'l1');
  cacheMetrics.hit('catalog', 'l2');
  cacheMetrics.record('catalog', 'l2', 'negative_hit');
  const { body } = await renderMetrics(undefined);
  t.is(sample(body, 'cache_requests_total', { cache: 'catalog', level: 'l2', result: 'negative_hit' }), 1);
  t.is(sample(body, 'cache_requests_total', { cache: 'catalog', level: 'l1', result: 'hit' }), 2);
  t.is(sample(body, 'cache_requests_total', { cache: 'catalog', level: 'l1', result: 'miss' }), 1);
  t.is(sample(body, 'cache_requests_total', { cache: 'catalog', level: 'l2', result: 'hit' }), 1);
});

test('exemplars are only attached for sampled spans', async (t) => {
  const h = getOrCreateHistogram({ name: 'test_sampling_seconds', help: 'sampling test', labelNames: ['k'], enableExemplars: true });
  const unsampled = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 0 });
  context.with(trace.setSpan(context.active(), unsampled), () => observeWithExemplar(h, { k: 'unsampled' }, 0.2));
  const sampled = trace.wrapSpanContext({ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: 1 });
  context.with(trace.setSpan(context.active(), sampled), () => observeWithExemplar(h, { k: 'sampled' }, 0.2));
  const om = (await renderMetrics('application/openmetrics-text')).body;
  t.false(om.includes('a'.repeat(32)));
  t.regex(om, /test_sampling_seconds_bucket\{le="0.25",k="sampled"\} 1 # \{trace_id="c{32}",span_id="d{16}"\} 0.2 \d+/);
});
