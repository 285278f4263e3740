// Alertmanager's timer semantics (notes/alerting.md §3, after its acceptance tests), on a manual clock:
// times below are virtual seconds, exact because nothing but the test moves the clock.
import test from 'ava';
import { amConfig, recorder } from './support/engine.js';
import { scenario, summary } from './support/scenario.js';

test('group_wait batches alerts; later alerts wait for the next group_interval tick; repeat_interval is quantised to the tick', async (t) => {
  // TestBatching: wait 1s, interval 1s, repeat 4.9s.
  const s = await scenario(t, amConfig({ wait: '1s', interval: '1s', repeat: '4900ms', groupBy: [] }));
  await s.clock.to(1.1);
  await s.post([{ labels: { alertname: 'A', id: 'a1' } }]);
  await s.clock.to(1.7);
  await s.post([{ labels: { alertname: 'A', id: 'a2' } }]);
  await s.clock.to(3.3);
  await s.post([{ labels: { alertname: 'A', id: 'a3' } }]);
  await s.clock.to(12);
  // first flush at 1.1 + 1 with both; a3 at the 4.1 tick; the repeat (4.9 s after 4.1) only at the 9.1 tick
  t.deepEqual(summary(s.calls), ['2.1: a1,a2', '4.1: a1,a2,a3', '9.1: a1,a2,a3']);
});

test('an alert whose startsAt + group_wait has passed is flushed at once', async (t) => {
  const s = await scenario(t, amConfig({ wait: '30s', interval: '5m', repeat: '4h' }));
  await s.clock.to(100);
  await s.post([{ labels: { alertname: 'Old', id: 'old' }, startsAt: 10 }]);
  await s.clock.to(101);
  t.deepEqual(summary(s.calls), ['100: old']);
});

test('repeat_interval below group_interval behaves as group_interval', async (t) => {
  const s = await scenario(t, amConfig({ wait: '1s', interval: '2s', repeat: '1s' }));
  await s.clock.to(1);
  await s.post([{ labels: { alertname: 'R', id: 'r' } }]);
  await s.clock.to(8);
  t.deepEqual(summary(s.calls), ['2: r', '4: r', '6: r', '8: r']);
});

test('resolve via resolve_timeout: firing, then the resolved notification at the first tick after endsAt; the group then ends', async (t) => {
  // TestResolved: resolve_timeout 10s, wait 1s, interval 5s.
  const s = await scenario(t, amConfig({ wait: '1s', interval: '5s', repeat: '1h', resolveTimeout: '10s' }));
  await s.clock.to(1);
  await s.post([{ labels: { alertname: 'T', id: 't' } }]);
  await s.clock.to(30);
  t.deepEqual(summary(s.calls), ['2: t', '12: resolved t']);
  t.is(s.calls[1]!.status, 'resolved');
  t.is(s.calls[1]!.ctx.links.ack, undefined, 'no ack link on a resolved notification');
  t.deepEqual(s.engine.dispatcher.groupsView(), [], 'the group is gone once its resolved alerts were sent');
  t.is(await s.engine.stores.groups.get(s.calls[0]!.ctx.groupKey), undefined, 'and so is its persisted state');
});

test('send_resolved split per integration; the one without it records resolved alerts in the nflog', async (t) => {
  // TestResolvedFilter: wait 1s, interval 5s.
  const s = await scenario(t, amConfig({ wait: '1s', interval: '5s', repeat: '1h' }), (calls, clock) => ({
    r: [recorder({ name: 'webhook[0]', calls, clock, sendResolved: true }), recorder({ name: 'webhook[1]', calls, clock, sendResolved: false })],
  }));
  await s.clock.to(1);
  await s.post([{ labels: { alertname: 'F', id: 'f1' }, endsAt: 100 }, { labels: { alertname: 'F', id: 'f2' }, endsAt: 100 }]);
  await s.clock.to(5);
  await s.post([{ labels: { alertname: 'F', id: 'f1' }, startsAt: 1, endsAt: 5 }]);
  await s.clock.to(10);
  await s.post([{ labels: { alertname: 'F', id: 'f2' }, startsAt: 1, endsAt: 10 }]);
  await s.clock.to(20);
  // f1 was dropped from the group after the 7 s flush sent it resolved, so the last flush carries f2 only;
  // webhook[1] gets nothing after 2 but its nflog records the all-resolved flush (AM RetryStage)
  t.deepEqual(summary(s.calls).sort(), ['12: resolved f2', '2 webhook[1]: f1,f2', '2: f1,f2', '7: f2 | resolved f1'].sort());
  const quiet = await s.engine.stores.nflog.get(s.calls[0]!.ctx.groupKey, 'r', 'webhook[1]');
  const f2 = s.calls[0]!.ctx.alerts.find((a) => a.labels.id === 'f2')!.fingerprint;
  t.deepEqual(quiet && { firing: quiet.firing, resolved: quiet.resolved, at: quiet.sentAt.toISOString() }, { firing: [], resolved: [f2], at: '2030-01-01T00:00:12.000Z' });
});

