import test from 'ava';
import { createEnvelope, type EventEnvelope, type EventHandler } from '@lantern/shop-common';
import { countStatements as counted } from '@lantern/testkit';
import { alice, startInventory, startOrders as start, startPayment, startProducts, type InventoryFixture, type PaymentFixture, type ProductFixture, type Teardown } from './support/harness.js';

// The SQL round trips of one checkout, counted at the order service's knex (BEGIN and COMMIT count):
// each is a socket write, a pg span and Postgres work, the largest cost of an order after HTTP. The
// budgets are what the statements are today; a change that adds round trips to the hot path fails here.
let products: ProductFixture;
let inventory: InventoryFixture;
let payment: PaymentFixture;
test.before(async () => {
  [products, inventory, payment] = await Promise.all([startProducts(), startInventory(), startPayment()]);
});
test.after.always(async () => {
  await Promise.all([products?.close(), inventory?.close(), payment?.close()]);
});

test('one order placed and paid by card: the order service issues at most 12 + 13 statements (were 17 + 22)', async (t) => {
  // no scheduler poll during the count (the kicks run the saga's jobs directly)
  const svc = await start(t as Teardown, { products, inventory, payment, env: { SCHEDULER_POLL_MS: '3600000' } });
  const p = products.products[5]!;
  await svc.inventory.restock(p.id, 5);
  const { knex } = svc.order.db;
  const placed = await counted(knex, () => svc.call('POST', '/orders', { body: { items: [{ productId: p.id, quantity: 1 }] }, headers: { 'idempotency-key': 'budget-1' } }));
  t.is(placed.result.status, 201, JSON.stringify(placed.result.body));
  const paid = await counted(knex, () => svc.call('POST', `/orders/${placed.result.body.id}/pay`, { body: { method: 'card' } }));
  t.is(paid.result.status, 200, JSON.stringify(paid.result.body));
  t.is(paid.result.body.status, 'paid');
  t.log(`place: ${placed.statements.length} statements, pay: ${paid.statements.length}`);
  t.true(placed.statements.length <= 12, placed.statements.join('\n'));
  t.true(paid.statements.length <= 13, paid.statements.join('\n'));
});

test('the payment.succeeded event of an order its pay call already settled costs one read, no claim', async (t) => {
  const svc = await start(t as Teardown, { products, inventory, payment, env: { SCHEDULER_POLL_MS: '3600000' } });
  const p = products.products[6]!;
  await svc.inventory.restock(p.id, 5);
  const placed = await svc.call('POST', '/orders', { body: { items: [{ productId: p.id, quantity: 1 }] } });
  const paid = await svc.call('POST', `/orders/${placed.body.id}/pay`, { body: { method: 'card' } });
  t.is(paid.body.status, 'paid');
  const event = createEnvelope({
    type: 'payment.succeeded',
    source: 'payment',
    key: placed.body.id,
    data: { paymentId: paid.body.paymentId, orderId: placed.body.id, userId: alice.id, amountCents: placed.body.totalCents, currency: 'USD', at: new Date().toISOString() },
  }) as EventEnvelope;
  const handler = svc.order.handlers.payments['payment.succeeded'] as EventHandler;
  const { statements } = await counted(svc.order.db.knex, () => handler(event, { topic: 'payments', partition: 0, offset: '0', headers: {}, attempt: 1 }));
  t.is(statements.length, 1, statements.join('\n'));
  t.is((await svc.call('GET', `/orders/${placed.body.id}`)).body.status, 'paid');
});
