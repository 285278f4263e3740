import test, { type ExecutionContext } from 'ava';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { z } from 'zod';
import { infra, uniqueName, waitFor } from '@lantern/testkit';
import { createEventPublisher, createEventConsumer, ensureTopics, typedHandler, dlqTopic, eventEnvelopeSchema, type EventEnvelope } from '../src/index.js';

const kafka = new Kafka({ clientId: 'shop-common-test', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });

/** Collects every message on a topic (fresh group, from the beginning). */
async function collect(t: ExecutionContext, topic: string): Promise<KafkaMessage[]> {
  const got: KafkaMessage[] = [];
  const c = kafka.consumer({ groupId: uniqueName('collect') });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => void got.push(message) });
  t.teardown(() => c.disconnect());
  return got;
}

test('publish → consume round trip with a validated envelope; a failing handler lands in the DLQ with the error', async (t) => {
  const topic = uniqueName('orders').replace(/_/g, '-');
  await ensureTopics(kafka, [{ topic, partitions: 1 }]);
  const publisher = createEventPublisher(kafka, { source: 'order-service' });
  await publisher.connect();
  t.teardown(() => publisher.disconnect());

  const received: EventEnvelope<{ orderId: string; total: number }>[] = [];
  let failures = 0;
  const consumer = createEventConsumer(kafka, {
    groupId: uniqueName('payments'),
    topics: [topic],
    fromBeginning: true,
    maxAttempts: 3,
    retryBaseDelayMs: 1,
    handlers: {
      'order.created': typedHandler(z.object({ orderId: z.string(), total: z.number() }), async (e) => void received.push(e)),
      'order.poison': async () => {
        failures++;
        throw new Error('payment provider rejected the request');
      },
    },
  });
  await consumer.start();
  t.teardown(() => consumer.stop());
  const dlq = await collect(t, dlqTopic(topic));

  const sent = await publisher.publish(topic, 'order.created', 'o-1', { orderId: 'o-1', total: 42 });
  t.true(eventEnvelopeSchema.safeParse(sent).success);
  await publisher.publish(topic, 'order.poison', 'o-2', { orderId: 'o-2' });
  await publisher.publish(topic, 'order.created', 'o-3', { orderId: 'o-3', total: 'not a number' });
  await publisher.producer.send({ topic, messages: [{ key: 'x', value: '{"not":"an envelope"}' }] });
  await publisher.publish(topic, 'order.unrelated', 'o-4', {}); // another consumer's type: skipped, not an error

  await waitFor(() => received.length === 1 && dlq.length === 3, { what: 'delivery and 3 dead letters', timeoutMs: 60_000 });
  t.is(received[0]?.id, sent.id);
  t.deepEqual(received[0]?.data, { orderId: 'o-1', total: 42 });
  t.is(received[0]?.source, 'order-service');
  t.is(failures, 3);

  const reasons = dlq.map((m) => ({ reason: m.headers?.['dlq-reason']?.toString(), error: m.headers?.['dlq-error']?.toString(), key: m.key?.toString() }));
  t.deepEqual(reasons.map((r) => r.reason).sort(), ['handler_failed', 'invalid_envelope', 'invalid_event']);
  const failed = reasons.find((r) => r.reason === 'handler_failed');
  t.is(failed?.key, 'o-2');
  t.regex(failed?.error ?? '', /payment provider rejected/);
  t.regex(reasons.find((r) => r.reason === 'invalid_event')?.error ?? '', /data\.total/);
  // the original payload is kept for replay
  t.is(JSON.parse(dlq.find((m) => m.key?.toString() === 'o-2')?.value?.toString() ?? '{}').type, 'order.poison');
});
