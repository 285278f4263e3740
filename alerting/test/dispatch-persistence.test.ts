// Restart and failover: the groups' timers, the nflog, silences and acks live in Postgres, so a new
// dispatcher (same replica restarted, or another replica taking the lease) neither repeats nor loses.
import test from 'ava';
import { freshSchema, waitFor } from '@lantern/testkit';
import { amConfig, recorder, startEngine, type Call, type Engine } from './support/engine.js';
import { ManualClock } from './support/manual-clock.js';
import { T0, summary, toPostable } from './support/scenario.js';

const yaml = amConfig({ wait: '1s', interval: '2s', repeat: '1h', groupBy: [] });

test('restart mid-group: no duplicate before repeat_interval, no loss of an alert posted while down; a silence survives', async (t) => {
  const schema = await freshSchema('alerting_restart');
  const clock = new ManualClock(T0);
  const calls: Call[] = [];
  const integrations = { r: [recorder({ name: 'webhook[0]', calls, clock })] };
  let engine: Engine = await startEngine({ schema: schema.name, yaml, clock, integrations, holder: 'first' });
  t.teardown(async () => {
    await engine.stop();
    await schema.drop();
  });
  clock.settle = () => engine.dispatcher.idle();
  await clock.to(1);
  await engine.stores.alerts.put([toPostable({ labels: { alertname: 'A', id: 'a1' } }), toPostable({ labels: { alertname: 'A', id: 'muted' } })], clock.now());
  await engine.stores.silences.upsert(
    { matchers: [{ name: 'id', value: 'muted', isRegex: false, isEqual: true }], startsAt: clock.now(), endsAt: new Date(T0.getTime() + 3600_000), createdBy: 't', comment: 'c' },
    clock.now(),
  );
  await clock.to(2.5);
  t.deepEqual(summary(calls), ['2: a1']);

  await engine.stop(); // releases the lease: a clean restart
  // While no dispatcher runs, an alert arrives (through another replica's API, say).
  await clock.to(3);
  const other = await startEngine({ schema: schema.name, yaml, clock, integrations: {}, holder: 'api-only' });
  await other.dispatcher.stop();
  await other.stores.alerts.put([toPostable({ labels: { alertname: 'A', id: 'a2' } })], clock.now());
  await other.stop();

  await clock.to(5);
  engine = await startEngine({ schema: schema.name, yaml, clock, integrations, holder: 'second' });
  clock.settle = () => engine.dispatcher.idle();
  await clock.to(5);
  t.true(engine.dispatcher.isLeader());
  await clock.to(40);
  // The 4 s tick was missed while down: the new dispatcher flushes at once (5) with the new alert only
  // once; a1 is not repeated (nflog), the silence still holds, and the next ticks send nothing new.
  t.deepEqual(summary(calls), ['2: a1', '5: a1,a2']);
  t.deepEqual(engine.dispatcher.groupsView().map((g) => g.alerts.map((a) => a.labels.id).sort()), [['a1', 'a2', 'muted']]);
});

test('restart: the group timer resumes from the last flush instead of re-waiting group_wait', async (t) => {
  const schema = await freshSchema('alerting_resume');
  const clock = new ManualClock(T0);
  const calls: Call[] = [];
  const integrations = { r: [recorder({ name: 'webhook[0]', calls, clock })] };
  const cfg = amConfig({ wait: '30s', interval: '10s', repeat: '1h', groupBy: [] });
  let engine = await startEngine({ schema: schema.name, yaml: cfg, clock, integrations });
  t.teardown(async () => {
    await engine.stop();
    await schema.drop();
  });
  clock.settle = () => engine.dispatcher.idle();
  await clock.to(1);
  await engine.stores.alerts.put([toPostable({ labels: { alertname: 'B', id: 'b1' } })], clock.now());
  await clock.to(32);
  await engine.stop();
  engine = await startEngine({ schema: schema.name, yaml: cfg, clock, integrations });
  clock.settle = () => engine.dispatcher.idle();
  await clock.to(33);
  await engine.stores.alerts.put([toPostable({ labels: { alertname: 'B', id: 'b2' } })], clock.now());
  await clock.to(45);
  // ticks at 31, 41, … continue after the restart (not 33 + 30)
  t.deepEqual(summary(calls), ['31: b1', '41: b1,b2']);
  const [state] = await engine.stores.groups.list();
  t.deepEqual(state?.lastFlushAt, new Date(T0.getTime() + 41_000));
});

test('failover: only the leader notifies; after it dies the other takes over after the lease ttl with exactly one notification per event', async (t) => {
  const schema = await freshSchema('alerting_failover');
  const clock = new ManualClock(T0);
  const callsA: Call[] = [];
  const callsB: Call[] = [];
  const common = { schema: schema.name, yaml, clock, leaseTtlMs: 3000, leaseRenewMs: 1000 };
  const a = await startEngine({ ...common, holder: 'A', integrations: { r: [recorder({ name: 'webhook[0]', calls: callsA, clock })] } });
  clock.settle = () => a.dispatcher.idle();
  await clock.to(0);
  const b = await startEngine({ ...common, holder: 'B', integrations: { r: [recorder({ name: 'webhook[0]', calls: callsB, clock })] } });
  let live = [a, b];
  clock.settle = async () => {
    for (const e of live) await e.dispatcher.idle();
  };
  t.teardown(async () => {
    await a.stop({ crash: true });
    await b.stop();
    await schema.drop();
  });
  await clock.to(0.5);
  t.true(a.dispatcher.isLeader());
  t.false(b.dispatcher.isLeader());

  await clock.to(1);
  await a.stores.alerts.put([toPostable({ labels: { alertname: 'F', id: 'f1' } })], clock.now());
  await clock.to(2.5);
  // posted to B's store: A hears of it through NOTIFY
  await b.stores.alerts.put([toPostable({ labels: { alertname: 'F', id: 'f2' } })], clock.now());
  await waitFor(() => a.dispatcher.groupsView().some((g) => g.alerts.some((x) => x.labels.id === 'f2')), { what: 'A to hear of f2', timeoutMs: 10_000 });
  await clock.to(4.5);
  t.deepEqual(summary(callsA), ['2: f1', '4: f1,f2']);

  // A dies without releasing the lease (renewed at 4, so held until 7).
  await a.stop({ crash: true });
  live = [b];
  await clock.to(5);
  await b.stores.alerts.put([toPostable({ labels: { alertname: 'F', id: 'f3' } })], clock.now());
  await clock.to(6.5);
  t.false(b.dispatcher.isLeader(), 'B waits for the lease to expire');
  await clock.to(7.5);
  t.true(b.dispatcher.isLeader(), 'B leads once the lease expired');
  await b.stores.alerts.put([toPostable({ labels: { alertname: 'F', id: 'f1' }, startsAt: 1, endsAt: 8 })], clock.now());
  await clock.to(8.5);
  await clock.to(20);
  // B resumes the group (its 6 s tick was due: flushed at 7 with f3, the one new event), then f1's resolve at the 9 s tick
  t.deepEqual(summary(callsA), ['2: f1', '4: f1,f2']);
  t.deepEqual(summary(callsB), ['7: f1,f2,f3', '9: f2,f3 | resolved f1']);
  t.regex(await b.registry.metrics(), /lantern_leader 1/);
  t.regex(await b.registry.metrics(), /alertmanager_dispatcher_aggregation_groups 1/);
});
