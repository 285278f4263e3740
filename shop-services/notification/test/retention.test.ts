import { randomUUID } from 'node:crypto';
import test from 'ava';
import type { Knex } from 'knex';
import { ConfigError } from '@lantern/shop-common';
import { createTestTelemetry } from '@lantern/shop-common/testing';
import { infra, waitFor } from '@lantern/testkit';
import { createNotificationService, loadNotificationConfig, RetentionJob, retentionDeletedTotal, type NotificationService, type RetentionKind, type RetentionRun } from '../src/index.js';
import { counterValue, SECRET, startService, type Teardown } from './helpers.js';

const HOUR = 3600;
const DAY = 24 * HOUR;

/** `now() - seconds`, by Postgres' clock (the one the job measures with). */
const ago = (knex: Knex, seconds: number) => knex.raw("now() - make_interval(secs => ?)", [seconds]);

/** An in-app message labelled by its title. */
async function message(knex: Knex, label: string, createdAgo: number, readAgo: number | null): Promise<void> {
  await knex('notifications').insert({
    user_id: 'user-retention',
    event_id: randomUUID(),
    event_type: 'order.placed',
    title: label,
    body: 'body',
    created_at: ago(knex, createdAgo),
    read_at: readAgo === null ? null : ago(knex, readAgo),
  });
}

/** A delivery record labelled by its order id; `updatedAgo` is when it got its (last) status. */
async function delivery(knex: Knex, label: string, status: string, updatedAgo: number, channel = 'email'): Promise<void> {
  await knex('deliveries').insert({
    event_id: randomUUID(),
    channel,
    event_type: 'order.placed',
    user_id: 'user-retention',
    order_id: label,
    status,
    recipient: 'alice@example.com',
    event_at: ago(knex, updatedAgo + 60),
    created_at: ago(knex, updatedAgo + 60),
    updated_at: ago(knex, updatedAgo),
  });
}

async function claim(knex: Knex, label: string, processedAgo: number): Promise<void> {
  await knex('processed_events').insert({ consumer_group: 'notification', event_id: label, processed_at: ago(knex, processedAgo) });
}

/** What is left, by label, per table. */
async function remaining(knex: Knex): Promise<{ notifications: string[]; deliveries: string[]; claims: string[] }> {
  const labels = async (q: Knex.QueryBuilder, col: string) => ((await q.select(col).orderBy(col)) as Record<string, string>[]).map((r) => r[col] as string);
  return {
    notifications: await labels(knex('notifications'), 'title'),
    deliveries: await labels(knex('deliveries'), 'order_id'),
    claims: await labels(knex('processed_events'), 'event_id'),
  };
}

/** One old row of each kind (well past any limit below 1000 days) and one new one. */
async function oneOfEach(knex: Knex): Promise<void> {
  await message(knex, 'old-read', 1000 * DAY, 999 * DAY);
  await message(knex, 'old-unread', 1000 * DAY, null);
  await delivery(knex, 'old-sent', 'sent', 999 * DAY);
  await claim(knex, 'old-claim', 999 * DAY);
  await message(knex, 'new-read', HOUR, 60);
  await delivery(knex, 'new-sent', 'sent', 60);
  await claim(knex, 'new-claim', 60);
}

/** The service with no scheduled retention runs (the test runs them). */
function service(t: Teardown, env: Record<string, string> = {}) {
  return startService(t, { RETENTION_INTERVAL_MS: '0', ...env });
}

const counts = (run: RetentionRun) => run.deleted;
const none: Record<RetentionKind, number> = { notifications_read: 0, notifications_unread: 0, deliveries: 0, processed_events: 0 };

