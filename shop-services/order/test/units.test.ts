import test from 'ava';
import { ConfigError, createDb, orderStatusSchema } from '@lantern/shop-common';
import { freshSchema, infra } from '@lantern/testkit';
import { createTestTelemetry } from '@lantern/shop-common/testing';
import { IllegalTransitionError, Scheduler, TRANSITIONS, TERMINAL, assertTransition, canTransition, loadOrderConfig, migrations } from '../src/index.js';
import { mergeLines, requestHash } from '../src/pricing.js';
import { SECRET } from './support/harness.js';

test('state machine: the happy path, the exits, and nothing out of a final state', (t) => {
  const path = ['pending', 'reserved', 'paid', 'shipped', 'completed'] as const;
  for (let i = 0; i + 1 < path.length; i++) t.true(canTransition(path[i]!, path[i + 1]!), `${path[i]} → ${path[i + 1]}`);
  for (const to of ['cancelled', 'payment_failed', 'expired'] as const) t.true(canTransition('reserved', to));
  t.true(canTransition('pending', 'cancelled'));
  // no skipping, no going back, no cancelling once paid
  for (const [from, to] of [
    ['pending', 'paid'],
    ['reserved', 'shipped'],
    ['paid', 'reserved'],
    ['paid', 'cancelled'],
    ['shipped', 'paid'],
    ['reserved', 'reserved'],
  ] as const) {
    t.false(canTransition(from, to), `${from} → ${to}`);
    const err = t.throws(() => assertTransition('o1', from, to), { instanceOf: IllegalTransitionError });
    t.is(err?.status, 409);
    t.is(err?.code, 'illegal_transition');
  }
  for (const s of orderStatusSchema.options) {
    t.true(s in TRANSITIONS, s);
    t.is(TRANSITIONS[s].length === 0, TERMINAL.has(s), s);
  }
});

test('request hash: the same lines in any order and split any way are the same body', (t) => {
  const a = mergeLines([
    { productId: 'p1', quantity: 2 },
    { productId: 'p2', quantity: 1 },
  ]);
  const b = mergeLines([
    { productId: 'p2', quantity: 1 },
    { productId: 'p1', quantity: 1 },
    { productId: 'p1', quantity: 1 },
  ]);
  t.is(requestHash(a), requestHash(b));
  t.not(requestHash(a), requestHash(mergeLines([{ productId: 'p1', quantity: 3 }, { productId: 'p2', quantity: 1 }])));
  t.deepEqual(b.map((l) => [l.productId, l.quantity, l.index]), [
    ['p2', 1, 0],
    ['p1', 2, 1],
  ]);
});

test('config: every bad key is named; the re-drive must wait longer than a payment call', (t) => {
  const err = t.throws(() => loadOrderConfig({ INTERNAL_AUTH_SECRET: 'short', PAYMENT_TIMEOUT_MS: '-1', INVENTORY_SERVICE_URL: 'ftp://x', ORDERS_TOPIC: 'bad topic' }), { instanceOf: ConfigError });
  t.deepEqual(err?.issues.map((i) => i.key).sort(), ['INTERNAL_AUTH_SECRET', 'INVENTORY_SERVICE_URL', 'ORDERS_TOPIC', 'PAYMENT_TIMEOUT_MS']);
  const stuck = t.throws(() => loadOrderConfig({ INTERNAL_AUTH_SECRET: SECRET, PAYMENT_TIMEOUT_CALL_MS: '5000', SAGA_STUCK_AFTER_MS: '5000' }), { instanceOf: ConfigError });
  t.deepEqual(stuck?.issues.map((i) => i.key), ['SAGA_STUCK_AFTER_MS']);
  const ok = loadOrderConfig({ INTERNAL_AUTH_SECRET: SECRET });
  t.is(ok.PORT, 8083);
  t.is(ok.DB_SCHEMA, 'shop_order');
  t.is(ok.PAYMENT_TIMEOUT_MS, 15 * 60_000);
  t.is(ok.PAYMENTS_GROUP_ID, 'order-payments');
  t.is(ok.FLASH_SALES_GROUP_ID, 'order-flash-sales');
});

test('scheduler: two workers on one table run each due job exactly once; failures are retried with backoff', async (t) => {
  const schema = await freshSchema('order_test_scheduler');
  const db = createDb({ url: infra.databaseUrl, schema: schema.name, migrations });
  t.teardown(async () => {
    await db.destroy();
    await schema.drop();
  });
  await db.migrate();
  const runs = new Map<string, number>();
  let failuresLeft = 2;
  const make = () => {
    const s = new Scheduler({ knex: db.knex, logger: createTestTelemetry('order').logger, pollIntervalMs: 20, batchSize: 7, leaseMs: 10_000, retryBaseMs: 20, retryMaxMs: 50 });
    s.register('count', async (job) => {
      runs.set(job.key, (runs.get(job.key) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 2));
    });
    s.register('flaky', async () => {
      if (failuresLeft-- > 0) throw new Error('not yet');
    });
    return s;
  };
  const a = make();
  const b = make();
  const now = new Date();
  for (let i = 0; i < 60; i++) await a.schedule(db.knex, { kind: 'count', key: `k${i}`, runAt: now });
  await a.schedule(db.knex, { kind: 'count', key: 'k0', runAt: now }); // scheduling twice keeps one job
  await a.schedule(db.knex, { kind: 'count', key: 'later', runAt: new Date(Date.now() + 3_600_000) });
  await a.schedule(db.knex, { kind: 'flaky', key: 'f', runAt: now });
  a.start();
  b.start();
  const deadline = Date.now() + 15_000;
  while ((await a.pending()).length > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await Promise.all([a.stop(), b.stop()]);
  t.is(runs.size, 60);
  t.true([...runs.values()].every((n) => n === 1), JSON.stringify([...runs.entries()].filter(([, n]) => n !== 1)));
  const left = await a.pending();
  t.deepEqual(left.map((j) => j.key), ['later']);
  t.is(failuresLeft, -1); // failed twice, then succeeded on the third run
});