test('an alert that fires and resolves between ticks, never notified, sends nothing', async (t) => {
  const s = await scenario(t, amConfig({ wait: '1s', interval: '5s', repeat: '1h' }));
  await s.clock.to(1);
  await s.post([{ labels: { alertname: 'G', id: 'g1' } }]);
  await s.clock.to(3);
  // its own group: new at 3, flushed at 4 when it has already resolved
  await s.post([{ labels: { alertname: 'H', id: 'g2' }, endsAt: 4 }]);
  await s.clock.to(20);
  t.deepEqual(summary(s.calls), ['2: g1']);
  t.deepEqual(s.engine.dispatcher.groupsView().map((g) => g.labels), [{ alertname: 'G' }]);
});

test('inhibition needs a firing source; the target returns when the source resolves', async (t) => {
  // TestInhibiting: JobDown inhibits InstanceDown with the same job.
  const yaml = amConfig({
    wait: '1s',
    interval: '1s',
    repeat: '1h',
    groupBy: ['job'],
    extra: `inhibit_rules:
  - source_matchers: [alertname="JobDown"]
    target_matchers: [alertname="InstanceDown"]
    equal: [job]`,
  });
  const s = await scenario(t, yaml);
  await s.clock.to(1);
  await s.post([{ labels: { alertname: 'InstanceDown', job: 'x', id: 'i1' } }]);
  await s.clock.to(2.2);
  await s.post([{ labels: { alertname: 'JobDown', job: 'x', id: 'job' } }, { labels: { alertname: 'InstanceDown', job: 'x', id: 'i2' } }]);
  await s.clock.to(3.6);
  await s.post([{ labels: { alertname: 'JobDown', job: 'x', id: 'job' }, startsAt: 2.2, endsAt: 3.6 }]);
  await s.clock.to(6);
  t.deepEqual(summary(s.calls), ['2: i1', '3: job', '4: i1,i2 | resolved job']);
  t.deepEqual(s.engine.dispatcher.status((await s.engine.stores.alerts.list()).find((a) => a.labels.id === 'i2')!)?.inhibitedBy, []);
});

test('silences apply at each flush; an expired silence stops applying at the next tick', async (t) => {
  // TestSilencing / TestSilenceDelete: repeat below the interval, so every tick sends.
  const s = await scenario(t, amConfig({ wait: '1s', interval: '1s', repeat: '1ms', groupBy: [] }));
  await s.clock.to(1);
  await s.post([{ labels: { alertname: 'S', id: 'test1' } }, { labels: { alertname: 'S', id: 'test2' } }]);
  await s.clock.to(2.5);
  const m = { name: 'id', value: 'test1', isRegex: false, isEqual: true };
  await s.engine.stores.silences.upsert({ matchers: [m], startsAt: s.clock.now(), endsAt: new Date(s.clock.now().getTime() + 2000), createdBy: 't', comment: 'c' }, s.clock.now());
  await s.clock.to(5.5);
  const id = await s.engine.stores.silences.upsert({ matchers: [m], startsAt: s.clock.now(), endsAt: new Date(s.clock.now().getTime() + 60_000), createdBy: 't', comment: 'c' }, s.clock.now());
  await s.clock.to(7.5);
  await s.engine.stores.silences.expire(id, s.clock.now());
  await s.clock.to(8);
  t.deepEqual(summary(s.calls), ['2: test1,test2', '3: test2', '4: test2', '5: test1,test2', '6: test2', '7: test2', '8: test1,test2']);
});

