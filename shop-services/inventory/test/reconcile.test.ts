import { randomUUID } from 'node:crypto';
import test from 'ava';
import { Redis } from 'ioredis';
import { infra, waitFor } from '@lantern/testkit';
import { metricValue, reserveBody, startInventory } from './helpers.js';

// Serial: inventory_redis_drift_units is one gauge per process, set by every full reconciliation.

test.serial('drift: missing keys and wrong values are found, reported (gauge, counter) and repaired', async (t) => {
  const inv = await startInventory(t);
  const a = await inv.addProduct(30);
  const b = await inv.addProduct(12);
  const c = await inv.addProduct(5);
  t.is((await inv.call('POST', '/inventory/reservations', { body: reserveBody(a.productId, 4) })).status, 201);

  const clean = await inv.svc.reconciler.reconcileAll();
  t.like(clean, { scope: 'full', checked: 3, repairedMissing: 0, repairedMismatch: 0, driftUnits: 0, deferred: 0 });
  t.is(await metricValue('inventory_redis_drift_units'), 0);

  const missingBefore = await metricValue('inventory_redis_repairs_total', { kind: 'missing' });
  const mismatchBefore = await metricValue('inventory_redis_repairs_total', { kind: 'mismatch' });
  const redis = new Redis(infra.redisUrl);
  t.teardown(() => redis.disconnect());
  await redis.del(inv.svc.gate.key(b.productId)); // as after a FLUSH
  await redis.hset(inv.svc.gate.key(a.productId), 'a', '100'); // Redis claims 100, Postgres has 26
  await redis.hset(inv.svc.gate.key(c.productId), 'a', '2'); // Redis claims 2, Postgres has 5

  const report = await inv.svc.reconciler.reconcileAll();
  t.like(report, { checked: 3, repairedMissing: 1, repairedMismatch: 2, driftUnits: 12 + 74 + 3, deferred: 0 });
  t.is(await metricValue('inventory_redis_drift_units'), 89);
  t.is((await metricValue('inventory_redis_repairs_total', { kind: 'missing' })) - missingBefore, 1);
  t.is((await metricValue('inventory_redis_repairs_total', { kind: 'mismatch' })) - mismatchBefore, 2);
  t.is(await inv.redisAvailable(a.productId), 26);
  t.is(await inv.redisAvailable(b.productId), 12);
  t.is(await inv.redisAvailable(c.productId), 5);

  // repaired: the next run finds nothing
  t.like(await inv.svc.reconciler.reconcileAll(), { repairedMissing: 0, repairedMismatch: 0, driftUnits: 0 });
  t.is(await metricValue('inventory_redis_drift_units'), 0);
});

test.serial('reconciling in a loop while reservations, releases and confirms race: no oversell, no error, Redis exact at the end', async (t) => {
  const inv = await startInventory(t);
  const p = await inv.addProduct(60);
  const q = await inv.addProduct(40);
  let stop = false;
  let runs = 0;
  const loop = (async () => {
    while (!stop) {
      await inv.svc.reconciler.reconcileAll();
      runs++;
    }
  })();
  const bodies = Array.from({ length: 120 }, (_, i) => ({
    orderId: randomUUID(),
    items: i % 3 === 0 ? [{ productId: p.productId, quantity: 1 }, { productId: q.productId, quantity: 1 }] : [{ productId: i % 2 ? p.productId : q.productId, quantity: 1 }],
  }));
  // three waves, each started once another reconciliation has finished, so runs interleave with the
  // sale however fast or slow this machine is at the moment
  const results: Awaited<ReturnType<typeof inv.call>>[] = [];
  for (let wave = 0; wave < 3; wave++) {
    await waitFor(() => runs >= wave || undefined, { what: `reconciliation run ${wave}`, timeoutMs: 60_000 });
    const answers = await Promise.all(
      bodies.slice(wave * 40, wave * 40 + 40).map(async (body, j) => {
        const i = wave * 40 + j;
        const r = await inv.call('POST', '/inventory/reservations', { body });
        // releases and confirms interleave with the reconciliations too
        if (r.status === 201 && i % 5 === 0) await inv.call('POST', `/inventory/reservations/${body.orderId}/release`);
        if (r.status === 201 && i % 7 === 0) await inv.call('POST', `/inventory/reservations/${body.orderId}/confirm`);
        return r;
      }),
    );
    results.push(...answers);
  }
  stop = true;
  await loop;
  t.true(runs >= 2, `reconciliations ran during the sale (${runs})`);
  t.true(results.every((r) => r.status === 201 || r.status === 409));
  await inv.svc.reconciler.idle();
  for (const product of [p, q]) {
    const pg = await inv.pgStock(product.productId);
    t.true(pg.available >= 0);
    t.is(await inv.redisAvailable(product.productId), pg.available);
  }
  t.deepEqual(inv.telemetry.errors, []);
});

