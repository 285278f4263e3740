import test from 'ava';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, freshTopic, infra, uniqueName, waitFor } from '@lantern/testkit';
import { createEnvelope, createEventConsumer, createEventPublisher, dlqTopic, InvalidEventError } from '@lantern/shop-common';
import { ORDER_PLACED, type OrderPlaced } from '../src/events.js';
import { assignVariant, DEFAULT_EXPERIMENTS } from '../src/experiments.js';
import { conversionsTotal, ordersConsumedTotal } from '../src/metrics.js';
import { counterValue, startTestService } from './helpers.js';

const kafka = new Kafka({ clientId: 'reco-test', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });

test('order events from Kafka build co-occurrence counts; a re-delivered order is not counted twice', async (t) => {
  const svc = await startTestService(t);
  const topic = await freshTopic('reco-orders');
  await createTopics([dlqTopic(topic)]);

  const publisher = createEventPublisher(kafka, { source: 'order-test' });
  await publisher.connect();
  t.teardown(() => publisher.disconnect());
  const consumer = createEventConsumer(kafka, { groupId: uniqueName('reco-group'), topics: [topic], handlers: svc.handlers, fromBeginning: true });
  t.teardown(() => consumer.stop());
  await consumer.start();

  const variant = assignVariant(DEFAULT_EXPERIMENTS[0]!, 'buyer-1');
  const conversionLabels = { experiment: 'reco-algo', variant };
  const conversionsBefore = await counterValue(conversionsTotal, conversionLabels);
  const duplicatesBefore = await counterValue(ordersConsumedTotal, { outcome: 'duplicate' });

  const order: OrderPlaced = {
    orderId: uniqueName('order'),
    userId: 'buyer-1',
    items: [
      { productId: 'a', quantity: 1, category: 'audio' },
      { productId: 'b', quantity: 2, category: 'audio' },
      { productId: 'c', quantity: 1 },
    ],
  };
  await publisher.publish(topic, ORDER_PLACED, order.orderId, order);
  await waitFor(async () => (await svc.store.boughtTogether('a', 10)).length === 2, { what: 'first order counted' });
  t.deepEqual(await svc.store.boughtTogether('b', 10), [
    { productId: 'c', score: 1 },
    { productId: 'a', score: 1 },
  ]);

  // Kafka redelivers the same order (a new envelope, as a producer retry above the idempotent producer would),
  // then a second order follows on the same single partition: once it is counted, the duplicate has been seen.
  await publisher.publish(topic, ORDER_PLACED, order.orderId, order);
  const second: OrderPlaced = { orderId: uniqueName('order'), userId: 'buyer-2', items: [{ productId: 'a', quantity: 1 }, { productId: 'b', quantity: 1 }] };
  await publisher.publish(topic, ORDER_PLACED, second.orderId, second);
  await waitFor(async () => (await svc.store.boughtTogether('a', 1))[0]?.score === 2, { what: 'second order counted' });

  t.deepEqual(await svc.store.boughtTogether('a', 10), [
    { productId: 'b', score: 2 },
    { productId: 'c', score: 1 },
  ]);
  t.deepEqual(await svc.store.boughtTogether('c', 10), [
    { productId: 'b', score: 1 },
    { productId: 'a', score: 1 },
  ]);
  // popularity in audio: a 1×3, b 2×3 from the first order only
  t.deepEqual(await svc.store.popular('audio', 10), [
    { productId: 'b', score: 6 },
    { productId: 'a', score: 3 },
  ]);
  t.is(await counterValue(ordersConsumedTotal, { outcome: 'duplicate' }), duplicatesBefore + 1);
  t.is(await counterValue(conversionsTotal, conversionLabels), conversionsBefore + 1);

  // And the HTTP view of the same data.
  const bt = await svc.call('GET', '/recommendations/bought-together/a');
  t.deepEqual(bt.body, { productId: 'a', items: [{ productId: 'b', count: 2 }, { productId: 'c', count: 1 }] });
});

test('an order event with invalid data is rejected as InvalidEventError naming the field (dead-lettered, not retried)', async (t) => {
  const svc = await startTestService(t);
  const handler = svc.handlers[ORDER_PLACED]!;
  const envelope = createEnvelope({ type: ORDER_PLACED, source: 'order-test', key: 'o-bad', data: { orderId: 'o-bad', userId: 'u', items: [] } });
  const meta = { topic: 'orders', partition: 0, offset: '0', headers: {}, attempt: 1 };
  const err = await t.throwsAsync(handler(envelope, meta), { instanceOf: InvalidEventError });
  t.regex(err?.message ?? '', /data\.items/);
  const badQty = createEnvelope({ type: ORDER_PLACED, source: 'order-test', key: 'o-bad', data: { orderId: 'o-bad', userId: 'u', items: [{ productId: 'a', quantity: 0 }] } });
  const err2 = await t.throwsAsync(handler(badQty, meta), { instanceOf: InvalidEventError });
  t.regex(err2?.message ?? '', /data\.items\.0\.quantity/);
  t.deepEqual(await svc.store.popular(undefined, 10), []);
});
