import test from 'ava';
import { childrenOf, freshSchema, infra, runTracedFixture, sqlOf, type FixtureRun, type ReceivedSpan } from '@lantern/testkit';
import { CALLBACK_SECRET, SECRET } from './helpers.js';

interface Result {
  idleRecovery: { payments: number; refunds: number };
  busy: string;
  recovered: { payments: number; refunds: number };
  reconciled: { ledgerRecords: number; channelRecords: number; mismatches: number; newMismatches: number };
  idleAgain: { payments: number; refunds: number };
  failed: string;
}

// One run of the fixture (a child process with the SDK) for every test of this file.
let run: Promise<FixtureRun<Result> & { roots: ReceivedSpan[] }>;

test.before(() => {
  run = (async () => {
    const schema = await freshSchema('payment_spans');
    try {
      const fixture = await runTracedFixture<Result>(new URL('./fixtures/jobs-app.ts', import.meta.url), {
        DATABASE_URL: infra.databaseUrl,
        DB_SCHEMA: schema.name,
        INTERNAL_AUTH_SECRET: SECRET,
        PAYMENT_CALLBACK_SECRET: CALLBACK_SECRET,
      });
      const byStart = (a: ReceivedSpan, b: ReceivedSpan) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano));
      return { ...fixture, roots: fixture.spans.filter((s) => !s.parentSpanId).sort(byStart) };
    } finally {
      await schema.drop();
    }
  })();
  // each test awaits it; this keeps an early failure from being an unhandled rejection
  run.catch(() => undefined);
});

test('the only traces are the runs that had work; nothing is orphaned', async (t) => {
  const { result, spans, roots } = await run;
  t.like(result, {
    idleRecovery: { payments: 0, refunds: 0 },
    busy: 'a reconciliation run is already in progress',
    recovered: { payments: 1, refunds: 0 },
    reconciled: { ledgerRecords: 1, channelRecords: 1, mismatches: 0 },
    idleAgain: { payments: 0, refunds: 0 },
  });
  t.deepEqual(roots.map((s) => s.name), ['payment.recover', 'payment.reconcile', 'payment.reconcile']);
  const traceIds = new Set(roots.map((s) => s.traceId));
  t.true(spans.every((s) => traceIds.has(s.traceId)), 'every span is in one of the job traces');
  for (const job of roots) {
    t.is(job.kind, 'internal');
    t.is(job.scope.name, '@lantern/shop-payment');
  }
});

test('payment.recover: one span for the run that found an interrupted payment, its SQL under it; the idle runs none', async (t) => {
  const { spans, roots } = await run;
  // four ran: at start-up, before the payment was left processing, with it, after it
  const recovers = roots.filter((s) => s.name === 'payment.recover');
  t.is(recovers.length, 1);
  const [recover] = recovers;
  t.like(recover?.attributes, { 'payment.recover.stale_payments': 1, 'payment.recover.stale_refunds': 0, 'payment.recover.payments': 1, 'payment.recover.refunds': 0 });
  t.is(recover?.status.code, 'unset');
  const sql = childrenOf(spans, recover).map(sqlOf);
  t.true(sql.some((q) => /for update skip locked/i.test(q)), "the payment's lock");
  t.true(sql.some((q) => /insert into "outbox"/i.test(q)), 'the payment.failed event');
  t.false(sql.some((q) => /from "refunds"/.test(q)), 'the look-ups (the check) are not under it');
});

test('payment.reconcile: the ledger reads, the stored report and the COMMIT under it, a failed run ERROR; the busy run none', async (t) => {
  const { result, spans, roots } = await run;
  // three ran: one while another "instance" held the lock, one that worked, one that failed
  const [reconcile, failed, ...more] = roots.filter((s) => s.name === 'payment.reconcile');
  t.deepEqual(more, []);
  t.like(reconcile?.attributes, { 'payment.reconcile.ledger_records': 1, 'payment.reconcile.channel_records': 1, 'payment.reconcile.mismatches': 0, 'payment.reconcile.window_ms': 7_200_000 });
  t.is(reconcile?.status.code, 'unset');
  const sql = childrenOf(spans, reconcile).map(sqlOf);
  t.true(sql.some((q) => /from "payment_attempts"/.test(q)), 'the ledger read');
  t.true(sql.some((q) => /insert into "reconciliation_runs"/.test(q)), 'the stored report');
  t.true(sql.some((q) => /^COMMIT/.test(q)), 'the COMMIT');
  t.false(sql.some((q) => /advisory/.test(q)), 'the lock (the check) is not under it');

  t.regex(result.failed, /reconciliation_runs/);
  t.is(failed?.status.code, 'error');
  t.is(failed?.status.message, result.failed);
  t.truthy(failed?.events.find((e) => e.name === 'exception'), 'the exception is recorded');
});