test.serial('markers of dead requests are dropped after the stale age; live holds are kept', async (t) => {
  const inv = await startInventory(t, { env: { RECONCILE_STALE_MARKER_MS: '1000' } });
  const p = await inv.addProduct(10);
  const redis = new Redis(infra.redisUrl);
  t.teardown(() => redis.disconnect());
  const key = inv.svc.gate.key(p.productId);
  const [secs] = (await redis.time()) as [number, number];
  // a process died between its Redis hold (3 units) and its Postgres transaction, an hour ago
  await redis.hset(key, `o:${randomUUID()}`, `-3|1|${secs * 1000 - 3_600_000}`);
  await redis.hincrby(key, 'a', -3);
  // and a hold in flight right now (2 units), whose transaction has not committed
  const live = randomUUID();
  await redis.hset(key, `o:${live}`, `-2|1|${secs * 1000}`);
  await redis.hincrby(key, 'a', -2);
  t.is(await inv.redisAvailable(p.productId), 5);

  const report = await inv.svc.reconciler.reconcileAll();
  t.is(report.repairedMismatch, 1);
  t.is(report.driftUnits, 3, 'the dead hold is given back; the live one stays counted');
  t.is(await inv.redisAvailable(p.productId), 8);
  t.deepEqual(Object.keys(await redis.hgetall(key)).filter((f) => f.startsWith('o:')), [`o:${live}`]);
});

test.serial('a request that finds its key gone is served by Postgres and has the key rebuilt', async (t) => {
  const inv = await startInventory(t);
  const p = await inv.addProduct(10);
  await inv.flushRedis();
  const before = await metricValue('inventory_redis_fallback_total', { reason: 'redis_key_missing' });
  t.is((await inv.call('POST', '/inventory/reservations', { body: reserveBody(p.productId, 4) })).status, 201);
  t.is((await metricValue('inventory_redis_fallback_total', { reason: 'redis_key_missing' })) - before, 1);
  await waitFor(async () => (await inv.redisAvailable(p.productId)) === 6, { what: 'the targeted reconciliation', timeoutMs: 10_000 });
  t.is((await inv.pgStock(p.productId)).available, 6);
});

test.serial('admin-only: reconcile refuses customers and services without an admin', async (t) => {
  const inv = await startInventory(t);
  const asCustomer = await inv.call('POST', '/inventory/reconcile', { as: 'gateway', user: { id: 'c1', role: 'customer' } });
  t.is(asCustomer.status, 403);
  const noUser = await inv.call('POST', '/inventory/reconcile', { as: 'order' });
  t.is(noUser.status, 401);
  const asAdmin = await inv.call('POST', '/inventory/reconcile', { as: 'gateway', user: { id: 'a1', role: 'admin' } });
  t.is(asAdmin.status, 200);
});

// The interleavings the reconciler must survive, step by step (README "Reconciliation while selling").

