import { randomUUID } from 'node:crypto';
import test from 'ava';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { createEventPublisher, createOutboxRelay, decodeEnvelope, type EventEnvelope } from '@lantern/shop-common';
import type { Product } from '@lantern/shop-product';
import { createTopics, infra, startPrivateKafka, uniqueName, waitFor } from '@lantern/testkit';
import {
  admin,
  alice,
  bob,
  startInventory,
  startOrders,
  startPayment,
  startProducts,
  type InventoryFixture,
  type PaymentFixture,
  type ProductFixture,
} from './support/harness.js';

let products: ProductFixture;
let inventory: InventoryFixture;
test.before(async () => {
  [products, inventory] = await Promise.all([startProducts(), startInventory()]);
});
test.after.always(async () => {
  await Promise.all([products?.close(), inventory?.close()]);
});

function pick(n: number): Product {
  const p = products.products[n];
  if (!p) throw new Error(`no product ${n}`);
  return p;
}

interface Received {
  envelope: EventEnvelope;
  headers: Record<string, string>;
}

/** A plain consumer (new group, from the beginning) collecting every envelope of a topic. */
async function collect(kafka: Kafka, topic: string): Promise<{ received: Received[]; consumer: Consumer }> {
  const received: Received[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName('order_test_reader'), allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      received.push({ envelope: decodeEnvelope(message.value), headers });
    },
  });
  return { received, consumer };
}

function topicNames() {
  const base = uniqueName('order_test').replace(/_/g, '-');
  return { orders: `${base}-orders`, payments: `${base}-payments`, flashSales: `${base}-flash-sales` };
}

const withDlqs = (t: ReturnType<typeof topicNames>) => [t.orders, t.payments, t.flashSales, `${t.orders}.dlq`, `${t.payments}.dlq`, `${t.flashSales}.dlq`];