test('mute_time_intervals mute every flush inside the interval; active_time_intervals send only inside', async (t) => {
  const yaml = amConfig({
    wait: '10s',
    interval: '10s',
    repeat: '1h',
    route: `  routes:
    - matchers: [team="night"]
      mute_time_intervals: [first-minute]
    - matchers: [team="day"]
      active_time_intervals: [second-minute]`,
    extra: `time_intervals:
  - name: first-minute
    time_intervals: [{ times: [{ start_time: "00:00", end_time: "00:01" }] }]
  - name: second-minute
    time_intervals: [{ times: [{ start_time: "00:01", end_time: "00:02" }] }]`,
  });
  const s = await scenario(t, yaml);
  await s.clock.to(1);
  await s.post([{ labels: { alertname: 'M', team: 'night', id: 'night' } }, { labels: { alertname: 'N', team: 'day', id: 'day' } }]);
  await s.clock.to(130);
  // night: muted at 11..51, first sent at 61; day: muted until the 61 tick, sent then, then repeat 1h
  t.deepEqual(summary(s.calls).sort(), ['61: day', '61: night'].sort());
  const day = (await s.engine.stores.alerts.list()).find((a) => a.labels.id === 'day')!;
  t.deepEqual(s.engine.dispatcher.status(day)?.mutedBy, ['second-minute'], 'outside second-minute at 121 the day route is muted again');
});

test('retry: a failing integration backs off and recovers within the interval, without holding back its sibling', async (t) => {
  const attempts: number[] = [];
  const s = await scenario(t, amConfig({ wait: '2s', interval: '2s', repeat: '3s' }), (calls, clock) => ({
    // failing until 2.5 s: with the 500 ms × 1.5 backoff jittered ±50 %, the 2nd or 3rd attempt (2.5–3.625 s)
    // succeeds whatever the jitter, before the 4 s deadline (failing until 3 s made the outcome random)
    r: [recorder({ name: 'webhook[0]', calls, clock }), recorder({ name: 'webhook[1]', calls, clock, failUntil: 2.5, attempts })],
  }));
  await s.post([{ labels: { alertname: 'X', id: 'x' } }]);
  await s.clock.to(7);
  const good = s.calls.filter((c) => c.integration === 'webhook[0]').map((c) => c.at);
  const flaky = s.calls.filter((c) => c.integration === 'webhook[1]').map((c) => c.at);
  // TestRetry: the good one at 2 and (repeat 3s quantised to the 2s interval) 6
  t.deepEqual(good, [2, 6]);
  t.is(flaky.length, 2, `flaky: ${JSON.stringify(flaky)}`);
  t.true(flaky[0]! >= 2.5 && flaky[0]! < 4, 'the flaky one succeeds by retrying before the next tick');
  t.true(attempts.length >= 2 && attempts[0] === 2, 'it failed at the 2 s flush and was attempted again');
  t.is(flaky[1], 6, 'its nflog entry is from the 2 s flush, so it repeats with its sibling');
  const metrics = await s.engine.registry.metrics();
  t.regex(metrics, /alertmanager_notifications_total\{integration="webhook"\} 4/);
});

test('retry: an integration failing for the whole interval is counted failed and tried again at the next tick', async (t) => {
  const s = await scenario(t, amConfig({ wait: '2s', interval: '2s', repeat: '1h' }), (calls, clock) => ({
    // webhook[0] fails until 4.5 s: every attempt of the 2 s flush fails (they end at the 4 s deadline), and from
    // the 4 s tick the 2nd or 3rd attempt (4.5–5.625 s) succeeds whatever the jitter
    r: [recorder({ name: 'webhook[0]', calls, clock, failUntil: 4.5 }), recorder({ name: 'webhook[1]', calls, clock, failUntil: 3, permanentFailure: true })],
  }));
  await s.post([{ labels: { alertname: 'Y', id: 'y' } }]);
  await s.clock.to(9);
  // webhook[0]: retries from 2 until the 4 deadline, then again from the 4 tick until it recovers
  // webhook[1]: permanent failure at 2 (no retry), sent at the 4 tick
  const by = (n: string): number[] => s.calls.filter((c) => c.integration === n).map((c) => c.at);
  t.is(by('webhook[0]').length, 1);
  t.true(by('webhook[0]')[0]! >= 4.5 && by('webhook[0]')[0]! < 6);
  t.deepEqual(by('webhook[1]'), [4]);
  const metrics = await s.engine.registry.metrics();
  t.regex(metrics, /alertmanager_notifications_failed_total\{integration="webhook",reason="serverError"\} 1/);
  t.regex(metrics, /alertmanager_notifications_failed_total\{integration="webhook",reason="clientError"\} 1/);
});
