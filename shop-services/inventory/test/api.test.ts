import { randomUUID } from 'node:crypto';
import test from 'ava';
import { admin, customer, reserveBody, startInventory, type Call } from './helpers.js';

const paths = (r: Call): string[] => (r.body?.error?.details ?? []).map((d: { path: string }) => d.path);

test('reads: one product, several products, unknown → 404; stock rows need no end user', async (t) => {
  const inv = await startInventory(t);
  const a = await inv.addProduct(7, 'SKU-A');
  const b = await inv.addProduct(3, 'SKU-B');
  const one = await inv.call('GET', `/inventory/${a.productId}`, { as: 'gateway' });
  t.is(one.status, 200);
  t.deepEqual(one.body, { productId: a.productId, sku: 'SKU-A', onHand: 7, reserved: 0, allocated: 0, available: 7 });
  const asCustomer = await inv.call('GET', `/inventory/${a.productId}`, { as: 'gateway', user: customer });
  t.is(asCustomer.status, 200);

  const ghost = randomUUID();
  const many = await inv.call('GET', `/inventory?productIds=${a.productId},${ghost},${b.productId}`);
  t.is(many.status, 200);
  t.deepEqual(many.body.items.map((i: { sku: string }) => i.sku).sort(), ['SKU-A', 'SKU-B']);
  const missing = await inv.call('GET', `/inventory/${ghost}`);
  t.is(missing.status, 404);
  t.is(missing.body.error.code, 'stock_not_found');
});

test('no internal token or a forged one → 401', async (t) => {
  const inv = await startInventory(t);
  const none = await inv.call('GET', `/inventory/${randomUUID()}`, { token: null });
  t.is(none.status, 401);
  const forged = await inv.call('POST', '/inventory/reservations', { token: 'eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJpbnRlcm5hbCJ9.c2lnbmF0dXJl', body: reserveBody(randomUUID()) });
  t.is(forged.status, 401);
});

