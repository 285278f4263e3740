// koaTracing() on its own, in-process, with an in-memory exporter: naming, attributes, status, propagation.
import test from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import Koa from 'koa';
import Router from '@koa/router';
import { koaTracing } from '../src/koa/tracing.js';
import { startOtlpReceiver } from '@lantern/testkit';
import { runFixture } from './fixtures/spawn.js';

const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));

async function serve(t: { teardown(fn: () => void): void }) {
  const app = new Koa();
  app.silent = true;
  const router = new Router();
  let activeInHandler: string | undefined;
  router.get('/items/:id', (ctx) => {
    activeInHandler = trace.getActiveSpan()?.spanContext().spanId;
    ctx.body = { id: ctx.params.id };
  });
  router.get('/boom', () => {
    throw new Error('kaput');
  });
  router.get('/missing', (ctx) => ctx.throw(404, 'no such thing'));
  app.use(koaTracing());
  app.use(router.routes());
  const server = createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, activeInHandler: () => activeInHandler };
}

test.serial('names the SERVER span by route template, continues the caller trace, handler runs inside it', async (t) => {
  exporter.reset();
  const { url, activeInHandler } = await serve(t);
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const res = await fetch(`${url}/items/42?x=1`, { headers: { traceparent } });
  t.is(res.status, 200);
  const [span] = exporter.getFinishedSpans();
  t.is(span?.name, 'GET /items/:id');
  t.is(span?.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
  t.is(span?.parentSpanContext?.spanId, 'b7ad6b7169203331');
  t.is(activeInHandler(), span?.spanContext().spanId);
  t.like(span?.attributes, { 'http.request.method': 'GET', 'http.route': '/items/:id', 'http.response.status_code': 200, 'url.path': '/items/42' });
  t.is(span?.status.code, 0);
});

test.serial('thrown error: ERROR status, exception event, 500; 4xx and unmatched are not errors', async (t) => {
  exporter.reset();
  const { url } = await serve(t);
  t.is((await fetch(`${url}/boom`)).status, 500);
  t.is((await fetch(`${url}/missing`)).status, 404);
  t.is((await fetch(`${url}/nope/123`)).status, 404);
  const [boom, missing, nope] = exporter.getFinishedSpans();
  t.is(boom?.name, 'GET /boom');
  t.is(boom?.status.code, 2);
  t.is(boom?.attributes['http.response.status_code'], 500);
  t.is(boom?.events[0]?.name, 'exception');
  t.is(missing?.status.code, 0);
  t.is(missing?.attributes['http.response.status_code'], 404);
  t.is(nope?.name, 'GET unmatched', 'never the raw path');
  t.is(nope?.attributes['http.route'], undefined);
});

test.serial("httpServerSpans 'instrumentation': one SERVER span from OpenTelemetry's http + koa instrumentation, named by route", async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const app = runFixture('./instrumentation-spans-app.ts', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, { preload: false });
  t.teardown(() => app.kill());
  const res = await app.message<{ status: number; traceId: string; body: unknown }>((m) => m.type === 'response', 'response message');
  t.is((await app.exited).code, 0, app.stderr());
  t.is(res.status, 200);
  t.deepEqual(res.body, { id: '42' });
  const spans = await receiver.waitForSpans((all) => all.some((s) => s.traceId === res.traceId && s.kind === 'server'));
  const server = spans.filter((s) => s.traceId === res.traceId && s.kind === 'server');
  t.is(server.length, 1, 'koaTracing() is off: no second SERVER span');
  t.is(server[0]?.scope.name, '@opentelemetry/instrumentation-http');
  t.is(server[0]?.attributes['http.route'], '/items/:id');
  t.is(server[0]?.name, 'GET /items/:id');
});
