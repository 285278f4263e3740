import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { createTopics, freshSchema, infra, startOtlpReceiver, uniqueName } from '@lantern/testkit';

const REGISTER = createRequire(import.meta.url).resolve('@lantern/sdk/register.mjs');

test('with the SDK: request span → relay producer span → consumer span → handler DB span, one trace', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const schema = await freshSchema('outbox_trace');
  t.teardown(() => schema.drop());
  const topic = uniqueName('traced').replace(/_/g, '-');
  await createTopics([topic], 1);

  const child = fork(fileURLToPath(new URL('./fixtures/outbox-trace-app.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx/esm', '--import', REGISTER],
    env: {
      ...process.env,
      OTEL_SERVICE_NAME: 'outbox-trace-fixture',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      DATABASE_URL: infra.databaseUrl,
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      SCHEMA: schema.name,
      TOPIC: topic,
      GROUP: uniqueName('traced'),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')));
  const done = new Promise<{ requestTraceId: string; consumerTraceId: string }>((resolve) => child.on('message', (m) => resolve(m as never)));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.is(code, 0, stderr);
  const { requestTraceId, consumerTraceId } = await done;
  t.is(consumerTraceId, requestTraceId, "the handler runs in the request's trace");

  const spans = await receiver.waitForSpans((s) => s.some((x) => x.name === `process ${topic}`), { timeoutMs: 20_000 });
  const request = spans.find((s) => s.name === 'POST /orders');
  const producers = spans.filter((s) => s.name === `send ${topic}`);
  const consumer = spans.find((s) => s.name === `process ${topic}`);
  t.is(producers.length, 1, 'one producer span per message: the instrumentation does not add its own for the relay');
  const producer = producers[0];
  t.is(producer?.traceId, request?.traceId);
  t.is(producer?.parentSpanId, request?.spanId, 'the producer span is a child of the request that wrote the event');
  t.is(consumer?.traceId, request?.traceId);
  t.is(consumer?.parentSpanId, producer?.spanId, "the consumer span is the producer span's child");
  const claim = spans.find((s) => s.traceId === request?.traceId && String(s.attributes['db.query.text'] ?? '').includes('processed_events'));
  t.truthy(claim, "the handler's DB call is in the same trace");
});