test('stock-changing and admin routes refuse customers (through the gateway) and services not on the list', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(10);
  const orderId = randomUUID();
  t.is((await inv.call('POST', '/inventory/reservations', { body: { orderId, items: [{ productId, quantity: 1 }] } })).status, 201);
  const allocationId = randomUUID();
  t.is((await inv.call('POST', '/inventory/allocations', { as: 'flash-sale', body: { allocationId, productId, quantity: 2 } })).status, 201);

  const attempts: [string, string, unknown][] = [
    ['POST', '/inventory/reservations', reserveBody(productId)],
    ['GET', `/inventory/reservations/${orderId}`, undefined],
    ['POST', `/inventory/reservations/${orderId}/confirm`, undefined],
    ['POST', `/inventory/reservations/${orderId}/release`, undefined],
    ['POST', '/inventory/allocations', { allocationId: randomUUID(), productId, quantity: 1 }],
    ['GET', `/inventory/allocations/${allocationId}`, undefined],
    ['POST', `/inventory/allocations/${allocationId}/consume`, { orderId: randomUUID(), quantity: 1 }],
    ['POST', `/inventory/allocations/${allocationId}/return`, {}],
    ['POST', `/inventory/${productId}/restock`, { quantity: 5 }],
    ['POST', '/inventory/reconcile', undefined],
  ];
  for (const [method, path, body] of attempts) {
    const r = await inv.call(method, path, { as: 'gateway', user: customer, body });
    t.is(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`);
  }
  // a service that is not on INVENTORY_CALLERS (the gateway without an admin) cannot either
  t.is((await inv.call('POST', '/inventory/reservations', { as: 'gateway', body: reserveBody(productId) })).status, 403);
  // nothing changed
  t.deepEqual(await inv.pgStock(productId), { onHand: 10, reserved: 1, allocated: 2, available: 7 });

  // an admin may do all of it
  const restock = await inv.call('POST', `/inventory/${productId}/restock`, { as: 'gateway', user: admin, body: { quantity: 5 } });
  t.is(restock.status, 200);
  t.like(restock.body, { onHand: 15, available: 12 });
  t.is(await inv.redisAvailable(productId), 12);
  t.is((await inv.call('GET', `/inventory/reservations/${orderId}`, { as: 'gateway', user: admin })).status, 200);
});

test('restock creates the row of a product that has none only when given its sku', async (t) => {
  const inv = await startInventory(t);
  const productId = randomUUID();
  const noSku = await inv.call('POST', `/inventory/${productId}/restock`, { as: 'gateway', user: admin, body: { quantity: 5 } });
  t.is(noSku.status, 404);
  const withSku = await inv.call('POST', `/inventory/${productId}/restock`, { as: 'gateway', user: admin, body: { quantity: 5, sku: 'NEW-0001' } });
  t.is(withSku.status, 200);
  t.deepEqual(withSku.body, { productId, sku: 'NEW-0001', onHand: 5, reserved: 0, allocated: 0, available: 5 });
  t.is((await inv.call('POST', '/inventory/reservations', { body: reserveBody(productId, 2) })).status, 201);
  await inv.svc.reconciler.idle();
  t.is(await inv.redisAvailable(productId), 3);
});

test('hostile input → 400 naming the field, never a 500', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(10);
  const orderId = randomUUID();
  const item = { productId, quantity: 1 };
  const cases: [string, string, unknown, string][] = [
    ['GET', '/inventory/not-a-uuid', undefined, 'params.productId'],
    ['GET', "/inventory/1'%20OR%201=1", undefined, 'params.productId'],
    ['GET', '/inventory?productIds=abc', undefined, 'query.productIds.0'],
    ['GET', '/inventory', undefined, 'query.productIds'],
    ['GET', `/inventory?productIds=${Array.from({ length: 101 }, () => randomUUID()).join(',')}`, undefined, 'query.productIds'],
    ['POST', '/inventory/reservations', { orderId: 'x', items: [item] }, 'body.orderId'],
    ['POST', '/inventory/reservations', { items: [item] }, 'body.orderId'],
    ['POST', '/inventory/reservations', { orderId, items: [] }, 'body.items'],
    ['POST', '/inventory/reservations', { orderId, items: 'all' }, 'body.items'],
    ['POST', '/inventory/reservations', { orderId, items: Array.from({ length: 1000 }, () => ({ productId: randomUUID(), quantity: 1 })) }, 'body.items'],
    ['POST', '/inventory/reservations', { orderId, items: [{ productId: 'nope', quantity: 1 }] }, 'body.items.0.productId'],
    ['POST', '/inventory/reservations', { orderId, items: [{ productId, quantity: 0 }] }, 'body.items.0.quantity'],
    ['POST', '/inventory/reservations', { orderId, items: [{ productId, quantity: -5 }] }, 'body.items.0.quantity'],
    ['POST', '/inventory/reservations', { orderId, items: [{ productId, quantity: 1.5 }] }, 'body.items.0.quantity'],
    ['POST', '/inventory/reservations', { orderId, items: [{ productId, quantity: '3' }] }, 'body.items.0.quantity'],
    ['POST', '/inventory/reservations', { orderId, items: [{ productId, quantity: 1e12 }] }, 'body.items.0.quantity'],
    ['POST', '/inventory/reservations', { orderId, items: [{ productId, quantity: Number.MAX_SAFE_INTEGER }] }, 'body.items.0.quantity'],
    ['POST', '/inventory/reservations', { orderId, items: [item, { ...item, quantity: 2 }] }, 'body.items.1.productId'],
    ['POST', '/inventory/reservations', { orderId, items: [{ ...item, price: 1 }] }, 'body.items.0'],
    ['POST', '/inventory/reservations', { orderId, items: [item], ttlSeconds: 0 }, 'body.ttlSeconds'],
    ['POST', '/inventory/reservations', { orderId, items: [item], ttlSeconds: 10 ** 9 }, 'body.ttlSeconds'],
    ['POST', '/inventory/reservations', { orderId, items: [item], status: 'confirmed' }, 'body'],
    ['POST', '/inventory/reservations/not-a-uuid/confirm', undefined, 'params.orderId'],
    ['POST', '/inventory/reservations/not-a-uuid/release', undefined, 'params.orderId'],
    ['POST', '/inventory/allocations', { allocationId: 'a', productId, quantity: 1 }, 'body.allocationId'],
    ['POST', '/inventory/allocations', { allocationId: randomUUID(), productId, quantity: -1 }, 'body.quantity'],
    ['POST', `/inventory/allocations/${randomUUID()}/consume`, { orderId, quantity: 0 }, 'body.quantity'],
    ['POST', `/inventory/allocations/${randomUUID()}/return`, { quantity: 'all' }, 'body.quantity'],
  ];
  for (const [method, path, body, field] of cases) {
    const r = await inv.call(method, path, { body, as: 'flash-sale' });
    t.is(r.status, 400, `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}: ${JSON.stringify(r.body)?.slice(0, 300)}`);
    t.true(paths(r).includes(field), `${path}: expected ${field} in ${JSON.stringify(paths(r))}`);
  }
  const adminCases: [unknown, string][] = [
    [{ quantity: -1 }, 'body.quantity'],
    [{ quantity: 10 ** 7 }, 'body.quantity'],
    [{ quantity: 1, sku: '../../etc' }, 'body.sku'],
    [{ quantity: 1, sku: 'x'.repeat(65) }, 'body.sku'],
  ];
  for (const [body, field] of adminCases) {
    const r = await inv.call('POST', `/inventory/${productId}/restock`, { as: 'gateway', user: admin, body });
    t.is(r.status, 400, JSON.stringify(body));
    t.true(paths(r).includes(field), `restock ${JSON.stringify(body)}: ${JSON.stringify(paths(r))}`);
  }
  const badKey = await inv.call('POST', `/inventory/allocations/${randomUUID()}/return`, { as: 'flash-sale', body: {}, headers: { 'idempotency-key': 'has space' } });
  t.is(badKey.status, 400);
  t.deepEqual(paths(badKey), ['headers.idempotency-key']);
  const malformed = await inv.call('POST', '/inventory/reservations', { rawBody: '{"orderId": ' });
  t.is(malformed.status, 400);
  // nothing was reserved by any of it
  t.deepEqual(await inv.pgStock(productId), { onHand: 10, reserved: 0, allocated: 0, available: 10 });
  t.deepEqual(inv.telemetry.errors, []);
});
