import test, { type ExecutionContext } from 'ava';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { z } from 'zod';
import { defaultRegistry } from '@lantern/sdk';
import { createTopics, infra, uniqueName, waitFor } from '@lantern/testkit';
import {
  createEventConsumer,
  createEventPublisher,
  ensureTopics,
  dlqTopic,
  typedHandler,
  RetryableEventError,
  NonRetryableEventError,
  DLQ_HEADERS,
  type AttemptRecord,
  type EventPublisher,
} from '../src/index.js';

const kafka = new Kafka({
  clientId: 'shop-common-consumer-test',
  brokers: infra.kafkaBrokers,
  logLevel: logLevel.NOTHING,
  retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
});

function topicName(prefix: string): string {
  return uniqueName(prefix).replace(/_/g, '-');
}

async function publisher(t: ExecutionContext): Promise<EventPublisher> {
  const p = createEventPublisher(kafka, { source: 'test' });
  await p.connect();
  t.teardown(() => p.disconnect());
  return p;
}

async function collect(t: ExecutionContext, topic: string): Promise<KafkaMessage[]> {
  const got: KafkaMessage[] = [];
  const c = kafka.consumer({ groupId: uniqueName('collect') });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => void got.push(message) });
  t.teardown(() => c.disconnect());
  return got;
}

const header = (m: KafkaMessage | undefined, name: string) => m?.headers?.[name]?.toString();

test('error classes: retryable and unknown errors retry with backoff then DLQ; non-retryable and poison go straight to the DLQ; attempt history in headers', async (t) => {
  const topic = topicName('classes');
  await ensureTopics(kafka, [{ topic, partitions: 1 }]);
  const calls: Record<string, number> = {};
  const count = (type: string) => (calls[type] = (calls[type] ?? 0) + 1);
  const handled: string[] = [];
  const consumer = createEventConsumer(kafka, {
    groupId: uniqueName('classes'),
    topics: [topic],
    fromBeginning: true,
    maxAttempts: 3,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    lagIntervalMs: false,
    handlers: {
      'e.flaky': async (e) => {
        if (count(e.type) < 3) throw new RetryableEventError('lock timeout');
        handled.push(e.type);
      },
      'e.retryable': async (e) => {
        count(e.type);
        throw new RetryableEventError('inventory service unavailable');
      },
      'e.unknown': async (e) => {
        count(e.type);
        throw new TypeError('cannot read properties of undefined');
      },
      'e.refused': async (e) => {
        count(e.type);
        throw new NonRetryableEventError('order already cancelled');
      },
      'e.poison': typedHandler(z.object({ qty: z.number() }), async (e) => {
        count(e.type);
      }),
    },
  });
  await consumer.start();
  t.teardown(() => consumer.stop());
  const dlq = await collect(t, dlqTopic(topic));
  const pub = await publisher(t);
  for (const type of ['e.flaky', 'e.retryable', 'e.unknown', 'e.refused']) await pub.publish(topic, type, type, {});
  await pub.publish(topic, 'e.poison', 'e.poison', { qty: 'lots' });
  await pub.producer.send({ topic, messages: [{ key: 'raw', value: 'not json at all' }] });

  await waitFor(() => dlq.length === 5 && handled.length === 1, { what: '5 dead letters and one late success', timeoutMs: 30_000 });
  t.deepEqual(calls, { 'e.flaky': 3, 'e.retryable': 3, 'e.unknown': 3, 'e.refused': 1 }, 'poison never reaches the handler');
  const byKey = new Map(dlq.map((m) => [m.key?.toString(), m]));
  const expect: [string, string, string, number][] = [
    ['e.retryable', 'handler_failed', 'RetryableEventError', 3],
    ['e.unknown', 'handler_failed', 'TypeError', 3],
    ['e.refused', 'non_retryable', 'NonRetryableEventError', 1],
    ['e.poison', 'invalid_event', 'InvalidEventError', 1],
    ['raw', 'invalid_envelope', 'InvalidEventError', 1],
  ];
  for (const [key, reason, errorClass, attempts] of expect) {
    const m = byKey.get(key);
    t.is(header(m, DLQ_HEADERS.reason), reason, `${key} reason`);
    t.is(header(m, DLQ_HEADERS.errorClass), errorClass, `${key} class`);
    t.is(header(m, DLQ_HEADERS.attempts), String(attempts), `${key} attempts`);
    const history = JSON.parse(header(m, DLQ_HEADERS.attemptHistory) ?? 'null') as AttemptRecord[];
    t.deepEqual(
      history.map((h) => h.attempt),
      Array.from({ length: attempts }, (_, i) => i + 1),
      `${key} history`,
    );
    t.true(history.every((h) => !Number.isNaN(Date.parse(h.at)) && h.errorClass === errorClass && h.error.length > 0));
    t.is(header(m, DLQ_HEADERS.originalTopic), topic);
    t.is(header(m, DLQ_HEADERS.originalPartition), '0');
  }
  t.regex(header(byKey.get('e.poison'), DLQ_HEADERS.error) ?? '', /data\.qty/);
  t.regex(header(byKey.get('e.retryable'), DLQ_HEADERS.error) ?? '', /inventory service unavailable/);
  t.is(header(byKey.get('e.refused'), 'event-type'), 'e.refused', 'original headers kept');
});

