import { randomUUID } from 'node:crypto';
import test from 'ava';
import { waitFor } from '@lantern/testkit';
import { reserveBody, startInventory } from './helpers.js';

test('reserve → confirm: units go reserved, then leave on-hand; Redis follows', async (t) => {
  const inv = await startInventory(t);
  const { productId, sku } = await inv.addProduct(10);
  t.is(await inv.redisAvailable(productId), 10);

  const orderId = randomUUID();
  const r = await inv.call('POST', '/inventory/reservations', { body: { orderId, items: [{ productId, quantity: 3 }] } });
  t.is(r.status, 201, JSON.stringify(r.body));
  t.is(r.body.orderId, orderId);
  t.is(r.body.status, 'reserved');
  t.deepEqual(r.body.items, [{ productId, quantity: 3 }]);
  t.true(Date.parse(r.body.expiresAt) > Date.now());

  const stock = await inv.call('GET', `/inventory/${productId}`);
  t.deepEqual(stock.body, { productId, sku, onHand: 10, reserved: 3, allocated: 0, available: 7 });
  t.is(await inv.redisAvailable(productId), 7);

  const c = await inv.call('POST', `/inventory/reservations/${orderId}/confirm`);
  t.is(c.status, 200);
  t.is(c.body.status, 'confirmed');
  t.deepEqual(await inv.pgStock(productId), { onHand: 7, reserved: 0, allocated: 0, available: 7 });
  t.is(await inv.redisAvailable(productId), 7);

  // confirm again: the same answer, no second deduction
  const again = await inv.call('POST', `/inventory/reservations/${orderId}/confirm`);
  t.is(again.status, 200);
  t.is(again.body.status, 'confirmed');
  t.is((await inv.pgStock(productId)).onHand, 7);

  const rel = await inv.call('POST', `/inventory/reservations/${orderId}/release`);
  t.is(rel.status, 409);
  t.is(rel.body.error.code, 'reservation_confirmed');
});

test('release gives units back (Postgres and Redis); idempotent; confirm after release → 409', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(5);
  const body = reserveBody(productId, 5);
  t.is((await inv.call('POST', '/inventory/reservations', { body })).status, 201);
  t.is(await inv.redisAvailable(productId), 0);
  const sold = await inv.call('POST', '/inventory/reservations', { body: reserveBody(productId, 1) });
  t.is(sold.status, 409);
  t.is(sold.body.error.code, 'insufficient_stock');

  const rel = await inv.call('POST', `/inventory/reservations/${body.orderId}/release`);
  t.is(rel.status, 200);
  t.is(rel.body.status, 'released');
  t.is(rel.body.releasedBy, 'request');
  t.deepEqual(await inv.pgStock(productId), { onHand: 5, reserved: 0, allocated: 0, available: 5 });
  t.is(await inv.redisAvailable(productId), 5);

  const rel2 = await inv.call('POST', `/inventory/reservations/${body.orderId}/release`);
  t.is(rel2.status, 200);
  t.is((await inv.pgStock(productId)).available, 5, 'a second release gives nothing back twice');
  t.is(await inv.redisAvailable(productId), 5);

  const c = await inv.call('POST', `/inventory/reservations/${body.orderId}/confirm`);
  t.is(c.status, 409);
  t.is(c.body.error.code, 'reservation_released');

  const unknown = await inv.call('POST', `/inventory/reservations/${randomUUID()}/release`);
  t.is(unknown.status, 404);
  t.is(unknown.body.error.code, 'reservation_not_found');
});

test('idempotent by orderId: same body → same answer; other body → 409; 10 concurrent duplicates reserve once', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(20);
  const other = await inv.addProduct(20);
  const body = { orderId: randomUUID(), items: [{ productId, quantity: 2 }, { productId: other.productId, quantity: 1 }], ttlSeconds: 600 };
  const first = await inv.call('POST', '/inventory/reservations', { body });
  t.is(first.status, 201);
  // the same request, items listed in another order: a retry, not a new reservation
  const retry = await inv.call('POST', '/inventory/reservations', { body: { ...body, items: [...body.items].reverse() } });
  t.is(retry.status, 201);
  t.deepEqual(retry.body, first.body);
  t.is((await inv.pgStock(productId)).reserved, 2);

  for (const changed of [
    { ...body, items: [{ productId, quantity: 3 }, body.items[1]] },
    { ...body, ttlSeconds: 601 },
    { ...body, items: [body.items[0]] },
  ]) {
    const r = await inv.call('POST', '/inventory/reservations', { body: changed });
    t.is(r.status, 409, JSON.stringify(changed));
    t.is(r.body.error.code, 'idempotency_conflict');
  }
  t.is((await inv.pgStock(productId)).reserved, 2);

  const dup = reserveBody(productId, 4);
  const results = await Promise.all(Array.from({ length: 10 }, () => inv.call('POST', '/inventory/reservations', { body: dup })));
  t.deepEqual(results.map((r) => r.status), Array(10).fill(201));
  t.is(new Set(results.map((r) => r.body.expiresAt)).size, 1, 'every answer is the one reservation');
  t.deepEqual(await inv.pgStock(productId), { onHand: 20, reserved: 6, allocated: 0, available: 14 });
  t.is(await inv.redisAvailable(productId), 14, 'the losers of the race gave their Redis holds back');
});

