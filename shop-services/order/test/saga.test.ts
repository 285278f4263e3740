import test from 'ava';
import { createEnvelope, type EventHandler, type EventMeta } from '@lantern/shop-common';
import type { Product } from '@lantern/shop-product';
import { waitFor } from '@lantern/testkit';
import { revenueCentsTotal, sagaStepsTotal } from '../src/metrics.js';
import { alice, bob, outboxEvents, startOrders, startProducts, type OrderFixture, type ProductFixture } from './support/harness.js';

let products: ProductFixture;
test.before(async () => {
  products = await startProducts();
});
test.after.always(async () => {
  await products?.close();
});

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
  (await svc.call('GET', `/orders/${id}/history`, { user: { id: 'ops', role: 'admin' } })).body.items as { from: string | null; to: string; reason: string | null; actor: string }[];

test.serial('payment succeeds → paid, stock confirmed, revenue counted, order.paid in the outbox', async (t) => {
  const svc = await startOrders(t, { products });
  const p = pick(0);
  svc.inventory.setStock(p.id, 5);
  const order = await placeOrder(svc, p, 2);
  const revenue = await counter(revenueCentsTotal, { currency: 'USD' });
  const r = await svc.call('POST', `/orders/${order.id}/pay`, { body: { method: 'wallet' } });
  t.is(r.status, 200, JSON.stringify(r.body));
  t.is(r.body.status, 'paid');
  t.truthy(r.body.paymentId);
  const sent = svc.payment.requests[0];
  t.like(sent, { idempotencyKey: order.id, caller: 'order', userId: alice.id });
  t.like(sent?.body, { orderId: order.id, userId: alice.id, amountCents: order.totalCents, currency: 'USD', method: 'wallet' });
  t.is(svc.inventory.reservation(order.id)?.status, 'confirmed');
  t.is(await counter(revenueCentsTotal, { currency: 'USD' }), revenue + order.totalCents);
  const events = await outboxEvents(svc.order);
  t.deepEqual(events.map((e) => e.type), ['order.placed', 'order.paid']);
  t.like(events[1]?.data, { status: 'paid', previousStatus: 'reserved', paymentId: r.body.paymentId, email: alice.email });
  const steps = await svc.order.steps.all(order.id);
  t.deepEqual(Object.fromEntries(steps.map((s) => [s.step, s.status])), { reserve: 'succeeded', payment: 'succeeded', confirm: 'succeeded' });
  t.deepEqual(await svc.order.scheduler.pending(), []); // timeout and confirm jobs are gone
});

test.serial('payment fails → 402 payment_failed, stock released, order.payment_failed with the reason', async (t) => {
  const svc = await startOrders(t, { products });
  const p = pick(1);
  svc.inventory.setStock(p.id, 3);
  svc.payment.decide = () => 'failed';
  const order = await placeOrder(svc, p, 3);
  t.is(svc.inventory.available(p.id), 0);
  const failedBefore = await counter(sagaStepsTotal, { step: 'payment', outcome: 'failed' });
  const r = await svc.call('POST', `/orders/${order.id}/pay`, { body: {} });
  t.is(r.status, 402);
  t.is(r.body.error.code, 'payment_failed');
  t.regex(r.body.error.message, /card declined/);
  t.is(svc.inventory.available(p.id), 3);
  t.is(svc.inventory.reservation(order.id)?.status, 'released');
  const now = (await svc.call('GET', `/orders/${order.id}`)).body;
  t.is(now.status, 'payment_failed');
  t.is(now.statusReason, 'card declined');
  const events = await outboxEvents(svc.order);
  t.deepEqual(events.map((e) => e.type), ['order.placed', 'order.payment_failed']);
  t.like(events[1]?.data, { status: 'payment_failed', previousStatus: 'reserved', reason: 'card declined', email: alice.email });
  t.is(await counter(sagaStepsTotal, { step: 'payment', outcome: 'failed' }), failedBefore + 1);
  const h = await historyOf(svc, order.id);
  t.like(h.at(-1), { from: 'reserved', to: 'payment_failed', reason: 'card declined', actor: `user:${alice.id}` });
  // paying again answers the same verdict without a second charge
  const again = await svc.call('POST', `/orders/${order.id}/pay`, { body: {} });
  t.is(again.status, 402);
  t.is(svc.payment.requests.length, 1);
});

test('release is retried until inventory answers (compensation survives a restart of the service)', async (t) => {
  const first = await startOrders(t, { products });
  const p = pick(2);
  first.inventory.setStock(p.id, 2);
  first.payment.decide = () => 'failed';
  const order = await placeOrder(first, p, 2);
  first.inventory.failWith = 503;
  const r = await first.call('POST', `/orders/${order.id}/pay`, { body: {} });
  t.is(r.status, 402);
  t.is(first.inventory.available(p.id), 0); // not released yet: inventory is failing
  t.is((await first.order.scheduler.pending('release_stock')).length, 1);
  // the service goes away with the compensation outstanding; a new instance on the same database finishes it
  await first.stop();
  first.inventory.failWith = undefined;
  const second = await startOrders(t, { products, schema: first.schema, inventory: first.inventory, payment: first.payment });
  await waitFor(async () => (await second.order.scheduler.pending('release_stock')).length === 0, { what: 'release done', timeoutMs: 15_000 });
  t.is(second.inventory.available(p.id), 2);
  t.is(second.inventory.reservation(order.id)?.status, 'released');
  const release = await second.order.steps.all(order.id);
  t.is(release.find((s) => s.step === 'release')?.status, 'succeeded');
});

