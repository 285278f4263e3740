// One trace across HTTP → Koa → Kafka → consumer → pg + Redis, from a child process started the way
// services start (node --import tsx --import @lantern/sdk/register), exported over OTLP/HTTP protobuf.
import test from 'ava';
import { freshTopic, infra, startOtlpReceiver, uniqueName } from '@lantern/testkit';
import type { DecodedSpan } from '@lantern/collector';
import { runFixture } from './fixtures/spawn.js';

test('one trace links client → server (route name) → producer → consumer → pg and redis; logs carry the ids', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const topic = await freshTopic('sdk-pipeline');
  const app = runFixture('./pipeline-app.ts', {
    OTEL_SERVICE_NAME: 'sdk-pipeline-test',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    TOPIC: topic,
    GROUP: uniqueName('sdk_pipeline'),
    KEY_PREFIX: uniqueName('sdk'),
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
  });
  t.teardown(() => app.kill());

  const { port } = await app.message<{ port: number }>((m) => m.type === 'ready', 'fixture ready');
  app.child.send({ type: 'call', port, id: 'o-42' });
  const called = await app.message<{ status?: number; error?: string }>((m) => m.type === 'called', 'HTTP call done');
  t.is(called.status, 202, called.error);
  await app.message((m) => m.type === 'processed', 'message consumed');
  app.child.send({ type: 'call-refused' });
  const { port: closedPort } = await app.message<{ port: number }>((m) => m.type === 'refused', 'refused call done');

  // graceful shutdown flushes the batch processor: every span is at the receiver after exit
  app.child.kill('SIGTERM');
  const exit = await app.exited;
  t.is(exit.code, 0, app.stderr());

  const spans = await receiver.waitForSpans((s) => s.some((x) => x.kind === 'consumer'), { what: 'consumer span' });
  const server = spans.find((s) => s.kind === 'server');
  t.truthy(server, 'server span');
  if (!server) return;
  const trace = spans.filter((s) => s.traceId === server.traceId);
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  const parentOf = (s: DecodedSpan | undefined) => (s?.parentSpanId ? byId.get(s.parentSpanId) : undefined);

  t.is(server.name, 'POST /orders/:id');
  t.is(server.attributes['http.route'], '/orders/:id');
  t.is(server.attributes['http.request.method'], 'POST');
  t.is(server.attributes['http.response.status_code'], 202);
  t.is(server.attributes['url.path'], '/orders/o-42');
  t.is(server.resource.attributes['service.name'], 'sdk-pipeline-test');
  t.truthy(server.resource.attributes['host.name']);
  t.truthy(server.resource.attributes['process.pid']);

  const client = parentOf(server);
  t.is(client?.kind, 'client', 'server span is the child of the fetch client span');
  t.is(client?.scope.name, '@lantern/sdk/undici');
  t.is(client?.name, 'POST');
  t.is(client?.attributes['http.request.method'], 'POST');
  t.is(client?.attributes['url.full'], `http://127.0.0.1:${port}/orders/o-42`);
  t.is(client?.attributes['server.address'], '127.0.0.1');
  t.is(client?.attributes['server.port'], port);
  t.is(client?.attributes['http.response.status_code'], 202);
  const refused = spans.find((s) => s.attributes['url.full'] === `http://127.0.0.1:${closedPort}/refused`);
  t.is(refused?.kind, 'client');
  t.is(refused?.status.code, 'error', 'a request without an answer is an error');
  t.truthy(refused?.attributes['error.type']);
  t.truthy(refused?.events.find((e) => e.name === 'exception'));

  const producer = trace.find((s) => s.kind === 'producer');
  t.truthy(producer, 'kafka producer span');
  t.is(parentOf(producer)?.spanId, server.spanId);
  const consumer = trace.find((s) => s.kind === 'consumer');
  t.truthy(consumer, 'kafka consumer span in the same trace');
  t.is(consumer?.parentSpanId, producer?.spanId, 'consumer span is the child of the producer span');

  // knex issues `select version();` on a new connection: a real query, so a span of its own
  const dbSpans = trace.filter((s) => s.attributes['db.system.name'] === 'postgresql');
  const ours = dbSpans.filter((s) => s.attributes['db.query.text'] === 'select $1::text as id');
  t.is(ours.length, 1, 'exactly one DB span for the query (knex would wrap it in a second one)');
  t.is(ours[0]?.parentSpanId, consumer?.spanId);
  t.is(ours[0]?.kind, 'client');
  t.false(trace.some((s) => s.scope.name.includes('knex')), 'no knex spans');
  t.false(trace.some((s) => s.name.startsWith('pg-pool.connect') || s.name === 'pg.connect'), 'no connect spans');
  t.false(
    spans.some((s) => String(s.attributes['db.query.text'] ?? '').includes('background poll')),
    'a query outside any span (a background poll) makes no trace of its own',
  );
  const redis = trace.find((s) => s.scope.name.includes('ioredis'));
  t.truthy(redis, 'redis span');
  t.is(redis?.parentSpanId, consumer?.spanId);
  t.is(redis?.kind, 'client');
  t.false(trace.some((s) => s.scope.name === '@opentelemetry/instrumentation-koa'), 'no per-middleware koa spans');
  t.is(trace.filter((s) => s.kind === 'server').length, 1, 'one server span (http instrumentation makes none)');
  t.is(server.scope.name, '@lantern/sdk/koa');

  const logs = app.logs();
  const received = logs.find((l) => l.msg === 'order received');
  t.is(received?.trace_id, server.traceId);
  t.is(received?.span_id, server.spanId);
  t.is(received?.service, 'sdk-pipeline-test');
  const processed = logs.find((l) => l.msg === 'order processed');
  t.is(processed?.trace_id, server.traceId);
  t.is(processed?.span_id, consumer?.spanId);
  t.is(processed?.orderId, 'o-42');
});