test('over Kafka: order events leave through the outbox; payment and flash-sale events drive the orders', async (t) => {
  const topics = topicNames();
  await createTopics(withDlqs(topics), 2);
  const kafka = new Kafka({ clientId: 'order-test', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
  // the real payment service, settling through the asynchronous bank, with its own relay to our payments topic
  const bank: PaymentFixture = await startPayment({ PAYMENT_CHANNELS: 'bank', CHANNEL_BANK_ASYNC: 'true', PAYMENTS_TOPIC: topics.payments });
  const paymentRelay = createOutboxRelay({ db: bank.app.db, kafka, source: 'payment', pollIntervalMs: 200 });
  await paymentRelay.start();
  const svc = await startOrders(t, {
    products,
    inventory,
    payment: bank,
    kafka,
    env: {
      CONSUMERS_ENABLED: 'true',
      ORDERS_TOPIC: topics.orders,
      PAYMENTS_TOPIC: topics.payments,
      FLASH_SALES_TOPIC: topics.flashSales,
      PAYMENTS_GROUP_ID: uniqueName('order_payments'),
      FLASH_SALES_GROUP_ID: uniqueName('order_flash_sales'),
    },
  });
  const reader = await collect(kafka, topics.orders);
  const publisher = createEventPublisher(kafka, { source: 'flash-sale' });
  await publisher.connect();
  t.teardown(async () => {
    await reader.consumer.disconnect();
    await publisher.disconnect();
    await paymentRelay.stop();
    await bank.close();
  });

  const p = pick(0);
  await inventory.restock(p.id, 5);
  const placed = await svc.call('POST', '/orders', { body: { items: [{ productId: p.id, quantity: 1 }] } });
  t.is(placed.status, 201);
  const orderId = placed.body.id as string;
  const pay = await svc.call('POST', `/orders/${orderId}/pay`, { body: { method: 'bank' } });
  t.is(pay.body.status, 'reserved'); // the bank answers later, through payment.succeeded on Kafka
  await waitFor(async () => (await svc.call('GET', `/orders/${orderId}`)).body.status === 'paid', { what: 'paid via the payments topic', timeoutMs: 30_000 });
  const mine = await waitFor(() => {
    const events = reader.received.filter((r) => r.envelope.key === orderId);
    return events.length >= 2 ? events : undefined;
  }, { what: 'order events on the orders topic', timeoutMs: 15_000 });
  t.deepEqual(mine.map((e) => e.envelope.type), ['order.placed', 'order.paid']);
  t.is(mine[0]?.envelope.source, 'order');
  t.is(mine[0]?.headers['event-id'], mine[0]?.envelope.id);
  t.like(mine[1]?.envelope.data as object, { orderId, status: 'paid', userId: alice.id });
  await waitFor(async () => (await inventory.reservation(orderId)) === 'confirmed', { what: 'stock confirmed' });

  // flash-sale purchase requests arrive on the flash-sales topic; a duplicate publish creates nothing more
  const saleId = randomUUID();
  const purchaseId = randomUUID();
  await inventory.allocate(saleId, p.id, 1);
  const data = { purchaseId, saleId, userId: bob.id, productId: p.id, sku: p.sku, name: p.name, unitPriceCents: 99, currency: 'USD', quantity: 1, at: new Date().toISOString() };
  await publisher.publish(topics.flashSales, 'flash_sale.purchase_requested', saleId, data);
  await publisher.publish(topics.flashSales, 'flash_sale.purchase_requested', saleId, data);
  await waitFor(async () => (await svc.call('GET', `/orders/${purchaseId}`, { user: bob })).status === 200, { what: 'flash-sale order', timeoutMs: 30_000 });
  const flash = (await svc.call('GET', `/orders/${purchaseId}`, { user: bob })).body;
  t.like(flash, { status: 'reserved', totalCents: 99, flashSaleId: saleId });
  const placedFlash = await waitFor(() => reader.received.filter((r) => r.envelope.key === purchaseId && r.envelope.type === 'order.placed').length || undefined, { what: 'flash order.placed' });
  t.is(placedFlash, 1);

  // the DLQ admin routes are there for our input topics (admin only)
  const dlq = await svc.call('GET', '/orders/dlq', { user: admin });
  t.is(dlq.status, 200, JSON.stringify(dlq.body));
  t.is((await svc.call('GET', '/orders/dlq')).status, 403);
});

test('Kafka broker down: orders are still accepted, their events wait in the outbox and all arrive after the restart', async (t) => {
  const broker = await startPrivateKafka();
  t.teardown(() => broker.destroy());
  const topics = topicNames();
  await broker.createTopics(withDlqs(topics));
  const kafka = new Kafka({ clientId: 'order-test', brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100 } });
  const payment = await startPayment();
  t.teardown(() => payment.close());
  const svc = await startOrders(t, { products, inventory, payment, kafka, env: { ORDERS_TOPIC: topics.orders, OUTBOX_POLL_MS: '200' } });
  const p = pick(1);
  await inventory.restock(p.id, 100);
  const place = async () => {
    const r = await svc.call('POST', '/orders', { body: { items: [{ productId: p.id, quantity: 1 }] } });
    t.is(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };

  const before = [await place(), await place()];
  await waitFor(async () => Number((await svc.order.db.knex('outbox').count<{ count: string }[]>({ count: '*' }))[0]?.count) === 0, { what: 'outbox drained', timeoutMs: 15_000 });
  await broker.stop();
  const during: string[] = [];
  for (let i = 0; i < 5; i++) during.push(await place());
  const paid = await svc.call('POST', `/orders/${during[0]}/pay`, { body: {} });
  t.is(paid.body.status, 'paid');
  const pending = Number((await svc.order.db.knex('outbox').count<{ count: string }[]>({ count: '*' }))[0]?.count);
  t.is(pending, 6); // 5 × order.placed + order.paid, kept while Kafka is away

  await broker.start();
  await waitFor(async () => Number((await svc.order.db.knex('outbox').count<{ count: string }[]>({ count: '*' }))[0]?.count) === 0, { what: 'outbox drained after the restart', timeoutMs: 60_000 });
  // the reader gets a client with kafkajs's default retries: right after a restart the broker may still be
  // loading its group coordinator, which the service's short-retry client would give up on
  const reader = await collect(new Kafka({ clientId: 'order-test-reader', brokers: broker.brokers, logLevel: logLevel.NOTHING }), topics.orders);
  t.teardown(() => reader.consumer.disconnect());
  const expected = before.length + during.length + 1;
  await waitFor(() => new Set(reader.received.map((r) => r.envelope.id)).size >= expected || undefined, { what: `${expected} events`, timeoutMs: 60_000 });
  const unique = new Map(reader.received.map((r) => [r.envelope.id, r.envelope]));
  t.is(unique.size, expected); // none lost (redeliveries, if any, share an event id)
  const placedIds = [...unique.values()].filter((e) => e.type === 'order.placed').map((e) => e.key);
  t.deepEqual(new Set(placedIds), new Set([...before, ...during]));
  // per order, in order: placed before paid
  const forFirst = reader.received.filter((r) => r.envelope.key === during[0]).map((r) => r.envelope.type);
  t.deepEqual([...new Set(forFirst)], ['order.placed', 'order.paid']);
});