test('payment pending → order stays reserved; payment.succeeded on the payments topic makes it paid, once', async (t) => {
  const svc = await startOrders(t, { products });
  const p = pick(3);
  svc.inventory.setStock(p.id, 10);
  svc.payment.decide = () => 'pending';
  const order = await placeOrder(svc, p, 1);
  const r = await svc.call('POST', `/orders/${order.id}/pay`, { body: {} });
  t.is(r.status, 200);
  t.is(r.body.status, 'reserved');
  t.truthy(r.body.paymentId);
  t.is((await svc.order.steps.all(order.id)).find((s) => s.step === 'payment')?.status, 'pending');

  const payment = svc.payment.settle(order.id, 'succeeded');
  const handler = svc.order.handlers.payments['payment.succeeded'] as EventHandler;
  const event = createEnvelope({
    type: 'payment.succeeded',
    source: 'payment',
    key: order.id,
    data: { paymentId: payment.id, orderId: order.id, userId: alice.id, amountCents: order.totalCents, currency: 'USD', channel: 'card', at: new Date().toISOString() },
  });
  await handler(event, meta);
  await handler(event, meta); // redelivered
  const now = (await svc.call('GET', `/orders/${order.id}`)).body;
  t.is(now.status, 'paid');
  const h = await historyOf(svc, order.id);
  t.is(h.filter((e) => e.to === 'paid').length, 1);
  t.is(h.at(-1)?.actor, 'system:payment-event');
  t.is(svc.inventory.reservation(order.id)?.status, 'confirmed');
  t.deepEqual((await outboxEvents(svc.order)).map((e) => e.type), ['order.placed', 'order.paid']);

  // payment.failed for another pending order compensates it
  const other = await placeOrder(svc, p, 4);
  await svc.call('POST', `/orders/${other.id}/pay`, { body: {} });
  const failed = svc.payment.settle(other.id, 'failed');
  await (svc.order.handlers.payments['payment.failed'] as EventHandler)(
    createEnvelope({
      type: 'payment.failed',
      source: 'payment',
      key: other.id,
      data: { paymentId: failed.id, orderId: other.id, userId: alice.id, amountCents: other.totalCents, currency: 'USD', reason: 'insufficient funds', at: new Date().toISOString() },
    }),
    meta,
  );
  const o2 = (await svc.call('GET', `/orders/${other.id}`)).body;
  t.is(o2.status, 'payment_failed');
  t.is(o2.statusReason, 'insufficient funds');
  t.is(svc.inventory.available(p.id), 9); // 10 − 1 confirmed; the 4 came back
});

test('payment call without answer → not failed: the re-drive job asks again with the same key and the order gets paid', async (t) => {
  const svc = await startOrders(t, { products, env: { SAGA_STUCK_AFTER_MS: '1200' } });
  const p = pick(4);
  svc.inventory.setStock(p.id, 10);
  let calls = 0;
  svc.payment.decide = () => (++calls === 1 ? 'hang' : 'succeeded');
  const order = await placeOrder(svc, p, 1);
  const r = await svc.call('POST', `/orders/${order.id}/pay`, { body: {} });
  t.is(r.status, 200);
  t.is(r.body.status, 'reserved'); // unknown is not failure
  t.is(svc.inventory.available(p.id), 9);
  await waitFor(async () => (await svc.call('GET', `/orders/${order.id}`)).body.status === 'paid', { what: 'order paid by the re-drive', timeoutMs: 10_000 });
  const sent = svc.payment.requests.filter((q) => q.path === '/payments');
  t.is(sent.length, 2);
  t.true(sent.every((q) => q.idempotencyKey === order.id));
  t.is(svc.payment.payments.size, 1); // one charge
  const h = await historyOf(svc, order.id);
  t.like(h.at(-1), { to: 'paid', actor: 'system:saga-redrive' });
  await waitFor(() => svc.inventory.reservation(order.id)?.status === 'confirmed', { what: 'stock confirmed' });
});

