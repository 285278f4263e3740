import { Buffer } from 'node:buffer';
import Router from '@koa/router';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import Koa from 'koa';
import { Redis } from 'ioredis';
import pg from 'pg';
import test from 'ava';
import { infra } from '@lantern/testkit';
import { koaTracing } from '../src/koa/tracing.js';
import { koaObservability, koaServer, pgCheck, redisCheck, ReadinessChecks } from '../src/koa/index.js';
import { OPENMETRICS_CONTENT_TYPE } from '../src/metrics/index.js';
import { captureLogger, listen, setupTracing } from './koa-testing.js';
import type { LogLine } from './koa-testing.js';

const spans = setupTracing();

class NotFoundError extends Error {
  status = 404;
  expose = true;
  code = 'product_not_found';
}

/** The service shape Telemetry.koa() produces: tracing, then observability, then the app's router. */
async function startService(readiness?: ReadinessChecks) {
  const { logger, lines } = captureLogger();
  const router = new Router();
  router.get('/items/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  // only the exemplar test calls this route: prom-client keeps one exemplar per bucket and series
  router.get('/exemplar/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  router.post('/orders', (ctx) => {
    ctx.status = 201;
    ctx.body = 'created';
  });
  router.get('/boom/:n', () => {
    const err = new Error('duplicate key value violates unique constraint "users_email_key" at 10.0.3.7');
    throw err;
  });
  router.get('/missing/:sku', (ctx) => {
    ctx.set('x-internal', 'leak');
    throw new NotFoundError(`no product ${ctx.params.sku}`);
  });
  router.get('/throw404', (ctx) => ctx.throw(404, 'nothing here'));
  // careless code on hostile input: decoding a malformed escape, recursing as deep as the input goes
  router.get('/decode', (ctx) => {
    ctx.body = { value: decodeURIComponent(ctx.querystring) };
  });
  router.get('/recurse', (ctx) => {
    const down = (n: number): number => (n <= 0 ? 0 : 1 + down(n - 1));
    ctx.body = { depth: down(Number(ctx.querystring)) };
  });
  // an error the app answered itself (no throw), explained through ctx.state.error
  router.get('/handled-503', (ctx) => {
    ctx.status = 503;
    ctx.body = { error: { code: 'upstream_unavailable', message: 'product unavailable' } };
    ctx.state.error = new Error('product unavailable (circuit open)');
  });
  const app = new Koa();
  app.use(koaTracing());
  app.use(koaObservability({ logger, serviceName: 'sdk-test', readiness, readinessTimeoutMs: 1500 }));
  app.use(router.routes());
  const running = await listen(app);
  return { ...running, lines };
}

