import { randomUUID } from 'node:crypto';
import test from 'ava';
import { createEnvelope, type EventEnvelope, type EventHandler, type EventMeta } from '@lantern/shop-common';
import type { Product } from '@lantern/shop-product';
import { waitFor } from '@lantern/testkit';
import { lateRefundsTotal, revenueCentsTotal, sagaStepsTotal } from '../src/metrics.js';
import {
  admin,
  alice,
  bob,
  callService,
  callsTo,
  outboxEvents,
  startInventory,
  startOrders as start,
  startPayment,
  startProducts,
  type InventoryFixture,
  type OrderFixture,
  type PaymentFixture,
  type ProductFixture,
  type Teardown,
} from './support/harness.js';

// Real product, inventory and payment services; a second payment service declines every charge,
// a third settles through the (asynchronous) bank channel.
let products: ProductFixture;
let inventory: InventoryFixture;
let payment: PaymentFixture;
let declining: PaymentFixture;
let bank: PaymentFixture;
test.before(async () => {
  [products, inventory, payment, declining, bank] = await Promise.all([
    startProducts(),
    startInventory(),
    startPayment(),
    startPayment({ CHANNEL_CARD_DECLINE_RATE: '1', CHANNEL_WALLET_DECLINE_RATE: '1' }),
    startPayment({ PAYMENT_CHANNELS: 'bank', CHANNEL_BANK_ASYNC: 'true' }),
  ]);
});
test.after.always(async () => {
  await Promise.all([products?.close(), inventory?.close(), payment?.close(), declining?.close(), bank?.close()]);
});
const startOrders = (t: Teardown, opts: { env?: Record<string, string>; payment?: PaymentFixture; restartOf?: OrderFixture } = {}) =>
  start(t, { products, inventory, payment: opts.payment ?? payment, ...(opts.env ? { env: opts.env } : {}), ...(opts.restartOf ? { restartOf: opts.restartOf } : {}) });

function pick(n: number): Product {
  const p = products.products[n];
  if (!p) throw new Error(`no product ${n}`);
  return p;
}

const meta: EventMeta = { topic: 'payments', partition: 0, offset: '0', headers: {}, attempt: 1 };

async function counter(c: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }, labels: Record<string, string>): Promise<number> {
  const { values } = await c.get();
  return values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
}

