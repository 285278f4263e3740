import http from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { z } from 'zod';
import { context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { createServiceClient, createInternalTokenSigner, verifyInternalToken, AppError, UpstreamError, bearerToken } from '../src/index.js';
import { SECRET, baseUrl, enableContext } from './helpers.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** A scriptable upstream on 127.0.0.1:0 that records every request. */
async function upstream(t: ExecutionContext, respond: (req: http.IncomingMessage, n: number) => { status: number; body?: unknown }) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      const r = respond(req, seen.length);
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(r.body === undefined ? '' : JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: baseUrl(server), seen };
}

const signer = createInternalTokenSigner({ service: 'gateway', secret: SECRET });

function client(t: ExecutionContext, url: string, extra: Partial<Parameters<typeof createServiceClient>[0]> = {}) {
  const c = createServiceClient({ name: 'catalog', baseUrl: url, signer, timeoutMs: 2000, retries: 2, retryBaseDelayMs: 1, ...extra });
  t.teardown(() => c.close());
  return c;
}

test('GET is retried on 503 and succeeds; the token names caller, audience and user', async (t) => {
  const up = await upstream(t, (_req, n) => (n < 3 ? { status: 503, body: { error: { code: 'busy', message: 'busy' } } } : { status: 200, body: { id: 'p1', price: 10 } }));
  const c = client(t, up.url);
  const body = await c.get('/products/p1', { user: { id: 'u1', role: 'customer' }, query: { currency: 'EUR' }, schema: z.object({ id: z.string(), price: z.number() }) });
  t.deepEqual(body, { id: 'p1', price: 10 });
  t.is(up.seen.length, 3);
  t.is(up.seen[0]?.url, '/products/p1?currency=EUR');
  const token = bearerToken(up.seen[2]?.headers.authorization);
  const v = await verifyInternalToken(token ?? '', { secret: SECRET, audience: 'catalog' });
  t.deepEqual({ caller: v.caller, user: v.user }, { caller: { service: 'gateway' }, user: { id: 'u1', role: 'customer' } });
  // a short-lived token: it expires within the signer's 60 s
  t.true(v.expiresAt > Date.now() && v.expiresAt <= Date.now() + 61_000);
});

test('POST is never retried on 503 unless it carries an Idempotency-Key', async (t) => {
  const up = await upstream(t, () => ({ status: 503 }));
  const c = client(t, up.url, { breaker: false });
  const err = await t.throwsAsync(c.post('/orders', { a: 1 }), { instanceOf: UpstreamError });
  t.is(err.status, 503);
  t.is(up.seen.length, 1);

  await t.throwsAsync(c.post('/orders', { a: 1 }, { idempotencyKey: 'k-1' }), { instanceOf: UpstreamError });
  t.is(up.seen.length, 1 + 3);
  t.is(up.seen[3]?.headers['idempotency-key'], 'k-1');
});

test('upstream 4xx passes through with its code and message, without retries', async (t) => {
  const up = await upstream(t, () => ({ status: 404, body: { error: { code: 'product_not_found', message: 'product p9 not found' } } }));
  const c = client(t, up.url);
  const err = await t.throwsAsync(c.get('/products/p9'), { instanceOf: AppError });
  t.is(err.status, 404);
  t.is(err.code, 'product_not_found');
  t.is(err.message, 'product p9 not found');
  t.is(up.seen.length, 1);
});

test('forward() hands back 2xx and 4xx bodies as the upstream sent them; 5xx and refused tokens still throw', async (t) => {
  const answers: Record<string, { status: number; body?: unknown }> = {
    '/ok': { status: 200, body: { id: 'p1', note: 'é' } },
    '/missing': { status: 404, body: { error: { code: 'product_not_found', message: 'no such product' }, trace_id: 'abc' } },
    '/empty': { status: 204 },
    '/broken': { status: 500, body: { error: { code: 'internal_error', message: 'boom' } } },
    '/token': { status: 401, body: { error: { code: 'service_token_expired', message: 'expired' } } },
  };
  const up = await upstream(t, (req) => answers[req.url ?? ''] ?? { status: 418 });
  const c = client(t, up.url, { breaker: false, retries: 0 });
  const ok = await c.forward('GET', '/ok');
  t.is(ok.status, 200);
  t.is(ok.body?.toString('utf8'), JSON.stringify(answers['/ok']?.body));
  t.regex(String(ok.headers['content-type']), /json/);
  // a 4xx is a value, byte for byte, extra fields included
  const missing = await c.forward('GET', '/missing');
  t.is(missing.status, 404);
  t.deepEqual(JSON.parse(missing.body?.toString('utf8') ?? ''), answers['/missing']?.body);
  t.is((await c.forward('GET', '/empty')).body, undefined);
  t.is((await t.throwsAsync(c.forward('GET', '/broken'), { instanceOf: UpstreamError })).status, 502);
  const refused = await t.throwsAsync(c.forward('GET', '/token'), { instanceOf: UpstreamError });
  t.is(refused.status, 502);
  t.is(refused.code, 'upstream_auth_failed');
});

test('circuit breaker opens after consecutive failures and stops calling the upstream', async (t) => {
  const up = await upstream(t, () => ({ status: 500 }));
  const c = client(t, up.url, { retries: 0, breaker: { failureThreshold: 3, halfOpenAfterMs: 60_000 } });
  for (let i = 0; i < 3; i++) await t.throwsAsync(c.get('/x'), { instanceOf: UpstreamError });
  t.is(c.breakerState, 'open');
  const err = await t.throwsAsync(c.get('/x'), { instanceOf: UpstreamError });
  t.is(err.status, 503);
  t.is(err.code, 'upstream_unavailable');
  t.is(up.seen.length, 3);
});

test('timeouts and refused connections become UpstreamError (504 / 502)', async (t) => {
  const slow = http.createServer(() => undefined); // never answers
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    slow.closeAllConnections();
    return new Promise<void>((r) => slow.close(() => r()));
  });
  const c = client(t, baseUrl(slow), { timeoutMs: 200, retries: 0 });
  const err = await t.throwsAsync(c.get('/x'), { instanceOf: UpstreamError });
  t.is(err.status, 504);

  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const url = baseUrl(closed);
  await new Promise<void>((r) => closed.close(() => r()));
  const refused = await t.throwsAsync(client(t, url, { retries: 1 }).get('/x'), { instanceOf: UpstreamError });
  t.is(refused.code, 'upstream_unreachable');
});

test('the active trace context is propagated as traceparent', async (t) => {
  enableContext();
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  t.teardown(() => propagation.disable());
  const up = await upstream(t, () => ({ status: 200, body: {} }));
  const c = client(t, up.url);
  const span = trace.wrapSpanContext({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED });
  await context.with(trace.setSpan(context.active(), span), () => c.get('/x'));
  t.is(up.seen[0]?.headers.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
});