test('payment timeout: the durable scheduler expires the unpaid order, releases its stock, announces order.expired', async (t) => {
  const svc = await startOrders(t, { products, env: { PAYMENT_TIMEOUT_MS: '1000' } });
  const p = pick(5);
  svc.inventory.setStock(p.id, 6);
  const order = await placeOrder(svc, p, 5);
  const paidLater = await placeOrder(svc, p, 1);
  t.is((await svc.call('POST', `/orders/${paidLater.id}/pay`, { body: {} })).body.status, 'paid');
  await waitFor(async () => (await svc.call('GET', `/orders/${order.id}`)).body.status === 'expired', { what: 'order expired', timeoutMs: 10_000 });
  await waitFor(() => svc.inventory.reservation(order.id)?.status === 'released', { what: 'stock released' });
  t.is(svc.inventory.available(p.id), 5); // 6 − 1 sold
  const expired = (await svc.call('GET', `/orders/${order.id}`)).body;
  t.is(expired.statusReason, 'payment timeout');
  const events = await outboxEvents(svc.order);
  t.like(events.find((e) => e.type === 'order.expired')?.data, { orderId: order.id, previousStatus: 'reserved', reason: 'payment timeout' });
  t.like((await historyOf(svc, order.id)).at(-1), { from: 'reserved', to: 'expired', actor: 'system:payment-timeout' });
  t.is((await svc.call('GET', `/orders/${paidLater.id}`)).body.status, 'paid'); // its timeout was cancelled
  const pay = await svc.call('POST', `/orders/${order.id}/pay`, { body: {} });
  t.is(pay.status, 409);
  t.deepEqual(await svc.order.scheduler.pending(), []);
});

test('timeout with a payment of unknown outcome asks the payment service first: a payment that went through wins', async (t) => {
  const svc = await startOrders(t, { products, env: { PAYMENT_TIMEOUT_MS: '1500', SAGA_STUCK_AFTER_MS: '60000' } });
  const p = pick(6);
  svc.inventory.setStock(p.id, 2);
  svc.payment.decide = () => 503; // no verdict: the outcome is unknown to the order service
  const order = await placeOrder(svc, p, 1);
  t.is((await svc.call('POST', `/orders/${order.id}/pay`, { body: {} })).body.status, 'reserved');
  // meanwhile the payment did go through at the provider
  svc.payment.payments.set(order.id, { id: 'pay-late-1', orderId: order.id, status: 'succeeded', amountCents: order.totalCents, currency: 'USD' });
  await waitFor(async () => (await svc.call('GET', `/orders/${order.id}`)).body.status === 'paid', { what: 'paid at timeout', timeoutMs: 10_000 });
  t.like((await historyOf(svc, order.id)).at(-1), { to: 'paid', actor: 'system:payment-timeout' });
});

test('flash-sale purchase → order id = purchase id, reserved from the allocation at the event price; redelivery changes nothing', async (t) => {
  const svc = await startOrders(t, { products });
  const p = pick(7);
  svc.inventory.setStock(p.id, 10);
  svc.inventory.allocate('sale-1', p.id, 1);
  const handler = svc.order.handlers.flashSales['flash_sale.purchase_requested'] as EventHandler;
  const purchase = (purchaseId: string) =>
    createEnvelope({
      type: 'flash_sale.purchase_requested',
      source: 'flash-sale',
      key: 'sale-1',
      data: { purchaseId, saleId: 'sale-1', userId: bob.id, email: bob.email, productId: p.id, sku: p.sku, name: p.name, unitPriceCents: 199, currency: 'USD', quantity: 1, at: new Date().toISOString() },
    });
  const first = purchase('6f1f7a4e-0000-4000-8000-000000000001');
  await handler(first, meta);
  await handler(first, meta);
  await handler({ ...first, id: '6f1f7a4e-0000-4000-8000-0000000000ff' }, meta); // same purchase, new event id
  const order = (await svc.call('GET', `/orders/${first.data.purchaseId}`, { user: bob })).body;
  t.like(order, { id: first.data.purchaseId, userId: bob.id, status: 'reserved', totalCents: 199, flashSaleId: 'sale-1' });
  t.is(order.items[0].unitPriceCents, 199);
  t.is(svc.inventory.requests.filter((q) => q.path.endsWith('/consume')).length, 1);
  t.is(svc.inventory.available(p.id), 9);
  const placed = (await outboxEvents(svc.order)).filter((e) => e.type === 'order.placed');
  t.is(placed.length, 1);
  t.is(placed[0]?.data.flashSaleId, 'sale-1');
  t.is((await svc.order.scheduler.pending('payment_timeout')).length, 1);

  // the allocation is used up: the purchase becomes a cancelled order, announced, so the sale learns it failed
  const second = purchase('6f1f7a4e-0000-4000-8000-000000000002');
  await handler(second, meta);
  const failed = (await svc.call('GET', `/orders/${second.data.purchaseId}`, { user: bob })).body;
  t.is(failed.status, 'cancelled');
  t.regex(failed.statusReason, /allocation refused/);
  t.like((await outboxEvents(svc.order)).at(-1), { type: 'order.cancelled', key: second.data.purchaseId });
  // the flash-sale order is paid like any other
  const paid = await svc.call('POST', `/orders/${first.data.purchaseId}/pay`, { user: bob, body: {} });
  t.is(paid.body.status, 'paid');
  t.is(svc.inventory.reservation(first.data.purchaseId)?.status, 'confirmed');
});
