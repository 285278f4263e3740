import { randomUUID } from 'node:crypto';
import test from 'ava';
import { countStatements as counted } from '@lantern/testkit';
import { reserveBody, startInventory, type TestInventory } from './helpers.js';

// The SQL round trips of one checkout order, counted at the service's knex (BEGIN and COMMIT count):
// each is a socket write, a pg span and Postgres work, the largest costs of an order. The budgets are
// what the statements are today (before this was folded: reserve 9, confirm 6, release 11); a change
// that adds round trips to these paths fails here.

const listed = (statements: readonly string[]) => `${statements.length} statements:\n${statements.map((s) => s.replace(/\s+/g, ' ').slice(0, 160)).join('\n')}`;

async function outboxTypes(inv: TestInventory): Promise<string[]> {
  return (await inv.svc.db.knex('outbox').select('type').orderBy('seq')).map((r: { type: string }) => r.type);
}

test('one-line order: reserve 2 statements (read, then reserve), confirm 1, release 2 (read, then release)', async (t) => {
  const inv = await startInventory(t);
  const { productId } = await inv.addProduct(100);
  const knex = inv.svc.db.knex;

  const a = reserveBody(productId, 1);
  const reserved = await counted(knex, () => inv.call('POST', '/inventory/reservations', { body: a }));
  t.is(reserved.result.status, 201, JSON.stringify(reserved.result.body));
  t.is(reserved.statements.length, 2, listed(reserved.statements));

  const confirmed = await counted(knex, () => inv.call('POST', `/inventory/reservations/${a.orderId}/confirm`));
  t.is(confirmed.result.status, 200, JSON.stringify(confirmed.result.body));
  t.is(confirmed.result.body.status, 'confirmed');
  t.is(confirmed.statements.length, 1, listed(confirmed.statements));

  const b = reserveBody(productId, 2);
  t.is((await inv.call('POST', '/inventory/reservations', { body: b })).status, 201);
  const released = await counted(knex, () => inv.call('POST', `/inventory/reservations/${b.orderId}/release`));
  t.is(released.result.status, 200, JSON.stringify(released.result.body));
  t.is(released.result.body.releasedBy, 'request');
  t.is(released.statements.length, 2, listed(released.statements));

  t.deepEqual(await inv.pgStock(productId), { onHand: 99, reserved: 0, allocated: 0, available: 99 });
  t.is(await inv.redisAvailable(productId), 99);
  t.deepEqual(await outboxTypes(inv), []);
});

test('a three-line order costs what a one-line order costs (one statement over all lines)', async (t) => {
  const inv = await startInventory(t);
  const products = await Promise.all([inv.addProduct(50), inv.addProduct(50), inv.addProduct(50)]);
  const knex = inv.svc.db.knex;
  const items = products.map((p, i) => ({ productId: p.productId, quantity: i + 1 }));

  const a = { orderId: randomUUID(), items };
  const reserved = await counted(knex, () => inv.call('POST', '/inventory/reservations', { body: a }));
  t.is(reserved.result.status, 201, JSON.stringify(reserved.result.body));
  t.deepEqual(reserved.result.body.items, items, 'the items in request order');
  t.is(reserved.statements.length, 2, listed(reserved.statements));
  const confirmed = await counted(knex, () => inv.call('POST', `/inventory/reservations/${a.orderId}/confirm`));
  t.is(confirmed.result.status, 200);
  t.deepEqual(confirmed.result.body.items, items);
  t.is(confirmed.statements.length, 1, listed(confirmed.statements));

  const b = { orderId: randomUUID(), items: [...items].reverse() };
  t.is((await inv.call('POST', '/inventory/reservations', { body: b })).status, 201);
  const released = await counted(knex, () => inv.call('POST', `/inventory/reservations/${b.orderId}/release`));
  t.is(released.result.status, 200);
  t.deepEqual(released.result.body.items, b.items);
  t.is(released.statements.length, 2, listed(released.statements));

  for (const [i, p] of products.entries()) {
    t.deepEqual(await inv.pgStock(p.productId), { onHand: 50 - (i + 1), reserved: 0, allocated: 0, available: 50 - (i + 1) });
    t.is(await inv.redisAvailable(p.productId), 50 - (i + 1));
  }
});