test.serial('rows past each default limit are deleted; younger ones, unread ones under a year and unfinished deliveries are kept', async (t) => {
  const { svc } = await service(t);
  const knex = svc.db.knex;
  // in-app, read: 90 days after reading; unread: 365 days after writing
  await message(knex, 'read-90d+1h-ago', 200 * DAY, 90 * DAY + HOUR);
  await message(knex, 'read-90d-1h-ago', 200 * DAY, 90 * DAY - HOUR);
  await message(knex, 'written-400d-read-yesterday', 400 * DAY, DAY);
  await message(knex, 'unread-365d+1h', 365 * DAY + HOUR, null);
  await message(knex, 'unread-365d-1h', 365 * DAY - HOUR, null);
  await message(knex, 'unread-new', 60, null);
  // deliveries: 30 days after the final outcome; pending and sending never
  await delivery(knex, 'sent-30d+1h', 'sent', 30 * DAY + HOUR);
  await delivery(knex, 'failed-30d+1h', 'failed', 30 * DAY + HOUR, 'sms');
  await delivery(knex, 'skipped-30d+1h', 'skipped', 30 * DAY + HOUR, 'sms');
  await delivery(knex, 'sent-30d-1h', 'sent', 30 * DAY - HOUR);
  await delivery(knex, 'pending-400d', 'pending', 400 * DAY);
  await delivery(knex, 'sending-400d', 'sending', 400 * DAY, 'sms');
  // event claims: 21 days
  await claim(knex, 'claim-21d+1h', 21 * DAY + HOUR);
  await claim(knex, 'claim-21d-1h', 21 * DAY - HOUR);

  const before = await Promise.all((['notifications_read', 'notifications_unread', 'deliveries', 'processed_events'] as const).map((kind) => counterValue(retentionDeletedTotal, { kind })));
  const run = await svc.retention.run();
  t.is(run.outcome, 'deleted');
  t.deepEqual(counts(run), { notifications_read: 1, notifications_unread: 1, deliveries: 3, processed_events: 1 });
  t.deepEqual(await remaining(knex), {
    notifications: ['read-90d-1h-ago', 'unread-365d-1h', 'unread-new', 'written-400d-read-yesterday'],
    deliveries: ['pending-400d', 'sending-400d', 'sent-30d-1h'],
    claims: ['claim-21d-1h'],
  });
  const after = await Promise.all((['notifications_read', 'notifications_unread', 'deliveries', 'processed_events'] as const).map((kind) => counterValue(retentionDeletedTotal, { kind })));
  t.deepEqual(
    after.map((v, i) => v - (before[i] ?? 0)),
    [1, 1, 3, 1],
    'notification_retention_deleted_total{kind}',
  );

  const again = await svc.retention.run();
  t.is(again.outcome, 'idle');
  t.deepEqual(counts(again), none);
});

test('batches of RETENTION_BATCH_SIZE rows loop until a batch comes back short', async (t) => {
  const { svc } = await service(t, { RETENTION_BATCH_SIZE: '2' });
  const knex = svc.db.knex;
  for (let i = 0; i < 5; i++) await message(knex, `old-read-${i}`, 200 * DAY, 100 * DAY);
  for (let i = 0; i < 4; i++) await claim(knex, `old-claim-${i}`, 30 * DAY);
  await delivery(knex, 'old-sent', 'sent', 40 * DAY);
  await message(knex, 'new-read', DAY, HOUR);
  await claim(knex, 'new-claim', HOUR);

  const run = await svc.retention.run();
  t.deepEqual(counts(run), { notifications_read: 5, notifications_unread: 0, deliveries: 1, processed_events: 4 });
  // 2 + 2 + 1; 2 + 2 + 0 (a full batch is followed by another); 1; unread: none due, no batch
  t.deepEqual(run.batches, { notifications_read: 3, notifications_unread: 0, deliveries: 1, processed_events: 3 });
  t.deepEqual(await remaining(knex), { notifications: ['new-read'], deliveries: [], claims: ['new-claim'] });
});

const disabled: [string, Record<string, string>, Record<RetentionKind, number>, Awaited<ReturnType<typeof remaining>>][] = [
  [
    'RETENTION_DAYS_UNREAD=0 keeps unread messages',
    { RETENTION_DAYS_UNREAD: '0' },
    { ...none, notifications_read: 1, deliveries: 1, processed_events: 1 },
    { notifications: ['new-read', 'old-unread'], deliveries: ['new-sent'], claims: ['new-claim'] },
  ],
  [
    'RETENTION_DAYS_READ=0 (and UNREAD=0) keeps every message',
    { RETENTION_DAYS_READ: '0', RETENTION_DAYS_UNREAD: '0' },
    { ...none, deliveries: 1, processed_events: 1 },
    { notifications: ['new-read', 'old-read', 'old-unread'], deliveries: ['new-sent'], claims: ['new-claim'] },
  ],
  [
    'RETENTION_DAYS_DELIVERIES=0 keeps delivery records',
    { RETENTION_DAYS_DELIVERIES: '0' },
    { ...none, notifications_read: 1, notifications_unread: 1, processed_events: 1 },
    { notifications: ['new-read'], deliveries: ['new-sent', 'old-sent'], claims: ['new-claim'] },
  ],
  [
    'RETENTION_DAYS_PROCESSED_EVENTS=0 keeps event claims',
    { RETENTION_DAYS_PROCESSED_EVENTS: '0' },
    { ...none, notifications_read: 1, notifications_unread: 1, deliveries: 1 },
    { notifications: ['new-read'], deliveries: ['new-sent'], claims: ['new-claim', 'old-claim'] },
  ],
];
for (const [title, env, deleted, left] of disabled) {
  test(`0 disables a kind: ${title}, the other kinds are still deleted`, async (t) => {
    const { svc } = await service(t, env);
    await oneOfEach(svc.db.knex);
    const run = await svc.retention.run();
    t.deepEqual(counts(run), deleted);
    t.deepEqual(await remaining(svc.db.knex), left);
  });
}