test('a failed DLQ write leaves the offset uncommitted: the message is redelivered and dead-lettered once the DLQ exists', async (t) => {
  const topic = topicName('nodlq');
  await createTopics([topic], 1); // no <topic>.dlq yet: dead-lettering fails
  const seen: string[] = [];
  const consumer = createEventConsumer(kafka, {
    groupId: uniqueName('nodlq'),
    topics: [topic],
    fromBeginning: true,
    lagIntervalMs: false,
    handlers: {
      'e.refused': async (e) => {
        seen.push(e.id);
        throw new NonRetryableEventError('refused');
      },
      'e.ok': async (e) => void seen.push(e.id),
    },
  });
  await consumer.start();
  t.teardown(() => consumer.stop());
  const pub = await publisher(t);
  const refused = await pub.publish(topic, 'e.refused', 'k', {});
  const ok = await pub.publish(topic, 'e.ok', 'k', {});
  await waitFor(() => seen.filter((id) => id === refused.id).length >= 2, { what: 'the refused event redelivered', timeoutMs: 30_000 });
  t.false(seen.includes(ok.id), 'nothing after it is consumed while it cannot be dead-lettered');

  await createTopics([dlqTopic(topic)], 1);
  const dlq = await collect(t, dlqTopic(topic));
  await waitFor(() => dlq.length >= 1 && seen.includes(ok.id), { what: 'dead letter written, partition moving again', timeoutMs: 40_000 });
  t.is(header(dlq[0], 'event-id'), refused.id);
});

test('kafka_consumer_lag{group,topic,partition} shows a backlog and falls to 0; removed on stop', async (t) => {
  const topic = topicName('lag');
  await ensureTopics(kafka, [{ topic, partitions: 1 }]);
  const pub = await publisher(t);
  for (let i = 0; i < 20; i++) await pub.publish(topic, 'e.slow', `k${i}`, { i });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let handled = 0;
  const group = uniqueName('lag');
  const consumer = createEventConsumer(kafka, {
    groupId: group,
    topics: [topic],
    fromBeginning: true,
    lagIntervalMs: 100,
    handlers: {
      'e.slow': async () => {
        await gate;
        handled++;
      },
    },
  });
  await consumer.start();
  let stopped = false;
  t.teardown(async () => {
    release();
    if (!stopped) await consumer.stop();
  });
  const lag = async () =>
    (await defaultRegistry().getSingleMetric('kafka_consumer_lag')?.get())?.values.find((v) => v.labels.group === group && v.labels.topic === topic && v.labels.partition === '0')
      ?.value;
  await waitFor(async () => (await lag()) === 20, { what: 'lag 20 while the handler is stuck', timeoutMs: 20_000 });
  const measured = await consumer.refreshLag();
  t.deepEqual(
    measured.map((l) => [l.topic, l.partition, l.lag]),
    [[topic, 0, 20]],
  );
  release();
  await waitFor(async () => handled === 20 && (await lag()) === 0, { what: 'lag back to 0', timeoutMs: 20_000 });
  const depth = (await defaultRegistry().getSingleMetric('kafka_dlq_depth')?.get())?.values.find((v) => v.labels.topic === dlqTopic(topic));
  t.is(depth?.value, 0, 'the DLQ depth of the consumed topic is reported too');
  stopped = true;
  await consumer.stop();
  t.is(await lag(), undefined, 'a stopped consumer reports no lag');
});

test('stopping mid-retry neither dead-letters nor commits: the next consumer of the group gets the event again', async (t) => {
  const topic = topicName('stopretry');
  await ensureTopics(kafka, [{ topic, partitions: 1 }]);
  const group = uniqueName('stopretry');
  const attempts: string[] = [];
  const failing = createEventConsumer(kafka, {
    groupId: group,
    topics: [topic],
    fromBeginning: true,
    maxAttempts: 10,
    retryBaseDelayMs: 5_000,
    retryMaxDelayMs: 5_000,
    lagIntervalMs: false,
    handlers: {
      'e.later': async (e) => {
        attempts.push(e.id);
        throw new RetryableEventError('dependency down');
      },
    },
  });
  await failing.start();
  const pub = await publisher(t);
  const sent = await pub.publish(topic, 'e.later', 'k', {});
  await waitFor(() => attempts.length >= 1, { what: 'the first failed attempt', timeoutMs: 30_000 });
  await failing.stop();

  const applied: string[] = [];
  const healthy = createEventConsumer(kafka, { groupId: group, topics: [topic], fromBeginning: true, lagIntervalMs: false, handlers: { 'e.later': async (e) => void applied.push(e.id) } });
  await healthy.start();
  t.teardown(() => healthy.stop());
  await waitFor(() => applied.length === 1, { what: 'redelivery to the next consumer', timeoutMs: 30_000 });
  t.is(applied[0], sent.id);
  const dlq = await collect(t, dlqTopic(topic));
  await new Promise((r) => setTimeout(r, 1000));
  t.is(dlq.length, 0, 'nothing dead-lettered');
});
