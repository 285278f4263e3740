import test from 'ava';
import type { Product } from '@lantern/shop-product';
import { waitFor } from '@lantern/testkit';
import {
  admin,
  alice,
  bob,
  callsTo,
  outboxEvents,
  startInventory,
  startOrders as start,
  startPayment,
  startProducts,
  type InventoryFixture,
  type PaymentFixture,
  type ProductFixture,
  type Teardown,
} from './support/harness.js';

// Real product, inventory and payment services for the whole file; each test uses its own products.
let products: ProductFixture;
let inventory: InventoryFixture;
let payment: PaymentFixture;
test.before(async () => {
  [products, inventory, payment] = await Promise.all([startProducts(), startInventory(), startPayment()]);
});
test.after.always(async () => {
  await Promise.all([products?.close(), inventory?.close(), payment?.close()]);
});
const startOrders = (t: Teardown, opts: { env?: Record<string, string> } = {}) => start(t, { products, inventory, payment, ...opts });

function pick(n: number): Product {
  const p = products.products[n];
  if (!p) throw new Error(`no product ${n}`);
  return p;
}

const paths = (body: { error?: { details?: { path?: string }[] } }) => (body.error?.details ?? []).map((d) => d.path);

test('POST /orders snapshots prices, reserves stock, writes history and order.placed in the outbox', async (t) => {
  const svc = await startOrders(t);
  const [p1, p2] = [pick(0), pick(1)];
  await svc.inventory.restock(p1.id, 10);
  await svc.inventory.restock(p2.id, 10);
  const r = await svc.call('POST', '/orders', { body: { items: [{ productId: p1.id, quantity: 2 }, { productId: p2.id, quantity: 1 }, { productId: p1.id, quantity: 1 }] } });
  t.is(r.status, 201, JSON.stringify(r.body));
  const order = r.body;
  t.is(order.status, 'reserved');
  t.is(order.userId, alice.id);
  t.deepEqual(
    order.items.map((i: { productId: string; quantity: number; unitPriceCents: number; sku: string }) => [i.productId, i.quantity, i.unitPriceCents, i.sku]),
    [
      [p1.id, 3, p1.priceCents, p1.sku],
      [p2.id, 1, p2.priceCents, p2.sku],
    ],
  );
  t.is(order.totalCents, p1.priceCents * 3 + p2.priceCents);
  t.is(order.currency, 'USD');
  t.truthy(order.expiresAt);
  t.is(await svc.inventory.available(p1.id), 7);
  t.is(await svc.inventory.reservation(order.id), 'reserved');

  const history = await svc.call('GET', `/orders/${order.id}/history`);
  t.deepEqual(
    history.body.items.map((h: { from: string | null; to: string; actor: string }) => [h.from, h.to, h.actor]),
    [
      [null, 'pending', `user:${alice.id}`],
      ['pending', 'reserved', `user:${alice.id}`],
    ],
  );
  const events = await outboxEvents(svc.order);
  t.deepEqual(events.map((e) => [e.type, e.key]), [['order.placed', order.id]]);
  t.is(events[0]?.data.email, alice.email);
  t.is(events[0]?.data.totalCents, order.totalCents);
  t.is((events[0]?.data.items as { category?: string }[])[0]?.category, p1.category);

  const fetched = await svc.call('GET', `/orders/${order.id}`);
  t.deepEqual(fetched.body, order);
});

test('the same Idempotency-Key 20 times at once → one order, one reservation; 20 pays → one payment request', async (t) => {
  const svc = await startOrders(t);
  const p = pick(2);
  await svc.inventory.restock(p.id, 100);
  const body = { items: [{ productId: p.id, quantity: 2 }] };
  const replies = await Promise.all(Array.from({ length: 20 }, () => svc.call('POST', '/orders', { body, headers: { 'idempotency-key': 'checkout-42' } })));
  t.deepEqual([...new Set(replies.map((r) => r.status))], [201], JSON.stringify(replies.find((r) => r.status !== 201)?.body));
  const ids = new Set(replies.map((r) => r.body.id));
  t.is(ids.size, 1);
  t.true(replies.every((r) => r.body.status === 'reserved'));
  t.is(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 19);
  // one reservation: every request inventory saw (a retry after a slow answer included) is for the one order
  const reserveCalls = svc.inventoryProxy.requests.filter((q) => q.path === '/inventory/reservations');
  t.deepEqual([...new Set(reserveCalls.map((q) => q.body.orderId))], [[...ids][0]]);
  t.is(await svc.inventory.available(p.id), 98);
  const count = await svc.order.db.knex('orders').count<{ count: string }[]>({ count: '*' });
  t.is(Number(count[0]?.count), 1);

  const orderId = [...ids][0] as string;
  const pays = await Promise.all(Array.from({ length: 20 }, () => svc.call('POST', `/orders/${orderId}/pay`, { body: {} })));
  t.deepEqual([...new Set(pays.map((r) => r.status))], [200], JSON.stringify(pays.find((r) => r.status !== 200)?.body));
  t.true(pays.every((r) => r.body.status === 'paid'));
  t.is(callsTo(svc.paymentProxy, 'POST', '/payments'), 1);
  t.is(svc.paymentProxy.requests[0]?.idempotencyKey, orderId);
  t.is((await payment.paymentsOf(orderId)).length, 1); // one charge in the payment ledger
  // a later replay of the creating request returns the same (now paid) order
  const again = await svc.call('POST', '/orders', { body, headers: { 'idempotency-key': 'checkout-42' } });
  t.is(again.body.id, orderId);
  t.is(again.body.status, 'paid');
});

