import test from 'ava';
import { Redis } from 'ioredis';
import { childrenOf, freshSchema, infra, uniqueName, runTracedFixture, sqlOf, type FixtureRun, type ReceivedSpan } from '@lantern/testkit';
import { SECRET } from './helpers.js';

interface Result {
  idle: { swept: number; checked: number };
  reconciled: { checked: number; repairedMissing: number };
  swept: number;
  idleAgain: number;
  failed: string;
}

// One run of the fixture (a child process with the SDK) for every test of this file.
let run: Promise<FixtureRun<Result> & { roots: ReceivedSpan[] }>;

test.before(() => {
  run = (async () => {
    const schema = await freshSchema('inventory_spans');
    const prefix = `${uniqueName('invspans')}:`;
    try {
      const fixture = await runTracedFixture<Result>(new URL('./fixtures/jobs-app.ts', import.meta.url), {
        DATABASE_URL: infra.databaseUrl,
        REDIS_URL: infra.redisUrl,
        DB_SCHEMA: schema.name,
        REDIS_KEY_PREFIX: prefix,
        INTERNAL_AUTH_SECRET: SECRET,
      });
      const byStart = (a: ReceivedSpan, b: ReceivedSpan) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano));
      return { ...fixture, roots: fixture.spans.filter((s) => !s.parentSpanId).sort(byStart) };
    } finally {
      const redis = new Redis(infra.redisUrl, { maxRetriesPerRequest: 1 });
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await schema.drop();
    }
  })();
  // each test awaits it; this keeps an early failure from being an unhandled rejection
  run.catch(() => undefined);
});

test('the only traces are the runs that had work (and the request the fixture plays); nothing is orphaned', async (t) => {
  const { result, spans, roots } = await run;
  t.deepEqual(result, { idle: { swept: 0, checked: 0 }, reconciled: { checked: 2, repairedMissing: 2 }, swept: 1, idleAgain: 0, failed: result.failed });
  t.deepEqual(roots.map((s) => s.name), ['inventory.reconcile', 'inventory.sweep', 'POST /inventory/x/restock', 'inventory.reconcile', 'inventory.reconcile']);
  const traceIds = new Set(roots.map((s) => s.traceId));
  t.true(spans.every((s) => traceIds.has(s.traceId)), 'every span is in one of these traces');
  for (const job of roots.filter((s) => s.name.startsWith('inventory.'))) {
    t.is(job.kind, 'internal');
    t.is(job.scope.name, '@lantern/shop-inventory');
  }
});

test('inventory.sweep: one span for the run that found expired reservations, the release and the Redis markers under it; the idle sweeps none', async (t) => {
  const { spans, roots } = await run;
  // three sweeps ran: before any reservation, with one expired, and after it
  const sweeps = roots.filter((s) => s.name === 'inventory.sweep');
  t.is(sweeps.length, 1);
  const [sweep] = sweeps;
  t.like(sweep?.attributes, { 'inventory.sweep.expired': 1, 'inventory.sweep.batches': 1, 'inventory.sweep.batch_size': 100 });
  t.is(sweep?.status.code, 'unset');
  const children = childrenOf(spans, sweep);
  t.true(children.map(sqlOf).some((q) => /UPDATE reservations SET status/.test(q)), 'the release statement');
  t.true(children.some((s) => s.scope.name.includes('ioredis')), 'the Redis markers');
  t.false(children.map(sqlOf).some((q) => /^SELECT r\.\*/.test(q)), 'the look-up (the check) is not under it');
});

test('inventory.reconcile: full and targeted runs with their SQL and Redis under them, a failed one ERROR; the run over no rows none', async (t) => {
  const { result, spans, roots } = await run;
  // five ran: at start-up and once more over no stock rows, then over two products, one targeted, one with Redis gone
  const [full, targeted, failed, ...more] = roots.filter((s) => s.name === 'inventory.reconcile');
  t.deepEqual(more, []);
  t.like(full?.attributes, { 'inventory.reconcile.scope': 'full', 'inventory.reconcile.initial': false, 'inventory.reconcile.checked': 2, 'inventory.reconcile.repaired_missing': 2, 'inventory.reconcile.drift_units': 20 });
  t.is(full?.status.code, 'unset');
  const fullChildren = childrenOf(spans, full);
  t.true(fullChildren.map(sqlOf).some((q) => /from "stock" where "product_id" >/.test(q)), 'the next page of ids (the first, the check, is untraced)');
  t.true(fullChildren.map(sqlOf).some((q) => /delete from "stock_ops"/.test(q)), 'the prune');
  t.true(fullChildren.some((s) => s.scope.name.includes('ioredis')), 'the Redis scripts');

  // the run a request asked for is a trace of its own, not in the request's (which had long answered)
  const request = roots.find((s) => s.name === 'POST /inventory/x/restock');
  t.like(targeted?.attributes, { 'inventory.reconcile.scope': 'targeted', 'inventory.reconcile.checked': 1 });
  t.deepEqual(childrenOf(spans, request), []);
  t.true(childrenOf(spans, targeted).map(sqlOf).some((q) => /from "stock"/.test(q)), 'its Postgres snapshot');

  t.is(failed?.status.code, 'error');
  t.is(failed?.status.message, result.failed);
  t.truthy(failed?.events.find((e) => e.name === 'exception'), 'the exception is recorded');
});