function parseMetricLines(text: string, name: string): { labels: Record<string, string>; value: number; line: string }[] {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[^{]+\{([^}]*)\} (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const pair of (m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[pair[1] as string] = pair[2] as string;
    out.push({ labels, value: Number(m[2]), line });
  }
  return out;
}

async function scrape(url: string, accept?: string): Promise<{ contentType: string; body: string }> {
  const res = await fetch(`${url}/metrics`, { headers: accept ? { accept } : {} });
  return { contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}

function countOf(text: string, labels: Record<string, string>): number {
  const found = parseMetricLines(text, 'http_server_request_duration_seconds_count').find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found?.value ?? 0;
}

test('HTTP histogram is labelled by route template, method and status; unmatched paths fold into one route', async (t) => {
  const svc = await startService();
  t.teardown(svc.close);
  // other tests in this file run concurrently against the same registry: compare before and after
  const series = [
    { method: 'GET', route: '/items/:id', status_code: '200' },
    { method: 'POST', route: '/orders', status_code: '201' },
    { method: 'GET', route: 'unmatched', status_code: '404' },
  ];
  const before = (await scrape(svc.url)).body;
  for (const id of ['42', '43', '44']) t.is((await fetch(`${svc.url}/items/${id}`)).status, 200);
  t.is((await fetch(`${svc.url}/orders`, { method: 'POST' })).status, 201);
  for (const p of ['/wp-admin/a', '/wp-admin/b', '/.env']) t.is((await fetch(svc.url + p)).status, 404);

  const { body } = await scrape(svc.url);
  const delta = series.map((labels) => countOf(body, labels) - countOf(before, labels));
  t.true((delta[0] ?? 0) >= 3);
  t.true((delta[1] ?? 0) >= 1);
  t.true((delta[2] ?? 0) >= 3);
  const routes = new Set(parseMetricLines(body, 'http_server_request_duration_seconds_count').map((s) => s.labels.route));
  for (const raw of ['/items/42', '/wp-admin/a', '/.env']) t.false(routes.has(raw), `raw path ${raw} must never be a label`);
  // probes and scrapes are not traffic
  t.false(routes.has('/metrics'));
  t.is(countOf(body, { route: 'unmatched', status_code: '200' }), 0, 'scrapes are never counted as unmatched traffic');
});

test('access log: one line per request with route, status, duration and trace id; levels by status', async (t) => {
  const svc = await startService();
  t.teardown(svc.close);
  await fetch(`${svc.url}/items/7?token=secret`, { headers: { 'user-agent': 'ava-test' } });
  await fetch(`${svc.url}/missing/sku-1`);
  await fetch(`${svc.url}/boom/1`);
  await fetch(`${svc.url}/healthz`);
  const access = (path: string) => svc.lines.filter((l) => l.path === path);
  const ok = access('/items/7');
  t.is(ok.length, 1);
  const line = ok[0] as LogLine;
  t.like(line, { level: 'info', method: 'GET', route: '/items/:id', status: 200, user_agent: 'ava-test' });
  t.is(typeof line.duration_ms, 'number');
  t.regex(String(line.trace_id), /^[0-9a-f]{32}$/);
  t.false(JSON.stringify(line).includes('secret'), 'query strings are not logged');
  t.like(access('/missing/sku-1')[0], { level: 'warn', status: 404, error_message: 'no product sku-1' });
  const failed = access('/boom/1')[0] as LogLine;
  t.like(failed, { level: 'error', status: 500, msg: 'request failed' });
  t.regex(String((failed.err as { stack?: string }).stack), /duplicate key value/, 'the log keeps the stack for on-call');
  await fetch(`${svc.url}/handled-503`);
  const handled = access('/handled-503')[0] as LogLine;
  t.like(handled, { level: 'error', status: 503 });
  t.is((handled.err as { message?: string } | undefined)?.message, 'product unavailable (circuit open)', 'the cause of a handled 5xx reaches the log');
  const probe = access('/healthz');
  t.is(probe.length, 1);
  t.is(probe[0]?.level, 'debug');
});

test('a thrown Error becomes a safe 500 body with the trace id; the span records the exception', async (t) => {
  const svc = await startService();
  t.teardown(svc.close);
  const res = await fetch(`${svc.url}/boom/2`);
  t.is(res.status, 500);
  t.regex(res.headers.get('content-type') ?? '', /application\/json/);
  const text = await res.text();
  const body = JSON.parse(text) as { error: { code: string; message: string }; trace_id: string };
  t.deepEqual(body.error, { code: 'internal_error', message: 'internal error' });
  t.regex(body.trace_id, /^[0-9a-f]{32}$/);
  t.is(res.headers.get('x-trace-id'), body.trace_id);
  for (const leak of ['duplicate key', '10.0.3.7', 'stack', '.ts:']) t.false(text.includes(leak), `body leaks ${leak}`);

  const span = spans.getFinishedSpans().find((s) => s.spanContext().traceId === body.trace_id && s.kind === SpanKind.SERVER);
  t.truthy(span);
  t.is(span?.name, 'GET /boom/:n');
  t.is(span?.status.code, SpanStatusCode.ERROR);
  const exception = span?.events.find((e) => e.name === 'exception');
  t.regex(String(exception?.attributes?.['exception.message']), /duplicate key value/);
  // W3C traceresponse: 00-traceid-spanid-flags, naming the server span
  t.is(res.headers.get('traceresponse'), `00-${body.trace_id}-${span?.spanContext().spanId}-01`);
});

test('an error with status 404 and expose keeps its status, message and code, without the failed handler headers', async (t) => {
  const svc = await startService();
  t.teardown(svc.close);
  const res = await fetch(`${svc.url}/missing/sku-9`);
  t.is(res.status, 404);
  t.is(res.headers.get('x-internal'), null);
  const body = (await res.json()) as { error: { code: string; message: string }; trace_id: string };
  t.deepEqual(body.error, { code: 'product_not_found', message: 'no product sku-9' });
  const span = spans.getFinishedSpans().find((s) => s.spanContext().traceId === body.trace_id);
  t.truthy(span?.events.find((e) => e.name === 'exception'), 'exception recorded on the span');
  t.not(span?.status.code, SpanStatusCode.ERROR, '4xx is not a server error');

  const thrown = await fetch(`${svc.url}/throw404`);
  t.is(thrown.status, 404);
  t.deepEqual(((await thrown.json()) as { error: unknown }).error, { code: 'not_found', message: 'nothing here' });
});

test('URIError (malformed percent-encoding) and a stack overflow from input answer 400, logged at warn, spans not ERROR', async (t) => {
  const svc = await startService();
  t.teardown(svc.close);
  const cases = [
    { path: '/decode?%E0%A4%A', code: 'malformed_uri', route: '/decode' },
    { path: '/recurse?10000000', code: 'input_too_deep', route: '/recurse' },
  ];
  for (const c of cases) {
    const res = await fetch(`${svc.url}${c.path}`);
    t.is(res.status, 400, c.path);
    const body = (await res.json()) as { error: { code: string; message: string }; trace_id: string };
    t.is(body.error.code, c.code);
    t.notRegex(body.error.message, /URIError|Maximum call stack|\.ts/);
    const span = spans.getFinishedSpans().find((s) => s.spanContext().traceId === body.trace_id && s.kind === SpanKind.SERVER);
    t.is(span?.name, `GET ${c.route}`);
    t.not(span?.status.code, SpanStatusCode.ERROR, 'the client sent it: not a server error');
    t.truthy(span?.events.find((e) => e.name === 'exception'), 'the exception is still on the span');
    const line = svc.lines.find((l) => l.route === c.route && l.status === 400);
    t.is(line?.level, 'warn', 'access line at warn');
  }
});

test('koaServer (what Telemetry.koa() installs): one span per request handed to the access log; probes and scrapes make none', async (t) => {
  const { logger, lines } = captureLogger();
  const router = new Router();
  router.get('/things/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  const app = new Koa();
  app.use(koaServer({ logger, serviceName: 'sdk-test-server', processMetrics: false }));
  app.use(router.routes());
  const svc = await listen(app);
  t.teardown(svc.close);
  const before = spans.getFinishedSpans().length;
  for (const probe of ['/healthz', '/readyz', '/metrics']) t.is((await fetch(`${svc.url}${probe}`)).status, 200, probe);
  const res = await fetch(`${svc.url}/things/7`);
  t.is(res.status, 200);
  const traceId = res.headers.get('x-trace-id') ?? undefined;
  // other tests run at the same time: only spans of this server count
  const port = Number(new URL(svc.url).port);
  const made = spans.getFinishedSpans().slice(before).filter((s) => s.kind === SpanKind.SERVER && s.attributes['server.port'] === port);
  t.deepEqual(made.map((s) => s.name), ['GET /things/:id'], 'no spans for probes and scrapes');
  t.is(made[0]?.spanContext().traceId, traceId);
  t.is(made[0]?.attributes['server.address'], '127.0.0.1', 'the Host header without its port');
  t.is(made[0]?.attributes['server.port'], port);
  const line = lines.find((l) => l.route === '/things/:id');
  t.is(line?.trace_id, traceId);
  t.is(line?.span_id, made[0]?.spanContext().spanId);
});

test('OpenMetrics is served when Accept asks for it, with exemplars naming the request span', async (t) => {
  const svc = await startService();
  t.teardown(svc.close);
  const res = await fetch(`${svc.url}/exemplar/1`);
  const traceId = res.headers.get('x-trace-id') ?? undefined;
  t.truthy(traceId);
  const span = spans.getFinishedSpans().find((s) => s.spanContext().traceId === traceId && s.kind === SpanKind.SERVER);
  t.truthy(span);

  const om = await scrape(svc.url, 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1');
  t.is(om.contentType, OPENMETRICS_CONTENT_TYPE);
  t.true(om.body.endsWith('# EOF\n'));
  const withExemplar = parseMetricLines(om.body, 'http_server_request_duration_seconds_bucket').filter(
    (s) => s.labels.route === '/exemplar/:id' && s.line.includes(`# {trace_id="${traceId}",span_id="${span?.spanContext().spanId}"}`),
  );
  t.is(withExemplar.length, 1, 'one bucket carries the exemplar of the request');
  // OpenMetrics counters: TYPE without _total, samples with it
  t.regex(om.body, /# TYPE process_cpu_user_seconds counter\nprocess_cpu_user_seconds_total /);

  const text = await scrape(svc.url);
  t.regex(text.contentType, /^text\/plain; version=0\.0\.4/);
  t.false(text.body.includes('# {trace_id'), 'the text format has no exemplars');
  t.regex(text.body, /# TYPE process_cpu_user_seconds_total counter/);
});

test('concurrent scrapes in both formats each get their own format', async (t) => {
  const svc = await startService();
  t.teardown(svc.close);
  await fetch(`${svc.url}/items/1`);
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => scrape(svc.url, i % 2 ? 'application/openmetrics-text' : undefined)));
  results.forEach((r, i) => {
    const om = i % 2 === 1;
    t.is(r.body.endsWith('# EOF\n'), om);
    t.is(r.body.includes('# TYPE process_cpu_user_seconds_total counter'), !om);
  });
});

test('healthz is 200; readyz is 200 when pg and redis are up', async (t) => {
  const pool = new pg.Pool({ connectionString: infra.databaseUrl, max: 1 });
  const redis = new Redis(infra.redisUrl);
  t.teardown(async () => {
    await pool.end();
    redis.disconnect();
  });
  // "up" means connected: the check fails fast while ioredis is still connecting, so wait for that first
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  const svc = await startService(new ReadinessChecks({ pg: pgCheck(pool), redis: redisCheck(redis) }));
  t.teardown(svc.close);
  const health = await fetch(`${svc.url}/healthz`);
  t.is(health.status, 200);
  t.like(await health.json(), { status: 'ok', service: 'sdk-test' });
  const ready = await fetch(`${svc.url}/readyz`);
  const body = (await ready.json()) as { status: string; checks: Record<string, { status: string }> };
  t.is(ready.status, 200, JSON.stringify(body));
  t.is(body.status, 'ready');
  t.is(body.checks.pg?.status, 'up');
  t.is(body.checks.redis?.status, 'up');
});

test('readyz is 503 naming the failed check when redis points at a closed port, and logs the cause once', async (t) => {
  const pool = new pg.Pool({ connectionString: infra.databaseUrl, max: 1 });
  // port 1 on loopback: nothing listens there
  const deadRedis = new Redis({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  deadRedis.on('error', () => {});
  t.teardown(async () => {
    await pool.end();
    deadRedis.disconnect();
  });
  const checks = new ReadinessChecks().add('pg', pgCheck(pool)).add('redis', redisCheck(deadRedis));
  const svc = await startService(checks);
  t.teardown(svc.close);
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${svc.url}/readyz`);
    t.is(res.status, 503);
    const body = (await res.json()) as { status: string; failed: string[]; checks: Record<string, { status: string; error?: string }> };
    t.is(body.status, 'not_ready');
    t.deepEqual(body.failed, ['redis']);
    t.is(body.checks.pg?.status, 'up');
    t.like(body.checks.redis, { status: 'down' });
    t.regex(body.checks.redis?.error ?? '', /redis connection is (connecting|reconnecting)/);
  }
  t.is(svc.lines.filter((l) => l.msg === 'readiness check failed').length, 1, 'an ongoing outage is logged once, not per probe');
});

test('a check that hangs fails by timeout; a slow /readyz never blocks /healthz', async (t) => {
  const svc = await startService(new ReadinessChecks({ hangs: () => new Promise(() => {}) }));
  t.teardown(svc.close);
  const [ready, health] = await Promise.all([fetch(`${svc.url}/readyz`), fetch(`${svc.url}/healthz`)]);
  t.is(health.status, 200);
  t.is(ready.status, 503);
  const body = (await ready.json()) as { checks: Record<string, { error?: string }> };
  t.is(body.checks.hangs?.error, 'timed out after 1500 ms');
});

test('response size is logged for string bodies', async (t) => {
  const svc = await startService();
  t.teardown(svc.close);
  await fetch(`${svc.url}/orders`, { method: 'POST' });
  t.is(svc.lines.find((l) => l.path === '/orders')?.bytes, Buffer.byteLength('created'));
});