test('same key with another body → 409 idempotency_key_reused; keys are per user; bad keys → 400', async (t) => {
  const svc = await startOrders(t);
  const [p1, p2] = [pick(3), pick(4)];
  await svc.inventory.restock(p1.id, 10);
  await svc.inventory.restock(p2.id, 10);
  const first = await svc.call('POST', '/orders', { body: { items: [{ productId: p1.id, quantity: 1 }] }, headers: { 'idempotency-key': 'k1' } });
  t.is(first.status, 201);
  const other = await svc.call('POST', '/orders', { body: { items: [{ productId: p2.id, quantity: 1 }] }, headers: { 'idempotency-key': 'k1' } });
  t.is(other.status, 409);
  t.is(other.body.error.code, 'idempotency_key_reused');
  // another user may use the same key for their own order
  const bobs = await svc.call('POST', '/orders', { user: bob, body: { items: [{ productId: p2.id, quantity: 1 }] }, headers: { 'idempotency-key': 'k1' } });
  t.is(bobs.status, 201);
  t.not(bobs.body.id, first.body.id);

  for (const key of ['x'.repeat(129), 'has space', 'semi;colon', 'ünïcode']) {
    const r = await svc.call('POST', '/orders', { body: { items: [{ productId: p1.id, quantity: 1 }] }, headers: { 'idempotency-key': key } }).catch(() => undefined);
    if (!r) continue; // fetch refuses non-ASCII header values itself
    t.is(r.status, 400, key);
    t.deepEqual([...new Set(paths(r.body))], ['headers.idempotency-key'], key);
  }
  t.is(callsTo(svc.inventoryProxy, 'POST', '/inventory/reservations'), 2);
});

test('out of stock → 409 insufficient_stock naming the line; nothing kept, nothing reserved', async (t) => {
  const svc = await startOrders(t);
  const [p1, p2] = [pick(5), pick(6)];
  await svc.inventory.restock(p1.id, 5);
  await svc.inventory.restock(p2.id, 1);
  const r = await svc.call('POST', '/orders', { body: { items: [{ productId: p1.id, quantity: 2 }, { productId: p2.id, quantity: 3 }] }, headers: { 'idempotency-key': 'oos-1' } });
  t.is(r.status, 409);
  t.is(r.body.error.code, 'insufficient_stock');
  t.deepEqual(paths(r.body), ['body.items.1.quantity']);
  t.is(await svc.inventory.available(p1.id), 5);
  const list = await svc.call('GET', '/orders');
  t.is(list.body.total, 0);
  t.is((await outboxEvents(svc.order)).length, 0);
  // the key is free again: after a restock the same request succeeds
  await svc.inventory.restock(p2.id, 3);
  const retry = await svc.call('POST', '/orders', { body: { items: [{ productId: p1.id, quantity: 2 }, { productId: p2.id, quantity: 3 }] }, headers: { 'idempotency-key': 'oos-1' } });
  t.is(retry.status, 201);
});

