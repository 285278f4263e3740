import test from 'ava';
import { childrenOf, freshSchema, infra, runTracedFixture, sqlOf, type FixtureRun, type ReceivedSpan } from '@lantern/testkit';
import type { RetentionRun } from '../src/index.js';
import { SECRET } from './helpers.js';

interface Result {
  idle: RetentionRun['outcome'];
  busy: RetentionRun['outcome'];
  worked: RetentionRun;
  idleAgain: RetentionRun['outcome'];
  failed: string;
}

// One run of the fixture (a child process with the SDK) for every test of this file.
let run: Promise<FixtureRun<Result> & { jobs: ReceivedSpan[] }>;

test.before(() => {
  run = (async () => {
    const schema = await freshSchema('notification_spans');
    try {
      const fixture = await runTracedFixture<Result>(new URL('./fixtures/retention-app.ts', import.meta.url), {
        DATABASE_URL: infra.databaseUrl,
        DB_SCHEMA: schema.name,
        INTERNAL_AUTH_SECRET: SECRET,
      });
      const byStart = (a: ReceivedSpan, b: ReceivedSpan) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano));
      return { ...fixture, jobs: fixture.spans.filter((s) => s.name === 'notification.retention').sort(byStart) };
    } finally {
      await schema.drop();
    }
  })();
  // each test awaits it; this keeps an early failure from being an unhandled rejection
  run.catch(() => undefined);
});

test('retention: one span per run that deleted something (and the failed one); idle and busy runs leave no trace', async (t) => {
  const { result, jobs } = await run;
  t.like(result, { idle: 'idle', busy: 'busy', idleAgain: 'idle' });
  t.deepEqual(result.worked, {
    outcome: 'deleted',
    deleted: { notifications_read: 3, notifications_unread: 0, deliveries: 1, processed_events: 1 },
    batches: { notifications_read: 2, notifications_unread: 0, deliveries: 1, processed_events: 1 },
  });
  t.is(jobs.length, 2);
  for (const job of jobs) {
    t.is(job.kind, 'internal');
    t.is(job.scope.name, '@lantern/shop-notification');
    t.falsy(job.parentSpanId, 'a root span');
  }
});

test('the span carries the counts and covers the DELETEs; the lock and the look for due rows are not traced at all', async (t) => {
  const { spans, jobs } = await run;
  const [worked] = jobs;
  t.like(worked?.attributes, {
    'notification.retention.deleted.notifications_read': 3,
    'notification.retention.deleted.notifications_unread': 0,
    'notification.retention.deleted.deliveries': 1,
    'notification.retention.deleted.processed_events': 1,
    'notification.retention.batches': 4,
    'notification.retention.batch_size': 2,
  });
  t.is(worked?.status.code, 'unset');
  const sql = childrenOf(spans, worked).map(sqlOf);
  t.is(sql.filter((q) => /^DELETE FROM/.test(q)).length, 4);
  const all = spans.map(sqlOf);
  t.false(all.some((q) => /advisory/.test(q)), 'the lock');
  t.false(all.some((q) => /^SELECT \(SELECT true/.test(q)), 'the check');
  t.true(
    spans.filter((s) => /^DELETE FROM/.test(sqlOf(s))).every((s) => jobs.some((j) => j.spanId === s.parentSpanId)),
    'every DELETE is under a retention span',
  );
});

test('a run that fails marks its span ERROR with the exception', async (t) => {
  const { result, jobs } = await run;
  const failed = jobs[1];
  t.regex(result.failed, /deleting event claims refused/);
  t.is(failed?.status.code, 'error');
  t.is(failed?.status.message, result.failed);
  t.truthy(failed?.events.find((e) => e.name === 'exception'));
  // what it deleted before the failure: the deliveries (they come before the claims)
  t.like(failed?.attributes, { 'notification.retention.deleted.deliveries': 1, 'notification.retention.deleted.processed_events': 0, 'notification.retention.batches': 1 });
});
