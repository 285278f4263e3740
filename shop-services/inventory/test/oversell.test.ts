import { randomUUID } from 'node:crypto';
import test from 'ava';
import { closedPort, metricValue, reserveBody, startInventory, type Call, type TestInventory } from './helpers.js';

function tally(results: Call[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/** Every successful reservation is in Postgres, and Postgres never has more reserved than on hand. */
async function assertNoOversell(t: { is(a: unknown, b: unknown, m?: string): void; true(v: boolean, m?: string): void }, inv: TestInventory, productId: string, onHand: number, winners: number) {
  const pg = await inv.pgStock(productId);
  t.is(pg.onHand, onHand);
  t.is(pg.reserved, winners, 'every 201 is a reserved unit, and nothing else is');
  t.true(pg.reserved <= pg.onHand, 'never more reserved than on hand');
  const rows = await inv.svc.db.knex('reservations').where({ status: 'reserved' }).count<{ count: string }[]>('* as count');
  t.is(Number(rows[0]?.count), winners);
}

test.serial('200 concurrent single-unit reservations for the last 50 units → exactly 50', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(50);
  const results = await Promise.all(Array.from({ length: 200 }, () => inv.call('POST', '/inventory/reservations', { body: reserveBody(productId) })));
  t.deepEqual(tally(results), { 201: 50, 409: 150 });
  t.true(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'insufficient_stock'));
  await assertNoOversell(t, inv, productId, 50, 50);
  t.is(await inv.redisAvailable(productId), 0, 'Redis agrees with Postgres without a reconciliation');
  t.deepEqual(inv.telemetry.errors, []);
});

test.serial('Redis flushed mid-sale: no oversell, and reconciliation restores Redis', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(50);
  const other = await inv.addProduct(7);
  let done = 0;
  let flushed: Promise<number> | undefined;
  const results = await Promise.all(
    Array.from({ length: 200 }, async () => {
      const r = await inv.call('POST', '/inventory/reservations', { body: reserveBody(productId) });
      // FLUSHDB (this test's keys) once a few reservations have gone through, with the rest in flight
      if (++done === 20) flushed = inv.flushRedis();
      return r;
    }),
  );
  t.true((await flushed!) > 0, 'keys were deleted mid-sale');
  t.deepEqual(tally(results), { 201: 50, 409: 150 });
  await assertNoOversell(t, inv, productId, 50, 50);

  // the admin reconciliation rebuilds every product (the one nobody touched included)
  await inv.svc.reconciler.idle();
  await inv.flushRedis(); // and once more, so the admin run is the one that repairs it
  const rec = await inv.call('POST', '/inventory/reconcile', { as: 'gateway', user: { id: 'a', role: 'admin' } });
  t.is(rec.status, 200, JSON.stringify(rec.body));
  t.is(rec.body.repairedMissing, 2);
  t.is(rec.body.driftUnits, 7, 'missing keys count their whole value: 0 + 7');
  t.is(await inv.redisAvailable(productId), 0);
  t.is(await inv.redisAvailable(other.productId), 7);
  const after = await inv.call('POST', '/inventory/reservations', { body: reserveBody(productId) });
  t.is(after.status, 409);
  t.deepEqual(inv.telemetry.errors, []);
});

test.serial('Redis down: Postgres alone decides, still exactly the stock; the fallback is counted', async (t) => {
  const port = await closedPort();
  const inv = await startInventory(t, { env: { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_COMMAND_TIMEOUT_MS: '200' } });
  const productId = randomUUID();
  await inv.svc.store.seed([{ productId, sku: 'DOWN-1' }], 20);
  const before = await metricValue('inventory_redis_fallback_total', { reason: 'redis_unavailable' });
  const results = await Promise.all(Array.from({ length: 60 }, () => inv.call('POST', '/inventory/reservations', { body: reserveBody(productId) })));
  t.deepEqual(tally(results), { 201: 20, 409: 40 });
  await assertNoOversell(t, inv, productId, 20, 20);
  t.true((await metricValue('inventory_redis_fallback_total', { reason: 'redis_unavailable' })) - before >= 60);

  // the rest of the lifecycle works without Redis too
  const orderId = results.find((r) => r.status === 201)!.body.orderId as string;
  t.is((await inv.call('POST', `/inventory/reservations/${orderId}/release`)).status, 200);
  t.is((await inv.call('POST', '/inventory/reservations', { body: reserveBody(productId) })).status, 201);
  t.is((await inv.call('POST', `/inventory/${productId}/restock`, { as: 'gateway', user: { id: 'a', role: 'admin' }, body: { quantity: 5 } })).status, 200);
  t.is((await inv.pgStock(productId)).available, 5);
  t.deepEqual(inv.telemetry.errors, []);
});

test.serial('multi-item reservations racing over shared products never oversell any of them', async (t) => {
  const inv = await startInventory(t);
  const products = await Promise.all([inv.addProduct(15), inv.addProduct(10), inv.addProduct(12)]);
  const ids = products.map((p) => p.productId);
  // deterministic mixes: every request takes 1-2 units of two or three products
  const bodies = Array.from({ length: 80 }, (_, i) => ({
    orderId: randomUUID(),
    items: ids.filter((_, j) => (i + j) % 4 !== 0).map((productId, j) => ({ productId, quantity: 1 + ((i + j) % 2) })),
  }));
  const results = await Promise.all(bodies.map((body) => inv.call('POST', '/inventory/reservations', { body })));
  t.true(results.every((r) => r.status === 201 || r.status === 409), JSON.stringify(tally(results)));
  const reservedBy = new Map<string, number>();
  results.forEach((r, i) => {
    if (r.status !== 201) return;
    for (const item of bodies[i]!.items) reservedBy.set(item.productId, (reservedBy.get(item.productId) ?? 0) + item.quantity);
  });
  for (const [i, p] of products.entries()) {
    const pg = await inv.pgStock(p.productId);
    t.is(pg.reserved, reservedBy.get(p.productId) ?? 0, `product ${i}: Postgres has exactly the winners' units`);
    t.true(pg.available >= 0);
    t.is(await inv.redisAvailable(p.productId), pg.available, `product ${i}: Redis agrees`);
  }
  t.true(results.some((r) => r.status === 409), 'the stock ran out for some');
});
