// Through real Kafka: fresh orders and payments topics (with their DLQs) and a fresh consumer group.
import test from 'ava';
import { createTopics, freshTopic, waitFor } from '@lantern/testkit';
import { dlqTopic } from '@lantern/shop-common';
import { DLQ_ADMIN_PREFIX, notificationEventsTotal } from '../src/index.js';
import { admin, alice, counterValue, envelope, kafka, orderPlaced, startService, startSmtp, statusChanged } from './helpers.js';

test('a redelivered event (the same envelope published twice) sends one email and writes one in-app message', async (t) => {
  const orders = await freshTopic('notification-orders');
  const payments = await freshTopic('notification-payments');
  await createTopics([dlqTopic(orders), dlqTopic(payments)]);
  const smtp = await startSmtp(t);
  const s = await startService(t, { SMTP_URL: smtp.url, ORDERS_TOPIC: orders, PAYMENTS_TOPIC: payments, KAFKA_FROM_BEGINNING: 'true' }, { kafka });

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const dupBefore = await counterValue(notificationEventsTotal, { type: 'order.placed', outcome: 'duplicate' });

  // poison first: data breaking the contract goes to the DLQ without blocking what follows
  const poison = envelope('order.placed', orderPlaced({ items: [] }));
  await producer.send({ topic: orders, acks: -1, messages: [{ key: poison.key, value: JSON.stringify(poison) }] });
  const placed = envelope('order.placed', orderPlaced());
  const value = JSON.stringify(placed);
  // the same bytes twice, as a producer retry or a replay from the DLQ would deliver them
  await producer.send({ topic: orders, acks: -1, messages: [{ key: placed.key, value }] });
  await producer.send({ topic: orders, acks: -1, messages: [{ key: placed.key, value }] });
  const refunded = envelope('payment.refunded', {
    paymentId: 'pay-1',
    refundId: 'ref-1',
    orderId: placed.data.orderId,
    userId: alice.id,
    email: alice.email,
    amountCents: 1250,
    refundedTotalCents: 1250,
    currency: 'USD',
    at: new Date().toISOString(),
  });
  await producer.send({ topic: payments, acks: -1, messages: [{ key: refunded.key, value: JSON.stringify(refunded) }] });
  // after the duplicate on the same partition: once this one is handled, the duplicate was seen
  const shipped = envelope('order.shipped', statusChanged('shipped', 'paid', { orderId: placed.data.orderId }));
  await producer.send({ topic: orders, acks: -1, messages: [{ key: shipped.key, value: JSON.stringify(shipped) }] });

  await waitFor(async () => smtp.mails.length >= 3 && (await counterValue(notificationEventsTotal, { type: 'order.placed', outcome: 'duplicate' })) > dupBefore, {
    what: 'three emails and the duplicate seen',
    timeoutMs: 30_000,
  });
  await s.svc.dispatcher.runOnce();
  const subjects = smtp.mails.map((m) => m.mail.subject ?? '').sort();
  t.is(subjects.length, 3);
  t.is(subjects.filter((x) => /confirmed/.test(x)).length, 1);
  t.is(subjects.filter((x) => /refund of \$12\.50/.test(x)).length, 1);
  t.is(subjects.filter((x) => /shipped/.test(x)).length, 1);
  const list = await s.call('GET', '/notifications');
  t.deepEqual(list.body.items.map((n: { type: string }) => n.type).sort(), ['order.placed', 'order.shipped', 'payment.refunded']);
  t.is(await counterValue(notificationEventsTotal, { type: 'order.placed', outcome: 'duplicate' }), dupBefore + 1);

  const dlq = await s.call('GET', DLQ_ADMIN_PREFIX, { user: admin });
  t.is(dlq.status, 200);
  t.like(
    dlq.body.topics.find((x: { topic: string }) => x.topic === orders),
    { depth: 1 },
  );
  t.is((await s.call('GET', DLQ_ADMIN_PREFIX)).status, 403, 'admins only');
});
