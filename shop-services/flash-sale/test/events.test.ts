import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import test from 'ava';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createEnvelope, createOutboxRelay, type OrderPlaced, type OrderStatusChanged } from '@lantern/shop-common';
import { infra, waitFor } from '@lantern/testkit';
import { purchaseTransitionsTotal, unitsReleasedTotal } from '../src/metrics.js';
import { buy, counterValue, customer, readTopic, startShop, tokensFor, type TestShop } from './helpers.js';

let shop: TestShop;
let producer: Producer;

test.before(async () => {
  shop = await startShop({ run: { consumer: true }, env: { STALE_HOLD_MS: '1' } });
  producer = new Kafka({ clientId: 'fs-test-order-service', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
});

test.after.always(async () => {
  await producer?.disconnect();
  await shop?.close();
});

/** Publishes as the order service would (envelope JSON, key = order id); returns the envelope's raw value to resend it. */
async function publishOrderEvent(type: string, orderId: string, data: OrderPlaced | OrderStatusChanged, value?: string): Promise<string> {
  const v = value ?? JSON.stringify(createEnvelope({ type, source: 'order', key: orderId, data }));
  await producer.send({ topic: shop.ordersTopic, acks: -1, messages: [{ key: orderId, value: v }] });
  return v;
}

function placed(orderId: string, userId: string, saleId: string): OrderPlaced {
  return { orderId, userId, items: [{ productId: shop.productId, quantity: 1, unitPriceCents: 999 }], totalCents: 999, currency: 'USD', flashSaleId: saleId, at: new Date().toISOString() };
}

function cancelled(orderId: string, userId: string): OrderStatusChanged {
  return { orderId, userId, status: 'cancelled', previousStatus: 'pending', reason: 'allocation exhausted', totalCents: 999, currency: 'USD', at: new Date().toISOString() };
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test.serial('order.placed moves the purchase to ordered, once, however often it is delivered', async (t) => {
  const sale = (await shop.createSale({ stock: 5 })).body;
  const user = customer();
  const bought = await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { user });
  t.is(bought.status, 202);
  const purchaseId = bought.body.purchaseId as string;
  const orderedBefore = await counterValue(purchaseTransitionsTotal, { status: 'ordered' });

  const value = await publishOrderEvent('order.placed', purchaseId, placed(purchaseId, user.id, sale.id));
  await publishOrderEvent('order.placed', purchaseId, placed(purchaseId, user.id, sale.id), value); // redelivery
  // an ordinary order on the same topic is none of our business
  await publishOrderEvent('order.placed', randomUUID(), { ...placed(randomUUID(), user.id, sale.id), flashSaleId: undefined });

  await waitFor(async () => (await shop.call('GET', `/flash-sales/${sale.id}/purchase`, { user })).body.status === 'ordered', { timeoutMs: 30_000, what: 'purchase ordered' });
  const mine = await shop.call('GET', `/flash-sales/${sale.id}/purchase`, { user });
  t.like(mine.body, { purchaseId, status: 'ordered', orderId: purchaseId });
  await waitFor(async () => Number(((await shop.svc.db.knex('processed_events').count({ n: '*' }).first()) as { n: string }).n) >= 1, { what: 'claim stored' });
  t.is(await counterValue(purchaseTransitionsTotal, { status: 'ordered' }), orderedBefore + 1);
});

test.serial('order.cancelled for a queued purchase: failed, and its unit is sold again', async (t) => {
  const sale = (await shop.createSale({ stock: 1 })).body;
  const first = customer();
  const bought = await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { user: first });
  t.is(bought.status, 202);
  const late = customer();
  t.is((await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { user: late })).body.error.code, 'sold_out');
  const releasedBefore = await counterValue(unitsReleasedTotal, { reason: 'purchase_failed' });

  await publishOrderEvent('order.cancelled', bought.body.purchaseId, cancelled(bought.body.purchaseId, first.id));
  await waitFor(async () => (await shop.call('GET', `/flash-sales/${sale.id}/purchase`, { user: first })).body.status === 'failed', { timeoutMs: 30_000, what: 'purchase failed' });
  const mine = await shop.call('GET', `/flash-sales/${sale.id}/purchase`, { user: first });
  t.like(mine.body, { status: 'failed', failureReason: 'allocation exhausted' });
  t.is(mine.body.orderId, undefined);
  t.is(await counterValue(unitsReleasedTotal, { reason: 'purchase_failed' }), releasedBefore + 1);
  t.is((await shop.call('GET', `/flash-sales/${sale.id}`)).body.remaining, 1);

  // the unit is for sale again (the local sold-out flag was cleared); the first buyer had their one attempt
  t.is((await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { user: first })).body.error.code, 'already_purchased');
  t.is((await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { user: late })).status, 202);
  t.is((await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { user: customer() })).body.error.code, 'sold_out');
});