test('all or nothing: one short item refuses the whole reservation, naming the item', async (t) => {
  const inv = await startInventory(t);
  const a = await inv.addProduct(10);
  const b = await inv.addProduct(1);
  const r = await inv.call('POST', '/inventory/reservations', {
    body: { orderId: randomUUID(), items: [{ productId: a.productId, quantity: 2 }, { productId: b.productId, quantity: 2 }] },
  });
  t.is(r.status, 409);
  t.is(r.body.error.code, 'insufficient_stock');
  t.deepEqual(r.body.error.details, [{ path: 'body.items.1.quantity', productId: b.productId, requested: 2, available: 1, message: 'requested 2, available 1' }]);
  t.deepEqual(await inv.pgStock(a.productId), { onHand: 10, reserved: 0, allocated: 0, available: 10 });
  t.is(await inv.redisAvailable(a.productId), 10, 'the first item was not held in Redis either');

  // a product without a stock row cannot be sold: the same 409, saying why
  const ghost = randomUUID();
  const g = await inv.call('POST', '/inventory/reservations', { body: { orderId: randomUUID(), items: [{ productId: a.productId, quantity: 1 }, { productId: ghost, quantity: 1 }] } });
  t.is(g.status, 409);
  t.deepEqual(g.body.error.details.map((d: { path: string; productId: string }) => [d.path, d.productId]), [['body.items.1.quantity', ghost]]);
  t.is((await inv.pgStock(a.productId)).reserved, 0);
  t.is(await inv.redisAvailable(a.productId), 10);
});

test('reservations expire: the sweeper releases them, a late confirm → 409', async (t) => {
  const inv = await startInventory(t, { env: { SWEEP_INTERVAL_MS: '100' } });
  const { productId } = await inv.addProduct(4);
  const body = { ...reserveBody(productId, 3), ttlSeconds: 1 };
  t.is((await inv.call('POST', '/inventory/reservations', { body })).status, 201);
  t.is((await inv.pgStock(productId)).available, 1);
  const expired = await waitFor(async () => {
    const r = await inv.call('GET', `/inventory/reservations/${body.orderId}`);
    return r.body.status === 'expired' ? r.body : undefined;
  }, { what: 'the sweeper to expire the reservation', timeoutMs: 15_000 });
  t.is(expired.releasedBy, 'expiry');
  t.deepEqual(await inv.pgStock(productId), { onHand: 4, reserved: 0, allocated: 0, available: 4 });
  t.is(await inv.redisAvailable(productId), 4);
  const c = await inv.call('POST', `/inventory/reservations/${body.orderId}/confirm`);
  t.is(c.status, 409);
  t.is(c.body.error.code, 'reservation_expired');
  // release of an expired reservation: nothing to give back, the same answer every time
  const rel = await inv.call('POST', `/inventory/reservations/${body.orderId}/release`);
  t.is(rel.status, 200);
  t.is(rel.body.releasedBy, 'expiry');
  t.is((await inv.pgStock(productId)).available, 4);
});

test('confirm after the deadline but before the sweeper: expired on the spot and refused', async (t) => {
  const inv = await startInventory(t); // sweeper effectively off
  const { productId } = await inv.addProduct(4);
  const body = { ...reserveBody(productId, 2), ttlSeconds: 1 };
  t.is((await inv.call('POST', '/inventory/reservations', { body })).status, 201);
  await new Promise((r) => setTimeout(r, 1_100));
  const c = await inv.call('POST', `/inventory/reservations/${body.orderId}/confirm`);
  t.is(c.status, 409);
  t.is(c.body.error.code, 'reservation_expired');
  t.is((await inv.call('GET', `/inventory/reservations/${body.orderId}`)).body.status, 'expired');
  t.deepEqual(await inv.pgStock(productId), { onHand: 4, reserved: 0, allocated: 0, available: 4 });
  t.is(await inv.redisAvailable(productId), 4);
});
