import test from 'ava';
import { Redis } from 'ioredis';
import { childrenOf, freshSchema, infra, uniqueName, runTracedFixture, sqlOf, type FixtureRun, type ReceivedSpan } from '@lantern/testkit';
import type { SettleReport } from '../src/settler.js';
import { SECRET } from './helpers.js';

interface Result {
  ids: { ending: string; stuck: string; running: string };
  idle: SettleReport;
  worked: SettleReport;
  idleAgain: SettleReport;
  failed: SettleReport;
}

// One run of the fixture (a child process with the SDK) for every test of this file.
let run: Promise<FixtureRun<Result> & { jobs: ReceivedSpan[] }>;

test.before(() => {
  run = (async () => {
    const schema = await freshSchema('flash_sale_spans');
    const prefix = `${uniqueName('fsspans')}:`;
    try {
      const fixture = await runTracedFixture<Result>(new URL('./fixtures/jobs-app.ts', import.meta.url), {
        DATABASE_URL: infra.databaseUrl,
        REDIS_URL: infra.redisUrl,
        KAFKA_BROKERS: infra.kafkaBrokers.join(','),
        DB_SCHEMA: schema.name,
        REDIS_KEY_PREFIX: prefix,
        INTERNAL_AUTH_SECRET: SECRET,
      });
      const byStart = (a: ReceivedSpan, b: ReceivedSpan) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano));
      const jobs = fixture.spans.filter((s) => !s.parentSpanId && s.name !== 'fixture setup').sort(byStart);
      return { ...fixture, jobs };
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

test('idle runs make no span: the only traces are the set-up and the steps that had work', async (t) => {
  const { result, spans, jobs } = await run;
  const zero = { settled: 0, unitsReturned: 0, cancelled: 0, staleHoldsReleased: 0 };
  t.deepEqual(result.idle, zero);
  t.deepEqual(result.idleAgain, zero);
  t.deepEqual(result.worked, { settled: 1, unitsReturned: 5, cancelled: 1, staleHoldsReleased: 1 });
  t.like(result.failed, { settled: 1, unitsReturned: 0 });
  t.deepEqual(
    jobs.map((s) => s.name),
    ['flash_sale.settle', 'flash_sale.return_units', 'flash_sale.cancel_allocations', 'flash_sale.release_holds', 'flash_sale.settle', 'flash_sale.return_units'],
  );
  const traceIds = new Set(spans.filter((s) => !s.parentSpanId).map((s) => s.traceId));
  t.true(spans.every((s) => traceIds.has(s.traceId)), 'nothing is orphaned');
  for (const job of jobs) {
    t.is(job.kind, 'internal');
    t.is(job.scope.name, '@lantern/shop-flash-sale');
  }
});

test('flash_sale.settle: the settlement transaction under it', async (t) => {
  const { spans, jobs } = await run;
  const settle = jobs.find((s) => s.name === 'flash_sale.settle');
  t.like(settle?.attributes, { 'flash_sale.sales': 1, 'flash_sale.settled': 1 });
  t.is(settle?.status.code, 'unset');
  const sql = childrenOf(spans, settle).map(sqlOf);
  t.true(sql.some((q) => /for update/i.test(q)), 'the sale row lock');
  t.true(sql.some((q) => /update "flash_sales" set "status"/.test(q)), 'the settlement');
  t.false(sql.some((q) => /"ends_at" <=/.test(q)), 'the look-up (the check) is not under it');
});

test('flash_sale.return_units: the inventory call and the confirmation under it; a failed return marks it ERROR', async (t) => {
  const { result, spans, jobs } = await run;
  const [ok, failed] = jobs.filter((s) => s.name === 'flash_sale.return_units');
  t.like(ok?.attributes, { 'flash_sale.sales': 1, 'flash_sale.units_returned': 5, 'flash_sale.failed': 0 });
  t.is(ok?.status.code, 'unset');
  const children = childrenOf(spans, ok);
  const call = children.find((s) => s.kind === 'client' && String(s.attributes['url.full'] ?? '').endsWith(`/inventory/allocations/${result.ids.ending}/return`));
  t.truthy(call, 'the POST to inventory');
  t.true(children.map(sqlOf).some((q) => /update "flash_sales" set "returned_units"/.test(q)), 'the confirmation');

  t.like(failed?.attributes, { 'flash_sale.units_returned': 0, 'flash_sale.failed': 1 });
  t.is(failed?.status.code, 'error');
  t.truthy(failed?.status.message);
  t.truthy(failed?.events.find((e) => e.name === 'exception'), 'the exception is recorded');
});

test('flash_sale.cancel_allocations: the inventory call and the cancellation under it', async (t) => {
  const { result, spans, jobs } = await run;
  const cancel = jobs.find((s) => s.name === 'flash_sale.cancel_allocations');
  t.like(cancel?.attributes, { 'flash_sale.sales': 1, 'flash_sale.cancelled': 1, 'flash_sale.failed': 0 });
  // inventory answers 404 (it never set anything aside): not a failure of the run
  t.is(cancel?.status.code, 'unset');
  const children = childrenOf(spans, cancel);
  t.truthy(children.find((s) => String(s.attributes['url.full'] ?? '').endsWith(`/inventory/allocations/${result.ids.stuck}/return`)));
  t.true(children.map(sqlOf).some((q) => /update "flash_sales" set "status"/.test(q)), 'the cancellation');
});

test('flash_sale.release_holds: the purchase look-up and the Redis release under it', async (t) => {
  const { spans, jobs } = await run;
  const holds = jobs.find((s) => s.name === 'flash_sale.release_holds');
  t.like(holds?.attributes, { 'flash_sale.sales': 1, 'flash_sale.holds_released': 1, 'flash_sale.holds_committed': 0 });
  const children = childrenOf(spans, holds);
  t.true(children.map(sqlOf).some((q) => /from "purchases"/.test(q)), "the purchases' slots");
  t.true(children.some((s) => s.scope.name.includes('ioredis')), 'the release script');
  t.false(children.some((s) => s.name === 'zrangebyscore'), 'the look for old holds (the check) is not under it');
});
