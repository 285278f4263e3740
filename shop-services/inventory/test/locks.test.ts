import { randomUUID } from 'node:crypto';
import test from 'ava';
import type { Knex } from 'knex';
import { waitFor } from '@lantern/testkit';
import { requestHash } from '../src/request-hash.js';
import { reserveBody, startInventory } from './helpers.js';

// Reserve, confirm and release are single statements that lock rows and then write them. A statement's
// snapshot is taken before it waits for a lock, so these tests hold a row in another transaction, let
// the statement wait behind it, commit, and check the statement acted on the committed version.

/** A transaction of the test's own, and its backend pid (to see who waits behind it). */
async function holder(knex: Knex): Promise<{ trx: Knex.Transaction; pid: number }> {
  const trx = await knex.transaction();
  const { rows } = (await trx.raw('SELECT pg_backend_pid() AS pid')) as { rows: { pid: number }[] };
  return { trx, pid: rows[0]!.pid };
}

async function blockedBehind(knex: Knex, pid: number): Promise<void> {
  await waitFor(
    async () => {
      const { rows } = (await knex.raw('SELECT count(*)::int AS n FROM pg_stat_activity WHERE ?::int = ANY (pg_blocking_pids(pid))', [pid])) as { rows: { n: number }[] };
      return rows[0]!.n > 0;
    },
    { what: 'the statement to wait for the row lock', timeoutMs: 10_000, intervalMs: 20 },
  );
}

test('a reservation waiting behind a release takes the units the release gave back', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(5);
  const knex = inv.svc.db.knex;
  const first = reserveBody(productId, 5);
  t.is((await inv.call('POST', '/inventory/reservations', { body: first })).status, 201);

  // a release of `first` in flight: its units are back once it commits
  const { trx, pid } = await holder(knex);
  await trx('stock').update({ reserved: trx.raw('reserved - 5') }).where({ product_id: productId });
  await trx('reservations').update({ status: 'released', released_by: 'request' }).where({ order_id: first.orderId });
  const orderId = randomUUID();
  const pending = inv.svc.store.reserve({ opId: randomUUID(), orderId, requestHash: 'h', ttlSeconds: 60, lines: [{ productId, quantity: 2 }] });
  await blockedBehind(knex, pid);
  await trx.commit();

  const tx = await pending;
  t.is(tx.kind, 'reserved');
  // the units were taken from the committed version, not the one the statement's snapshot saw
  t.deepEqual(await inv.pgStock(productId), { onHand: 5, reserved: 2, allocated: 0, available: 3 });
  t.deepEqual((await inv.svc.store.getReservation(orderId))?.items, [{ productId, quantity: 2 }]);
});

test('a reservation waiting behind a sale that takes the last units is refused, and writes nothing', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(5);
  const knex = inv.svc.db.knex;
  const { trx, pid } = await holder(knex);
  await trx('stock').update({ reserved: trx.raw('reserved + 4') }).where({ product_id: productId });
  const orderId = randomUUID();
  const pending = inv.svc.store.reserve({ opId: randomUUID(), orderId, requestHash: 'h', ttlSeconds: 60, lines: [{ productId, quantity: 2 }] });
  await blockedBehind(knex, pid);
  await trx.commit();

  t.deepEqual(await pending, { kind: 'short', shortages: [{ index: 0, productId, requested: 2, available: 1 }] });
  t.deepEqual(await inv.pgStock(productId), { onHand: 5, reserved: 4, allocated: 0, available: 1 });
  t.is(await inv.svc.store.getReservation(orderId), undefined);
});

test('a copy of the request that commits while this one waits: this one answers as its retry', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(3);
  const knex = inv.svc.db.knex;
  const body = reserveBody(productId, 3);

  // the copy, mid-transaction: its reservation and units, not committed yet (and unseen by Redis)
  const { trx, pid } = await holder(knex);
  await trx('reservations').insert({
    order_id: body.orderId,
    status: 'reserved',
    request_hash: requestHash('reserve', { lines: body.items, ttlSeconds: undefined }),
    expires_at: trx.raw("now() + interval '30 minutes'"),
  });
  await trx('reservation_items').insert({ order_id: body.orderId, position: 0, product_id: productId, quantity: 3 });
  await trx('stock').update({ reserved: trx.raw('reserved + 3') }).where({ product_id: productId });
  const pending = inv.call('POST', '/inventory/reservations', { body });
  await blockedBehind(knex, pid);
  await trx.commit();

  const r = await pending;
  t.is(r.status, 201, JSON.stringify(r.body));
  t.like(r.body, { orderId: body.orderId, status: 'reserved', items: body.items });
  t.deepEqual(await inv.pgStock(productId), { onHand: 3, reserved: 3, allocated: 0, available: 0 });
  // the Redis hold was undone; the copy (written behind Redis's back here) is repaired by reconciliation
  await waitFor(async () => (await inv.redisAvailable(productId)) === 0, { what: 'Redis to be reconciled', timeoutMs: 10_000 });
});

test('a confirm waiting behind a release of the same reservation → 409 reservation_released, nothing moves', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(5);
  const knex = inv.svc.db.knex;
  const body = reserveBody(productId, 2);
  t.is((await inv.call('POST', '/inventory/reservations', { body })).status, 201);

  const { trx, pid } = await holder(knex);
  await trx('reservations').update({ status: 'released', released_by: 'request' }).where({ order_id: body.orderId });
  await trx('stock').update({ reserved: trx.raw('reserved - 2') }).where({ product_id: productId });
  const pending = inv.call('POST', `/inventory/reservations/${body.orderId}/confirm`);
  await blockedBehind(knex, pid);
  await trx.commit();

  const c = await pending;
  t.is(c.status, 409);
  t.is(c.body.error.code, 'reservation_released');
  t.deepEqual(await inv.pgStock(productId), { onHand: 5, reserved: 0, allocated: 0, available: 5 });
});

test('a release waiting behind a confirm of the same reservation → 409 reservation_confirmed, Redis unchanged', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(5);
  const knex = inv.svc.db.knex;
  const body = reserveBody(productId, 2);
  t.is((await inv.call('POST', '/inventory/reservations', { body })).status, 201);
  t.is(await inv.redisAvailable(productId), 3);

  const { trx, pid } = await holder(knex);
  await trx('reservations').update({ status: 'confirmed' }).where({ order_id: body.orderId });
  await trx('stock').update({ on_hand: trx.raw('on_hand - 2'), reserved: trx.raw('reserved - 2') }).where({ product_id: productId });
  const pending = inv.call('POST', `/inventory/reservations/${body.orderId}/release`);
  await blockedBehind(knex, pid);
  await trx.commit();

  const r = await pending;
  t.is(r.status, 409);
  t.is(r.body.error.code, 'reservation_confirmed');
  t.deepEqual(await inv.pgStock(productId), { onHand: 3, reserved: 0, allocated: 0, available: 3 });
  t.is(await inv.redisAvailable(productId), 3);
});