async function placeOrder(svc: OrderFixture, p: Product, quantity: number, user = alice): Promise<{ id: string; totalCents: number }> {
  const r = await svc.call('POST', '/orders', { user, body: { items: [{ productId: p.id, quantity }] } });
  if (r.status !== 201) throw new Error(`place failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

const historyOf = async (svc: OrderFixture, id: string) =>
  (await svc.call('GET', `/orders/${id}/history`, { user: admin })).body.items as { from: string | null; to: string; reason: string | null; actor: string }[];
const statusOf = async (svc: OrderFixture, id: string) => (await svc.call('GET', `/orders/${id}`, { user: admin })).body.status as string;

test.serial('payment succeeds → paid, stock confirmed, revenue counted, order.paid in the outbox', async (t) => {
  const svc = await startOrders(t);
  const p = pick(0);
  await inventory.restock(p.id, 5);
  const order = await placeOrder(svc, p, 2);
  const revenue = await counter(revenueCentsTotal, { currency: 'USD' });
  const r = await svc.call('POST', `/orders/${order.id}/pay`, { body: { method: 'wallet' } });
  t.is(r.status, 200, JSON.stringify(r.body));
  t.is(r.body.status, 'paid');
  const sent = svc.paymentProxy.requests.filter((q) => q.path === '/payments');
  t.is(sent.length, 1);
  t.is(sent[0]?.idempotencyKey, order.id);
  t.like(sent[0]?.body, { orderId: order.id, userId: alice.id, amountCents: order.totalCents, currency: 'USD', method: 'wallet' });
  const ledger = await payment.paymentsOf(order.id);
  t.deepEqual(ledger.map((x) => [x.id, x.status]), [[r.body.paymentId, 'succeeded']]);
  t.is(await inventory.reservation(order.id), 'confirmed');
  t.is(await inventory.available(p.id), 3);
  t.is(await counter(revenueCentsTotal, { currency: 'USD' }), revenue + order.totalCents);
  const events = await outboxEvents(svc.order);
  t.deepEqual(events.map((e) => e.type), ['order.placed', 'order.paid']);
  t.like(events[1]?.data, { status: 'paid', previousStatus: 'reserved', paymentId: r.body.paymentId, email: alice.email });
  const steps = await svc.order.steps.all(order.id);
  t.deepEqual(Object.fromEntries(steps.map((s) => [s.step, s.status])), { reserve: 'succeeded', payment: 'succeeded', confirm: 'succeeded' });
  t.deepEqual(await svc.order.scheduler.pending(), []); // timeout and confirm jobs are gone
});

test.serial('payment declined → 402 payment_failed, stock released, order.payment_failed with the reason', async (t) => {
  const svc = await startOrders(t, { payment: declining });
  const p = pick(1);
  await inventory.restock(p.id, 3);
  const order = await placeOrder(svc, p, 3);
  t.is(await inventory.available(p.id), 0);
  const failedBefore = await counter(sagaStepsTotal, { step: 'payment', outcome: 'failed' });
  const r = await svc.call('POST', `/orders/${order.id}/pay`, { body: {} });
  t.is(r.status, 402, JSON.stringify(r.body));
  t.is(r.body.error.code, 'payment_failed');
  t.is(await inventory.available(p.id), 3);
  t.is(await inventory.reservation(order.id), 'released');
  const now = (await svc.call('GET', `/orders/${order.id}`)).body;
  t.is(now.status, 'payment_failed');
  t.truthy(now.statusReason);
  t.true(r.body.error.message.includes(now.statusReason));
  const events = await outboxEvents(svc.order);
  t.deepEqual(events.map((e) => e.type), ['order.placed', 'order.payment_failed']);
  t.like(events[1]?.data, { status: 'payment_failed', previousStatus: 'reserved', reason: now.statusReason, email: alice.email });
  t.is(await counter(sagaStepsTotal, { step: 'payment', outcome: 'failed' }), failedBefore + 1);
  t.like((await historyOf(svc, order.id)).at(-1), { from: 'reserved', to: 'payment_failed', actor: `user:${alice.id}` });
  // paying again answers the same verdict without asking payment again
  const again = await svc.call('POST', `/orders/${order.id}/pay`, { body: {} });
  t.is(again.status, 402);
  t.is(callsTo(svc.paymentProxy, 'POST', '/payments'), 1);
});

test('release is retried until inventory answers, and survives a restart of the order service', async (t) => {
  const first = await startOrders(t, { payment: declining });
  const p = pick(2);
  await inventory.restock(p.id, 2);
  const order = await placeOrder(first, p, 2);
  first.inventoryProxy.fault = (req) => (req.path.endsWith('/release') ? 503 : undefined);
  const r = await first.call('POST', `/orders/${order.id}/pay`, { body: {} });
  t.is(r.status, 402);
  t.is(await inventory.available(p.id), 0); // not released yet: inventory keeps failing
  await waitFor(() => callsTo(first.inventoryProxy, 'POST', /\/release$/) >= 3, { what: 'release retried' });
  t.is((await first.order.scheduler.pending('release_stock')).length, 1);
  // the service goes away with the compensation outstanding; a new instance on the same database finishes it
  await first.stop();
  first.inventoryProxy.fault = () => undefined;
  const second = await startOrders(t, { payment: declining, restartOf: first });
  await waitFor(async () => (await second.order.scheduler.pending('release_stock')).length === 0, { what: 'release done', timeoutMs: 15_000 });
  t.is(await inventory.available(p.id), 2);
  t.is(await inventory.reservation(order.id), 'released');
  t.is((await second.order.steps.all(order.id)).find((s) => s.step === 'release')?.status, 'succeeded');
});

/** Waits for the payment service to write its verdict event for the order, as Kafka would deliver it. */
async function paymentEvent(pay: PaymentFixture, type: 'payment.succeeded' | 'payment.failed', orderId: string): Promise<EventEnvelope> {
  return waitFor(async () => (await pay.outbox(type)).find((e) => e.key === orderId) as EventEnvelope | undefined, { what: `${type} for ${orderId}`, timeoutMs: 10_000 });
}

test.serial('bank payment pending → order stays reserved; payment.succeeded / payment.failed events settle it, once', async (t) => {
  const svc = await startOrders(t, { payment: bank });
  const p = pick(3);
  await inventory.restock(p.id, 10);
  const order = await placeOrder(svc, p, 1);
  const r = await svc.call('POST', `/orders/${order.id}/pay`, { body: { method: 'bank' } });
  t.is(r.status, 200, JSON.stringify(r.body));
  t.is(r.body.status, 'reserved');
  t.truthy(r.body.paymentId);
  t.is((await svc.order.steps.all(order.id)).find((s) => s.step === 'payment')?.status, 'pending');

  const succeeded = await paymentEvent(bank, 'payment.succeeded', order.id);
  const handler = svc.order.handlers.payments['payment.succeeded'] as EventHandler;
  await handler(succeeded, meta);
  await handler(succeeded, meta); // redelivered
  t.is(await statusOf(svc, order.id), 'paid');
  const h = await historyOf(svc, order.id);
  t.is(h.filter((e) => e.to === 'paid').length, 1);
  t.is(h.at(-1)?.actor, 'system:payment-event');
  t.is(await inventory.reservation(order.id), 'confirmed');
  t.deepEqual((await outboxEvents(svc.order)).map((e) => e.type), ['order.placed', 'order.paid']);

  // the bank now declines: payment.failed for the next pending order compensates it
  const sim = await callService(bank.url, 'payment', 'PUT', '/payments/channels/bank/simulation', { user: admin, body: { declineRate: 1 } });
  t.is(sim.status, 200, JSON.stringify(sim.body));
  const other = await placeOrder(svc, p, 4);
  t.is((await svc.call('POST', `/orders/${other.id}/pay`, { body: { method: 'bank' } })).body.status, 'reserved');
  const failed = await paymentEvent(bank, 'payment.failed', other.id);
  await (svc.order.handlers.payments['payment.failed'] as EventHandler)(failed, meta);
  const o2 = (await svc.call('GET', `/orders/${other.id}`)).body;
  t.is(o2.status, 'payment_failed');
  t.truthy(o2.statusReason);
  t.is(await inventory.available(p.id), 9); // 10 − 1 confirmed; the 4 came back
});

test('payment answer lost → not a failure: the re-drive job asks again with the same key; one charge, order paid', async (t) => {
  const svc = await startOrders(t, { env: { SAGA_STUCK_AFTER_MS: '2000', PAYMENT_TIMEOUT_CALL_MS: '1500' } });
  const p = pick(4);
  await inventory.restock(p.id, 10);
  svc.paymentProxy.fault = (req, nth) => (req.path === '/payments' && nth === 1 ? 'lose-answer' : undefined);
  const order = await placeOrder(svc, p, 1);
  const r = await svc.call('POST', `/orders/${order.id}/pay`, { body: {} });
  t.is(r.status, 200);
  t.is(r.body.status, 'reserved'); // unknown is not failure: the stock stays held
  t.is(await inventory.available(p.id), 9);
  await waitFor(async () => (await statusOf(svc, order.id)) === 'paid', { what: 'order paid by the re-drive', timeoutMs: 15_000 });
  const sent = svc.paymentProxy.requests.filter((q) => q.method === 'POST' && q.path === '/payments');
  t.is(sent.length, 2);
  t.true(sent.every((q) => q.idempotencyKey === order.id));
  t.is((await payment.paymentsOf(order.id)).length, 1); // the payment service answered the retry with the first charge
  t.like((await historyOf(svc, order.id)).at(-1), { to: 'paid', actor: 'system:saga-redrive' });
  await waitFor(async () => (await inventory.reservation(order.id)) === 'confirmed', { what: 'stock confirmed' });
});

test('payment timeout: the durable scheduler expires the unpaid order, releases its stock, announces order.expired', async (t) => {
  const svc = await startOrders(t, { env: { PAYMENT_TIMEOUT_MS: '3000' } });
  const p = pick(5);
  await inventory.restock(p.id, 6);
  const order = await placeOrder(svc, p, 5);
  const paidLater = await placeOrder(svc, p, 1);
  t.is((await svc.call('POST', `/orders/${paidLater.id}/pay`, { body: {} })).body.status, 'paid');
  await waitFor(async () => (await statusOf(svc, order.id)) === 'expired', { what: 'order expired', timeoutMs: 10_000 });
  await waitFor(async () => (await inventory.reservation(order.id)) === 'released', { what: 'stock released' });
  t.is(await inventory.available(p.id), 5); // 6 − 1 sold
  const expired = (await svc.call('GET', `/orders/${order.id}`)).body;
  t.is(expired.statusReason, 'payment timeout');
  const events = await outboxEvents(svc.order);
  t.like(events.find((e) => e.type === 'order.expired')?.data, { orderId: order.id, previousStatus: 'reserved', reason: 'payment timeout' });
  t.like((await historyOf(svc, order.id)).at(-1), { from: 'reserved', to: 'expired', actor: 'system:payment-timeout' });
  t.is(await statusOf(svc, paidLater.id), 'paid'); // its timeout was cancelled when it was paid
  const pay = await svc.call('POST', `/orders/${order.id}/pay`, { body: {} });
  t.is(pay.status, 409);
  t.deepEqual(await svc.order.scheduler.pending(), []);
});

test('timeout with a payment of unknown outcome asks the payment service first: a charge that went through wins', async (t) => {
  const svc = await startOrders(t, { env: { PAYMENT_TIMEOUT_MS: '4000', SAGA_STUCK_AFTER_MS: '60000' } });
  const p = pick(6);
  await inventory.restock(p.id, 2);
  svc.paymentProxy.fault = (req) => (req.method === 'POST' ? 'lose-answer' : undefined); // charged, answer lost
  const order = await placeOrder(svc, p, 1);
  t.is((await svc.call('POST', `/orders/${order.id}/pay`, { body: {} })).body.status, 'reserved');
  await waitFor(async () => (await statusOf(svc, order.id)) === 'paid', { what: 'paid at timeout', timeoutMs: 10_000 });
  t.like((await historyOf(svc, order.id)).at(-1), { to: 'paid', actor: 'system:payment-timeout' });
  t.is(callsTo(svc.paymentProxy, 'GET', `/payments?orderId=${order.id}`), 1);
  await waitFor(async () => (await inventory.reservation(order.id)) === 'confirmed', { what: 'stock confirmed' });
});

test('flash-sale purchase → order id = purchase id, reserved from the sale allocation at the event price; redelivery changes nothing', async (t) => {
  const svc = await startOrders(t);
  const p = pick(7);
  const saleId = randomUUID();
  await inventory.restock(p.id, 10);
  await inventory.allocate(saleId, p.id, 1);
  const handler = svc.order.handlers.flashSales['flash_sale.purchase_requested'] as EventHandler;
  const purchase = (purchaseId: string) =>
    createEnvelope({
      type: 'flash_sale.purchase_requested',
      source: 'flash-sale',
      key: saleId,
      data: { purchaseId, saleId, userId: bob.id, email: bob.email, productId: p.id, sku: p.sku, name: p.name, unitPriceCents: 199, currency: 'USD', quantity: 1, at: new Date().toISOString() },
    });
  const first = purchase(randomUUID());
  await handler(first, meta);
  await handler(first, meta);
  await handler({ ...first, id: randomUUID() }, meta); // the same purchase in another event
  const order = (await svc.call('GET', `/orders/${first.data.purchaseId}`, { user: bob })).body;
  t.like(order, { id: first.data.purchaseId, userId: bob.id, status: 'reserved', totalCents: 199, flashSaleId: saleId });
  t.is(order.items[0].unitPriceCents, 199);
  t.is(callsTo(svc.inventoryProxy, 'POST', /\/consume$/), 1);
  t.is(await inventory.reservation(first.data.purchaseId), 'reserved');
  const placed = (await outboxEvents(svc.order)).filter((e) => e.type === 'order.placed');
  t.is(placed.length, 1);
  t.is(placed[0]?.data.flashSaleId, saleId);
  t.is((await svc.order.scheduler.pending('payment_timeout')).length, 1);

  // the allocation is used up: the purchase becomes a cancelled order, announced, so the sale learns it failed
  const second = purchase(randomUUID());
  await handler(second, meta);
  const failed = (await svc.call('GET', `/orders/${second.data.purchaseId}`, { user: bob })).body;
  t.is(failed.status, 'cancelled');
  t.regex(failed.statusReason, /allocation refused/);
  t.like((await outboxEvents(svc.order)).at(-1), { type: 'order.cancelled', key: second.data.purchaseId });
  // the flash-sale order is paid like any other
  const paid = await svc.call('POST', `/orders/${first.data.purchaseId}/pay`, { user: bob, body: {} });
  t.is(paid.body.status, 'paid');
  t.is(await inventory.reservation(first.data.purchaseId), 'confirmed');
});

/**
 * An order left to expire, then charged anyway (say, a bank that answered late), as the saga would have
 * asked for it: the order and its succeeded payment, and the `payment.succeeded` event announcing it.
 */
async function expiredThenCharged(svc: OrderFixture, p: Product): Promise<{ order: { id: string; totalCents: number }; charge: { id: string; status: string }; succeeded: EventEnvelope }> {
  await inventory.restock(p.id, 2);
  const order = await placeOrder(svc, p, 1);
  await waitFor(async () => (await statusOf(svc, order.id)) === 'expired', { what: 'expired', timeoutMs: 15_000 });
  const charge = await svc.order.upstreams.requestPayment({ orderId: order.id, userId: alice.id, amountCents: order.totalCents, currency: 'USD', method: 'card' }, alice);
  const succeeded = createEnvelope({
    type: 'payment.succeeded',
    source: 'payment',
    key: order.id,
    data: { paymentId: charge.id, orderId: order.id, userId: alice.id, amountCents: order.totalCents, currency: 'USD', channel: 'card', at: new Date().toISOString() },
  }) as EventEnvelope;
  return { order, charge, succeeded };
}

test('a payment that succeeds after its order expired is refunded automatically, once, and the order stays expired', async (t) => {
  const svc = await startOrders(t, { env: { PAYMENT_TIMEOUT_MS: '1500' } });
  const { order, charge, succeeded } = await expiredThenCharged(svc, pick(12));
  t.is(charge.status, 'succeeded');
  const handler = svc.order.handlers.payments['payment.succeeded'] as EventHandler;
  await handler(succeeded, meta);
  await handler(succeeded, meta); // redelivered: claimed already, no second refund

  await waitFor(async () => (await svc.order.steps.get(order.id, 'refund'))?.status === 'succeeded', { what: 'refund step done', timeoutMs: 10_000 });
  const refunds = (await callService(payment.url, 'payment', 'GET', `/payments/${charge.id}/refunds`, { user: admin })).body.items as { amountCents: number }[];
  t.is(refunds.length, 1);
  t.is(refunds[0]?.amountCents, order.totalCents, 'the whole payment');
  t.is(await statusOf(svc, order.id), 'expired');
  t.is((await svc.order.scheduler.pending('refund_late_payment')).length, 0);
  t.regex((await svc.order.steps.get(order.id, 'payment'))?.detail ?? '', /late payment/);
});

test('a late payment whose refund the channel fails is recorded failed and counted for a person, not marked refunded', async (t) => {
  const own = await startPayment(); // this test breaks its card channel: a payment service of its own
  t.teardown(() => own.close());
  const svc = await startOrders(t, { payment: own, env: { PAYMENT_TIMEOUT_MS: '1500' } });
  const { order, charge, succeeded } = await expiredThenCharged(svc, pick(13));
  t.is(charge.status, 'succeeded');
  const broken = await callService(own.url, 'payment', 'PUT', '/payments/channels/card/simulation', { body: { failureRate: 1 }, user: admin });
  t.is(broken.status, 200, JSON.stringify(broken.body));
  const failedBefore = await counter(lateRefundsTotal, { outcome: 'failed' });
  await (svc.order.handlers.payments['payment.succeeded'] as EventHandler)(succeeded, meta);
  await waitFor(async () => (await svc.order.steps.get(order.id, 'refund'))?.status === 'failed', { what: 'refund step failed', timeoutMs: 15_000 });
  t.regex((await svc.order.steps.get(order.id, 'refund'))?.detail ?? '', /failed/);
  t.is(await counter(lateRefundsTotal, { outcome: 'failed' }), failedBefore + 1);
  t.is((await svc.order.scheduler.pending('refund_late_payment')).length, 0, 'not retried forever');
  const refunds = (await callService(own.url, 'payment', 'GET', `/payments/${charge.id}/refunds`, { user: admin })).body.items as { status: string }[];
  t.false(refunds.some((r) => r.status === 'succeeded'));
});