test.serial('a hold Postgres has not committed survives a reconciliation; once committed its marker goes', async (t) => {
  const inv = await startInventory(t);
  const { gate, store, reconciler } = inv.svc;
  const p = await inv.addProduct(10);
  const opId = randomUUID();
  t.deepEqual(await gate.hold(opId, [{ productId: p.productId, quantity: 3 }]), { kind: 'held' });
  t.is(await inv.redisAvailable(p.productId), 7);

  // Redis first, Postgres not yet: the rebuild must not hand the 3 held units out again
  t.like(await reconciler.reconcileProducts([p.productId]), { repairedMismatch: 0, driftUnits: 0 });
  t.is(await inv.redisAvailable(p.productId), 7);

  // Postgres commits; a reconciliation before the settle sees it committed and drops the marker
  const tx = await store.reserve({ opId, orderId: randomUUID(), requestHash: 'h', ttlSeconds: 60, lines: [{ productId: p.productId, quantity: 3 }] });
  t.is(tx.kind, 'reserved');
  t.like(await reconciler.reconcileProducts([p.productId]), { repairedMismatch: 0, driftUnits: 0 });
  const snap = await gate.snapshot([p.productId]);
  t.deepEqual(snap.products[0]?.markers, []);
  await gate.settle(opId, [p.productId]);
  t.is(await inv.redisAvailable(p.productId), 7);

  // a hold Postgres refuses is undone, unless a reconciliation already left it out
  const refused = randomUUID();
  await gate.hold(refused, [{ productId: p.productId, quantity: 2 }]);
  await gate.undo(refused, [{ productId: p.productId, quantity: 2 }].map((l) => l.productId));
  t.is(await inv.redisAvailable(p.productId), 7);
});

test.serial('a Postgres-first change committed before a reconciliation is not added twice by its finish', async (t) => {
  const inv = await startInventory(t);
  const { gate, store, reconciler } = inv.svc;
  const p = await inv.addProduct(10);
  const opId = randomUUID();
  await gate.begin(opId, [p.productId]);
  const row = await store.restock({ opId, productId: p.productId, quantity: 5 });
  t.is(row?.available, 15);
  // the reconciliation reads the committed restock: a = 15, and the marker is dropped…
  t.like(await reconciler.reconcileProducts([p.productId]), { repairedMismatch: 1, driftUnits: 5 });
  t.is(await inv.redisAvailable(p.productId), 15);
  // …so the late finish adds nothing
  await gate.finish(opId, new Map([[p.productId, 5]]));
  t.is(await inv.redisAvailable(p.productId), 15);

  // the other order: finish first, then the reconciliation has nothing to repair
  const op2 = randomUUID();
  await gate.begin(op2, [p.productId]);
  await store.restock({ opId: op2, productId: p.productId, quantity: 1 });
  await gate.finish(op2, new Map([[p.productId, 1]]));
  t.is(await inv.redisAvailable(p.productId), 16);
  t.like(await reconciler.reconcileProducts([p.productId]), { repairedMismatch: 0, driftUnits: 0 });
});

test.serial('compare-and-set: a product that changed between snapshot and write is left alone and retried', async (t) => {
  const inv = await startInventory(t);
  const { gate } = inv.svc;
  const p = await inv.addProduct(10);
  const snap = await gate.snapshot([p.productId]);
  const seq = snap.products[0]!.seq;
  await gate.hold(randomUUID(), [{ productId: p.productId, quantity: 1 }]);
  const [result] = await gate.apply([{ productId: p.productId, expectedSeq: seq, available: 999, dropMarkers: [] }]);
  t.deepEqual(result, { kind: 'skipped' });
  t.is(await inv.redisAvailable(p.productId), 9);
  const fresh = await gate.snapshot([p.productId]);
  const [written] = await gate.apply([{ productId: p.productId, expectedSeq: fresh.products[0]!.seq, available: 9, dropMarkers: [] }]);
  t.deepEqual(written, { kind: 'written', previous: 9 });
});

test.serial('requests for products without stock leave no permanent Redis keys; a rebuilt key is permanent', async (t) => {
  const inv = await startInventory(t);
  const redis = new Redis(infra.redisUrl);
  t.teardown(() => redis.disconnect());
  const ghost = randomUUID();
  t.is((await inv.call('POST', '/inventory/reservations', { body: reserveBody(ghost) })).status, 409);
  await inv.svc.reconciler.idle();
  const ttl = await redis.pttl(inv.svc.gate.key(ghost));
  t.true(ttl > 0 && ttl <= 600_000, `expires (pttl ${ttl})`);

  const p = await inv.addProduct(3);
  await inv.flushRedis();
  t.is((await inv.call('POST', '/inventory/reservations', { body: reserveBody(p.productId) })).status, 201);
  await waitFor(async () => (await inv.redisAvailable(p.productId)) === 2, { what: 'the rebuilt key', timeoutMs: 10_000 });
  t.is(await redis.pttl(inv.svc.gate.key(p.productId)), -1);
});
