import { randomUUID } from 'node:crypto';
import test from 'ava';
import { reserveBody, startInventory } from './helpers.js';

test('a flash-sale allocation sets units aside, orders consume it, unsold units come back', async (t) => {
  const inv = await startInventory(t);
  const { productId, sku } = await inv.addProduct(20);
  const allocationId = randomUUID();
  const body = { allocationId, productId, quantity: 5 };

  const created = await inv.call('POST', '/inventory/allocations', { as: 'flash-sale', body });
  t.is(created.status, 201, JSON.stringify(created.body));
  t.deepEqual(created.body, { allocationId, productId, sku, quantity: 5, consumed: 0, returned: 0, remaining: 5, status: 'active' });
  t.deepEqual(await inv.pgStock(productId), { onHand: 20, reserved: 0, allocated: 5, available: 15 });
  t.is(await inv.redisAvailable(productId), 15);

  // idempotent by allocation id
  const again = await inv.call('POST', '/inventory/allocations', { as: 'flash-sale', body });
  t.is(again.status, 201);
  t.deepEqual(again.body, created.body);
  const other = await inv.call('POST', '/inventory/allocations', { as: 'flash-sale', body: { ...body, quantity: 6 } });
  t.is(other.status, 409);
  t.is(other.body.error.code, 'idempotency_conflict');
  t.is((await inv.pgStock(productId)).allocated, 5);

  // ordinary orders cannot take the allocated units
  const greedy = await inv.call('POST', '/inventory/reservations', { body: reserveBody(productId, 16) });
  t.is(greedy.status, 409);

  // the order service turns a sold unit into the order's reservation (idempotent by order id)
  const orderId = randomUUID();
  const consume = { orderId, quantity: 1 };
  const c1 = await inv.call('POST', `/inventory/allocations/${allocationId}/consume`, { body: consume });
  t.is(c1.status, 201, JSON.stringify(c1.body));
  t.like(c1.body, { orderId, status: 'reserved', allocationId, items: [{ productId, quantity: 1 }] });
  const c2 = await inv.call('POST', `/inventory/allocations/${allocationId}/consume`, { body: consume });
  t.deepEqual(c2.body, c1.body);
  t.deepEqual(await inv.pgStock(productId), { onHand: 20, reserved: 1, allocated: 4, available: 15 });
  t.is(await inv.redisAvailable(productId), 15, 'consuming moves units between allocated and reserved: available is unchanged');
  const taken = await inv.call('POST', `/inventory/allocations/${allocationId}/consume`, { body: { orderId, quantity: 2 } });
  t.is(taken.status, 409);
  t.is(taken.body.error.code, 'idempotency_conflict');

  // …then confirmed like any reservation
  t.is((await inv.call('POST', `/inventory/reservations/${orderId}/confirm`)).status, 200);
  t.deepEqual(await inv.pgStock(productId), { onHand: 19, reserved: 0, allocated: 4, available: 15 });

  // a released flash-sale order gives its unit back to general stock
  const o2 = randomUUID();
  t.is((await inv.call('POST', `/inventory/allocations/${allocationId}/consume`, { body: { orderId: o2, quantity: 1 } })).status, 201);
  t.is((await inv.call('POST', `/inventory/reservations/${o2}/release`)).status, 200);
  t.deepEqual(await inv.pgStock(productId), { onHand: 19, reserved: 0, allocated: 3, available: 16 });
  t.is(await inv.redisAvailable(productId), 16);

  const tooMany = await inv.call('POST', `/inventory/allocations/${allocationId}/consume`, { body: { orderId: randomUUID(), quantity: 4 } });
  t.is(tooMany.status, 409);
  t.is(tooMany.body.error.code, 'allocation_exhausted');

  // the sale ends: two units go back (a retry with the same Idempotency-Key counts once), then the rest
  const key = `return:${allocationId}:1`;
  for (let i = 0; i < 2; i++) {
    const r = await inv.call('POST', `/inventory/allocations/${allocationId}/return`, { as: 'flash-sale', body: { quantity: 2 }, headers: { 'idempotency-key': key } });
    t.is(r.status, 200, JSON.stringify(r.body));
    t.like(r.body, { returned: 2, remaining: 1, status: 'active' });
  }
  const reused = await inv.call('POST', `/inventory/allocations/${allocationId}/return`, { as: 'flash-sale', body: { quantity: 1 }, headers: { 'idempotency-key': key } });
  t.is(reused.status, 409);
  t.is(reused.body.error.code, 'idempotency_conflict');
  const rest = await inv.call('POST', `/inventory/allocations/${allocationId}/return`, { as: 'flash-sale', body: {} });
  t.like(rest.body, { returned: 3, remaining: 0, status: 'closed' });
  t.deepEqual(await inv.pgStock(productId), { onHand: 19, reserved: 0, allocated: 0, available: 19 });
  t.is(await inv.redisAvailable(productId), 19);
  const closed = await inv.call('POST', `/inventory/allocations/${allocationId}/consume`, { body: { orderId: randomUUID(), quantity: 1 } });
  t.is(closed.status, 409);
  t.is(closed.body.error.code, 'allocation_closed');
  const over = await inv.call('POST', `/inventory/allocations/${allocationId}/return`, { as: 'flash-sale', body: { quantity: 1 } });
  t.is(over.status, 409);
});

test('an allocation larger than what is available → 409 insufficient_stock; unknown allocation → 404', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(3);
  const r = await inv.call('POST', '/inventory/allocations', { as: 'flash-sale', body: { allocationId: randomUUID(), productId, quantity: 4 } });
  t.is(r.status, 409);
  t.is(r.body.error.code, 'insufficient_stock');
  t.is(r.body.error.details[0].path, 'body.quantity');
  t.deepEqual(await inv.pgStock(productId), { onHand: 3, reserved: 0, allocated: 0, available: 3 });
  t.is(await inv.redisAvailable(productId), 3);
  const ghost = await inv.call('POST', `/inventory/allocations/${randomUUID()}/consume`, { body: { orderId: randomUUID(), quantity: 1 } });
  t.is(ghost.status, 404);
  t.is(ghost.body.error.code, 'allocation_not_found');
  const unknownProduct = await inv.call('POST', '/inventory/allocations', { as: 'flash-sale', body: { allocationId: randomUUID(), productId: randomUUID(), quantity: 1 } });
  t.is(unknownProduct.status, 409);
  t.is(unknownProduct.body.error.details[0].message, 'no stock is kept for this product');
});

test('concurrent consumes never take more than the allocation holds', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(100);
  const allocationId = randomUUID();
  t.is((await inv.call('POST', '/inventory/allocations', { as: 'flash-sale', body: { allocationId, productId, quantity: 10 } })).status, 201);
  const results = await Promise.all(
    Array.from({ length: 40 }, () => inv.call('POST', `/inventory/allocations/${allocationId}/consume`, { body: { orderId: randomUUID(), quantity: 1 } })),
  );
  t.is(results.filter((r) => r.status === 201).length, 10);
  t.true(results.filter((r) => r.status !== 201).every((r) => r.status === 409 && r.body.error.code === 'allocation_exhausted'));
  t.deepEqual(await inv.pgStock(productId), { onHand: 100, reserved: 10, allocated: 0, available: 90 });
});