test('a reservation that crosses the low-stock threshold: the statement, then it again in a transaction with the event (6)', async (t) => {
  const inv = await startInventory(t, { env: { LOW_STOCK_THRESHOLD: '5' } });
  const { productId } = await inv.addProduct(8);
  const knex = inv.svc.db.knex;
  t.is((await inv.call('POST', '/inventory/reservations', { body: reserveBody(productId, 2) })).status, 201); // 6 left
  t.deepEqual(await outboxTypes(inv), []);

  const crossing = await counted(knex, () => inv.call('POST', '/inventory/reservations', { body: reserveBody(productId, 2) })); // 4 left
  t.is(crossing.result.status, 201);
  t.is(crossing.statements.length, 6, listed(crossing.statements));
  t.deepEqual([crossing.statements[2], crossing.statements.at(-1)], ['BEGIN;', 'COMMIT;']);
  t.deepEqual(await outboxTypes(inv), ['inventory.low_stock']);

  // already low: no event, no transaction
  const low = await counted(knex, () => inv.call('POST', '/inventory/reservations', { body: reserveBody(productId, 1) }));
  t.is(low.result.status, 201);
  t.is(low.statements.length, 2, listed(low.statements));
  t.deepEqual(await outboxTypes(inv), ['inventory.low_stock']);
  t.deepEqual(await inv.pgStock(productId), { onHand: 8, reserved: 5, allocated: 0, available: 3 });
});

test('a release that leaves a product at or below the threshold without its flag announces it, in a transaction (6)', async (t) => {
  const inv = await startInventory(t, { env: { LOW_STOCK_THRESHOLD: '5' } });
  const { productId } = await inv.addProduct(8);
  const knex = inv.svc.db.knex;
  t.is((await inv.call('POST', '/inventory/reservations', { body: reserveBody(productId, 3) })).status, 201); // 5 left: crossed
  const body = reserveBody(productId, 2);
  t.is((await inv.call('POST', '/inventory/reservations', { body })).status, 201); // 3 left
  // as after a restart with a higher LOW_STOCK_THRESHOLD: low, but not flagged (never announced)
  await knex('stock').update({ low_stock: false }).where({ product_id: productId });

  const released = await counted(knex, () => inv.call('POST', `/inventory/reservations/${body.orderId}/release`)); // 5 left
  t.is(released.result.status, 200);
  t.is(released.statements.length, 6, listed(released.statements));
  t.deepEqual(await outboxTypes(inv), ['inventory.low_stock', 'inventory.low_stock']);
  t.true(((await knex('stock').first('low_stock').where({ product_id: productId })) as { low_stock: boolean }).low_stock);
  t.deepEqual(await inv.pgStock(productId), { onHand: 8, reserved: 3, allocated: 0, available: 5 });
  t.is(await inv.redisAvailable(productId), 5);
});

test('expiry: a confirm past the deadline costs 2 (confirm, release); the sweeper 2 per batch (due reservations with their items, release)', async (t) => {
  const inv = await startInventory(t);
  const products = await Promise.all([inv.addProduct(10), inv.addProduct(10)]);
  const knex = inv.svc.db.knex;
  const late = { orderId: randomUUID(), items: products.map((p) => ({ productId: p.productId, quantity: 1 })), ttlSeconds: 1 };
  const swept = [0, 1, 2].map(() => ({ orderId: randomUUID(), items: products.map((p) => ({ productId: p.productId, quantity: 2 })), ttlSeconds: 1 }));
  for (const body of [late, ...swept]) t.is((await inv.call('POST', '/inventory/reservations', { body })).status, 201);
  await new Promise((r) => setTimeout(r, 1_100));

  const confirm = await counted(knex, () => inv.call('POST', `/inventory/reservations/${late.orderId}/confirm`));
  t.is(confirm.result.status, 409);
  t.is(confirm.result.body.error.code, 'reservation_expired');
  t.is(confirm.statements.length, 2, listed(confirm.statements));

  const sweep = await counted(knex, () => inv.svc.inventory.expireDue(100));
  t.is(sweep.result, 3);
  t.is(sweep.statements.length, 2, listed(sweep.statements));
  for (const p of products) {
    t.deepEqual(await inv.pgStock(p.productId), { onHand: 10, reserved: 0, allocated: 0, available: 10 });
    t.is(await inv.redisAvailable(p.productId), 10);
  }
  const expired = await inv.call('GET', `/inventory/reservations/${swept[1]!.orderId}`);
  t.like(expired.body, { status: 'expired', releasedBy: 'expiry', items: swept[1]!.items });
});