test('inventory unreachable → 503, the order is not kept and the possible reservation is released', async (t) => {
  const svc = await startOrders(t);
  const p = pick(7);
  await svc.inventory.restock(p.id, 5);
  svc.inventoryProxy.fault = () => 503;
  const r = await svc.call('POST', '/orders', { body: { items: [{ productId: p.id, quantity: 1 }] } });
  t.is(r.status, 503);
  t.is(r.body.error.code, 'inventory_unavailable');
  t.is((await svc.call('GET', '/orders')).body.total, 0);
  // the release job keeps trying while inventory fails, then gets through
  const jobs = await svc.order.scheduler.pending('release_stock');
  t.is(jobs.length, 1);
  svc.inventoryProxy.fault = () => undefined;
  await waitFor(async () => (await svc.order.scheduler.pending('release_stock')).length === 0, { what: 'release job done', timeoutMs: 10_000 });
  t.true(svc.inventoryProxy.requests.some((q) => q.path.endsWith('/release')));
});

test('unknown or unavailable products and hostile input → 400 naming the field, never 500', async (t) => {
  const svc = await startOrders(t);
  const p = pick(8);
  await svc.inventory.restock(p.id, 5);
  const unknown = '00000000-0000-4000-8000-00000000dead';
  const cases: [unknown, string[]][] = [
    [{}, ['body.items']],
    [{ items: [] }, ['body.items']],
    [{ items: [{ productId: 'nope', quantity: 1 }] }, ['body.items.0.productId']],
    [{ items: [{ productId: p.id, quantity: 0 }] }, ['body.items.0.quantity']],
    [{ items: [{ productId: p.id, quantity: 1.5 }] }, ['body.items.0.quantity']],
    [{ items: [{ productId: p.id, quantity: 1e12 }] }, ['body.items.0.quantity']],
    [{ items: [{ productId: p.id, quantity: '1' }] }, ['body.items.0.quantity']],
    [{ items: [{ productId: p.id, quantity: 1, priceCents: 1 }] }, ['body.items.0']],
    [{ items: [{ productId: p.id, quantity: 1 }], userId: bob.id }, ['body']],
    [{ items: Array.from({ length: 51 }, () => ({ productId: p.id, quantity: 1 })) }, ['body.items']],
    [{ items: [{ productId: p.id, quantity: 1 }, { productId: unknown, quantity: 1 }] }, ['body.items.1.productId']],
    [{ items: 'all of them' }, ['body.items']],
  ];
  for (const [body, expected] of cases) {
    const r = await svc.call('POST', '/orders', { body });
    t.is(r.status, 400, JSON.stringify(body).slice(0, 80));
    t.deepEqual(paths(r.body), expected, JSON.stringify(r.body).slice(0, 300));
  }
  const deep = await svc.call('POST', '/orders', { rawBody: `{"items":${'['.repeat(200)}${']'.repeat(200)}}` });
  t.true(deep.status >= 400 && deep.status < 500, String(deep.status));
  const notJson = await svc.call('POST', '/orders', { rawBody: '{"items": [' });
  t.is(notJson.status, 400);
  for (const path of ['/orders/not-a-uuid', '/orders/not-a-uuid/history']) {
    const r = await svc.call('GET', path);
    t.is(r.status, 400);
    t.deepEqual(paths(r.body), ['params.id']);
  }
  const badQuery = await svc.call('GET', '/orders?limit=1000&status=lost');
  t.is(badQuery.status, 400);
  t.deepEqual(paths(badQuery.body).sort(), ['query.limit', 'query.status']);
  const badPay = await svc.call('POST', `/orders/${unknown}/pay`, { body: { method: 'cash' } });
  t.deepEqual(paths(badPay.body), ['body.method']);
  const noToken = await svc.call('GET', '/orders', { user: null });
  t.is(noToken.status, 401);
  t.is(svc.telemetry.errors.length, 0, String(svc.telemetry.errors[0]));
});

test("a customer sees only their own orders: another's is 404 everywhere; admins see all", async (t) => {
  const svc = await startOrders(t);
  const p = pick(9);
  await svc.inventory.restock(p.id, 10);
  const mine = (await svc.call('POST', '/orders', { body: { items: [{ productId: p.id, quantity: 1 }] } })).body;
  const bobs = (await svc.call('POST', '/orders', { user: bob, body: { items: [{ productId: p.id, quantity: 1 }] } })).body;
  for (const [method, path] of [
    ['GET', `/orders/${bobs.id}`],
    ['GET', `/orders/${bobs.id}/history`],
    ['POST', `/orders/${bobs.id}/pay`],
    ['POST', `/orders/${bobs.id}/cancel`],
  ] as const) {
    const r = await svc.call(method, path, method === 'POST' ? { body: {} } : {});
    t.is(r.status, 404, `${method} ${path}`);
    t.is(r.body.error.code, 'order_not_found');
  }
  t.is((await svc.call('GET', `/orders/${bobs.id}`, { user: bob })).body.status, 'reserved'); // untouched
  const list = await svc.call('GET', '/orders');
  t.deepEqual(list.body.items.map((o: { id: string }) => o.id), [mine.id]);
  t.is((await svc.call('GET', `/orders?userId=${bob.id}`)).status, 403);
  const all = await svc.call('GET', '/orders', { user: admin });
  t.is(all.body.total, 2);
  const bobsOnly = await svc.call('GET', `/orders?userId=${bob.id}`, { user: admin });
  t.deepEqual(bobsOnly.body.items.map((o: { id: string }) => o.id), [bobs.id]);
  t.is((await svc.call('GET', `/orders/${bobs.id}`, { user: admin })).status, 200);
  // an admin can read but not pay a customer's order
  t.is((await svc.call('POST', `/orders/${bobs.id}/pay`, { user: admin, body: {} })).status, 403);
});