test('every kind 0: the run is disabled and deletes nothing', async (t) => {
  const { svc } = await service(t, { RETENTION_DAYS_READ: '0', RETENTION_DAYS_UNREAD: '0', RETENTION_DAYS_DELIVERIES: '0', RETENTION_DAYS_PROCESSED_EVENTS: '0' });
  await oneOfEach(svc.db.knex);
  t.deepEqual(await svc.retention.run(), { outcome: 'disabled', deleted: none, batches: none });
  t.is((await remaining(svc.db.knex)).notifications.length, 3);
});

test('scheduled: the first run after firstRunDelayMs, then one every intervalMs; none after stop()', async (t) => {
  const { svc } = await service(t);
  const knex = svc.db.knex;
  const days = { notifications_read: 90, notifications_unread: 365, deliveries: 30, processed_events: 21 };
  const job = new RetentionJob({ knex, days, batchSize: 100, intervalMs: 100, firstRunDelayMs: 0, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  t.teardown(() => job.stop());
  const claims = async () => Number((await knex('processed_events').count({ n: '*' }))[0]?.n);
  await claim(knex, 'old-1', 30 * DAY);
  job.start();
  await waitFor(async () => (await claims()) === 0, { timeoutMs: 5_000, what: 'the first run' });
  await claim(knex, 'old-2', 30 * DAY);
  await waitFor(async () => (await claims()) === 0, { timeoutMs: 5_000, what: 'a later run' });
  await job.stop();
  await claim(knex, 'old-3', 30 * DAY);
  await new Promise((r) => setTimeout(r, 400));
  t.is(await claims(), 1, 'no run after stop()');
});

/** A second replica of a started service: same schema, its own pool and retention job; never started. */
function replica(t: Teardown, schema: string): NotificationService {
  const config = loadNotificationConfig({ DATABASE_URL: infra.databaseUrl, INTERNAL_AUTH_SECRET: SECRET, DB_SCHEMA: schema, DB_POOL_MAX: '2', RETENTION_INTERVAL_MS: '0', SMS_ENABLED: 'false' });
  const svc = createNotificationService({ telemetry: createTestTelemetry('notification'), config });
  t.teardown(() => svc.close());
  return svc;
}

test('two replicas running at once: the second finds the lock taken and does nothing; the lock is free again afterwards', async (t) => {
  const { svc: a, schema } = await service(t);
  const b = replica(t, schema);
  const knex = a.db.knex;
  for (let i = 0; i < 3; i++) await message(knex, `old-read-${i}`, 200 * DAY, 100 * DAY);

  // a reader holds one of the rows, so replica A's run stops at its DELETE while it holds the retention lock
  const blocker = await knex.transaction();
  t.teardown(() => (blocker.isCompleted() ? undefined : blocker.rollback()));
  await blocker('notifications').where({ title: 'old-read-1' }).forUpdate();
  const pid = ((await blocker.raw('select pg_backend_pid() as pid')).rows as { pid: number }[])[0]?.pid ?? 0;
  const runA = a.retention.run();
  await waitFor(
    async () => {
      const { rows } = await knex.raw("select 1 from pg_stat_activity where ? = any(pg_blocking_pids(pid)) and query like 'DELETE FROM \"notifications\"%'", [pid]);
      return rows.length > 0;
    },
    { timeoutMs: 5_000, what: "replica A's DELETE waiting for the row" },
  );

  // B, meanwhile: without the lock it would delete too (or wait on the same row past this timeout)
  const timeout = new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), 3_000).unref());
  const runB = await Promise.race([b.retention.run(), timeout]);
  t.deepEqual(runB, { outcome: 'busy', deleted: none, batches: none });
  t.is((await knex('notifications').count({ n: '*' }))[0]?.n, '3', 'B deleted nothing');

  await blocker.rollback();
  const doneA = await runA;
  t.is(doneA.outcome, 'deleted');
  t.is(doneA.deleted.notifications_read, 3);
  // A's session (and lock) is gone: B gets the lock now, and finds nothing left
  t.is((await b.retention.run()).outcome, 'idle');
});