test.serial('Kafka down: the purchase is accepted, kept in the outbox, and reaches Kafka once it is back', async (t) => {
  const down = await startShop({ kafkaBrokers: [`127.0.0.1:${await closedPort()}`] });
  try {
    const sale = (await down.createSale({ stock: 2 })).body;
    const user = customer();
    const [token] = await tokensFor([user]);
    const bought = await buy(down.url, sale.id, token!);
    t.is(bought.status, 202);
    await new Promise((r) => setTimeout(r, 500)); // the relay tries, and fails
    const pending = (await down.svc.db.knex('outbox').select('key', 'type')) as { key: string; type: string }[];
    t.deepEqual(pending, [{ key: sale.id, type: 'flash_sale.purchase_requested' }]);

    // Kafka is back (a relay with a reachable broker, e.g. after a restart): the event goes out
    const kafka = new Kafka({ clientId: 'fs-test-relay', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
    const relay = createOutboxRelay({ db: down.svc.db, kafka, source: 'flash-sale' });
    t.is(await relay.drain(), 1);
    await relay.stop();
    const events = (await readTopic(kafka, down.topic, (v) => v.length >= 1)) as { type: string; source: string; data: { purchaseId: string; userId: string; email: string } }[];
    t.is(events.length, 1);
    t.like(events[0], { type: 'flash_sale.purchase_requested', source: 'flash-sale', data: { purchaseId: bought.purchaseId, userId: user.id, email: user.email } });
  } finally {
    await down.close();
  }
});

test.serial('a sale that ended is settled: unsold units go back to inventory once, later failures too', async (t) => {
  const endsAt = Date.now() + 1200;
  const sale = (await shop.createSale({ stock: 5, endsAt: new Date(endsAt).toISOString() })).body;
  const buyers = [customer(), customer()];
  const purchases: string[] = [];
  for (const user of buyers) purchases.push((await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { user })).body.purchaseId);
  await new Promise((r) => setTimeout(r, Math.max(0, endsAt - Date.now() + 50)));

  const first = await shop.svc.settler.runOnce();
  t.is(first.settled, 1);
  t.deepEqual(
    shop.inventory.returns.filter((r) => r.allocationId === sale.id),
    [{ allocationId: sale.id, quantity: 3, idempotencyKey: `${sale.id}:return:3` }],
  );
  const again = await shop.svc.settler.runOnce();
  t.is(again.settled, 0);
  t.is(shop.inventory.returns.filter((r) => r.allocationId === sale.id).length, 1);
  const shown = await shop.call('GET', `/flash-sales/${sale.id}`);
  t.like(shown.body, { state: 'ended', remaining: 3 });

  // one order could not be created after the end: its unit is owed to inventory too
  await publishOrderEvent('order.cancelled', purchases[0]!, cancelled(purchases[0]!, buyers[0]!.id));
  await waitFor(async () => (await shop.call('GET', `/flash-sales/${sale.id}/purchase`, { user: buyers[0] })).body.status === 'failed', { timeoutMs: 30_000, what: 'purchase failed' });
  await shop.svc.settler.runOnce();
  t.deepEqual(
    shop.inventory.returns.filter((r) => r.allocationId === sale.id).map((r) => [r.quantity, r.idempotencyKey]),
    [
      [3, `${sale.id}:return:3`],
      [1, `${sale.id}:return:4`],
    ],
  );
});

test.serial('a hold whose request died before Postgres is given back by the reconciler', async (t) => {
  const sale = (await shop.createSale({ stock: 3 })).body;
  const [, , buyersKey] = shop.svc.counters.keys(sale.id);
  // the Lua script ran for "ghost", then the process died before the purchase was recorded
  t.is((await shop.svc.counters.purchase(sale.id, 'ghost')).outcome, 'accepted');
  const bought = await shop.call('POST', `/flash-sales/${sale.id}/purchase`, { user: customer() });
  t.is(bought.status, 202);
  t.deepEqual(await shop.svc.counters.remaining([sale.id]), [1]);

  await new Promise((r) => setTimeout(r, 5)); // STALE_HOLD_MS=1 here
  const report = await shop.svc.settler.runOnce();
  t.is(report.staleHoldsReleased, 1);
  t.deepEqual(await shop.svc.counters.remaining([sale.id]), [2]);
  t.is(await shop.svc.redis.sismember(buyersKey, 'ghost'), 0);
  t.is((await shop.svc.counters.holdsOlderThan(sale.id, Date.now() + 1000)).length, 0);
});