test('illegal transitions → 409 illegal_transition and the history is unchanged', async (t) => {
  const svc = await startOrders(t);
  const p = pick(10);
  await svc.inventory.restock(p.id, 10);
  const order = (await svc.call('POST', '/orders', { body: { items: [{ productId: p.id, quantity: 1 }] } })).body;
  const historyOf = async () => (await svc.call('GET', `/orders/${order.id}/history`)).body.items;
  const before = await historyOf();
  for (const action of ['ship', 'complete']) {
    const r = await svc.call('POST', `/orders/${order.id}/${action}`, { user: admin });
    t.is(r.status, 409, action);
    t.is(r.body.error.code, 'illegal_transition');
    t.regex(r.body.error.message, /cannot go from reserved to/);
  }
  t.is((await svc.call('POST', `/orders/${order.id}/ship`)).status, 403); // customers cannot ship at all
  t.deepEqual(await historyOf(), before);

  const paid = await svc.call('POST', `/orders/${order.id}/pay`, { body: { method: 'card' } });
  t.is(paid.body.status, 'paid');
  const afterPay = await historyOf();
  for (const [action, user] of [
    ['cancel', alice],
    ['cancel', admin],
    ['complete', admin],
  ] as const) {
    const r = await svc.call('POST', `/orders/${order.id}/${action}`, { user, body: {} });
    t.is(r.status, 409, action);
    t.is(r.body.error.code, 'illegal_transition');
  }
  t.deepEqual(await historyOf(), afterPay);
  t.is((await svc.call('POST', `/orders/${order.id}/ship`, { user: admin })).body.status, 'shipped');
  t.is((await svc.call('POST', `/orders/${order.id}/ship`, { user: admin })).status, 409);
  t.is((await svc.call('POST', `/orders/${order.id}/complete`, { user: admin })).body.status, 'completed');
  const final = await historyOf();
  t.deepEqual(
    final.map((h: { from: string | null; to: string }) => `${h.from}→${h.to}`),
    ['null→pending', 'pending→reserved', 'reserved→paid', 'paid→shipped', 'shipped→completed'],
  );
  t.is(final[3].actor, `admin:${admin.id}`);
  const types = (await outboxEvents(svc.order)).map((e) => e.type);
  t.deepEqual(types, ['order.placed', 'order.paid', 'order.shipped', 'order.completed']);
});

test('cancel before payment releases the stock and announces order.cancelled; a cancelled order cannot be paid', async (t) => {
  const svc = await startOrders(t);
  const p = pick(11);
  await svc.inventory.restock(p.id, 4);
  const order = (await svc.call('POST', '/orders', { body: { items: [{ productId: p.id, quantity: 3 }] } })).body;
  t.is(await svc.inventory.available(p.id), 1);
  const r = await svc.call('POST', `/orders/${order.id}/cancel`, { body: { reason: 'changed my mind' } });
  t.is(r.status, 200);
  t.is(r.body.status, 'cancelled');
  t.is(r.body.statusReason, 'changed my mind');
  t.is(await svc.inventory.available(p.id), 4);
  t.is(await svc.inventory.reservation(order.id), 'released');
  const events = await outboxEvents(svc.order);
  t.deepEqual(events.map((e) => e.type), ['order.placed', 'order.cancelled']);
  t.is(events[1]?.data.reason, 'changed my mind');
  t.is(events[1]?.data.previousStatus, 'reserved');
  const pay = await svc.call('POST', `/orders/${order.id}/pay`, { body: {} });
  t.is(pay.status, 409);
  t.is(pay.body.error.code, 'illegal_transition');
  t.is(svc.paymentProxy.requests.length, 0);
  t.deepEqual(await svc.order.scheduler.pending(), []);
});