test('config: retention keys default to 90 / 365 / 30 / 21 days, hourly, 1000 rows; a bad value names its key', (t) => {
  const c = loadNotificationConfig({ INTERNAL_AUTH_SECRET: SECRET });
  t.deepEqual(
    [c.RETENTION_DAYS_READ, c.RETENTION_DAYS_UNREAD, c.RETENTION_DAYS_DELIVERIES, c.RETENTION_DAYS_PROCESSED_EVENTS, c.RETENTION_INTERVAL_MS, c.RETENTION_BATCH_SIZE],
    [90, 365, 30, 21, 3_600_000, 1000],
  );
  const zeros = loadNotificationConfig({ INTERNAL_AUTH_SECRET: SECRET, RETENTION_DAYS_READ: '0', RETENTION_DAYS_UNREAD: '0', RETENTION_DAYS_DELIVERIES: '0', RETENTION_DAYS_PROCESSED_EVENTS: '0', RETENTION_INTERVAL_MS: '0' });
  t.deepEqual([zeros.RETENTION_DAYS_READ, zeros.RETENTION_DAYS_UNREAD, zeros.RETENTION_DAYS_DELIVERIES, zeros.RETENTION_DAYS_PROCESSED_EVENTS, zeros.RETENTION_INTERVAL_MS], [0, 0, 0, 0, 0]);

  const bad: [Record<string, string>, string, RegExp][] = [
    [{ RETENTION_DAYS_READ: '-1' }, 'RETENTION_DAYS_READ', /whole number of days/],
    [{ RETENTION_DAYS_DELIVERIES: '1.5' }, 'RETENTION_DAYS_DELIVERIES', /whole number of days/],
    // blank would otherwise coerce to 0 and switch deletion off
    [{ RETENTION_DAYS_UNREAD: ' ' }, 'RETENTION_DAYS_UNREAD', /whole number of days/],
    [{ RETENTION_DAYS_READ: '99999' }, 'RETENTION_DAYS_READ', /at most 36500/],
    [{ RETENTION_DAYS_PROCESSED_EVENTS: '7' }, 'RETENTION_DAYS_PROCESSED_EVENTS', /at least 14 days/],
    [{ RETENTION_DAYS_PROCESSED_EVENTS: 'two weeks' }, 'RETENTION_DAYS_PROCESSED_EVENTS', /whole number of days/],
    [{ RETENTION_DAYS_UNREAD: '30' }, 'RETENTION_DAYS_UNREAD', /not be shorter than RETENTION_DAYS_READ/],
    [{ RETENTION_DAYS_READ: '0' }, 'RETENTION_DAYS_UNREAD', /not be shorter than RETENTION_DAYS_READ/],
    [{ RETENTION_INTERVAL_MS: '3000000000' }, 'RETENTION_INTERVAL_MS', /at most 2147483647/],
    [{ RETENTION_INTERVAL_MS: 'hourly' }, 'RETENTION_INTERVAL_MS', /whole number of milliseconds/],
    [{ RETENTION_BATCH_SIZE: '0' }, 'RETENTION_BATCH_SIZE', /./],
    [{ RETENTION_BATCH_SIZE: '100000' }, 'RETENTION_BATCH_SIZE', /./],
    [{ PROCESSED_EVENTS_RETENTION_DAYS: '14' }, 'PROCESSED_EVENTS_RETENTION_DAYS', /renamed RETENTION_DAYS_PROCESSED_EVENTS/],
  ];
  for (const [env, key, message] of bad) {
    const err = t.throws(() => loadNotificationConfig({ INTERNAL_AUTH_SECRET: SECRET, ...env }), { instanceOf: ConfigError }, JSON.stringify(env));
    t.deepEqual(err?.issues.map((i) => i.key), [key], JSON.stringify(env));
    t.regex(err?.issues[0]?.message ?? '', message, JSON.stringify(env));
  }
});
