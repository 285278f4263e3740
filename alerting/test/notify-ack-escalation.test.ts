// Acknowledgements stop repeats until a new alert fires; escalation steps notify further receivers while a
// critical group stays firing and unacknowledged, once per step.
import test from 'ava';
import { amConfig, recorder } from './support/engine.js';
import { scenario, summary } from './support/scenario.js';

test('an acknowledged group sends no repeats; a new firing alert clears the ack and repeats resume', async (t) => {
  const s = await scenario(t, amConfig({ wait: '1s', interval: '1s', repeat: '2s', groupBy: [] }));
  await s.clock.to(1);
  await s.post([{ labels: { alertname: 'A', id: 'a1' } }]);
  await s.clock.to(3.5);
  const key = s.calls[0]!.ctx.groupKey;
  await s.engine.stores.acks.ack(key, 'ann', s.clock.now());
  await s.clock.to(6.5);
  await s.post([{ labels: { alertname: 'A', id: 'a2' } }]);
  await s.clock.to(10.5);
  // repeats at 5 (2 + 2 s, quantised) … held back at 5 and 6 by the ack; a2 at 7; repeats again from 10
  t.deepEqual(summary(s.calls), ['2: a1', '7: a1,a2', '10: a1,a2']);
  t.is(await s.engine.stores.acks.get(key), undefined, 'the new alert ended the acknowledgement');
});

test('an acknowledgement ends when its group resolves; the resolve is still sent', async (t) => {
  const s = await scenario(t, amConfig({ wait: '1s', interval: '1s', repeat: '1h', groupBy: [] }));
  await s.clock.to(1);
  await s.post([{ labels: { alertname: 'B', id: 'b1' } }]);
  await s.clock.to(2.5);
  const key = s.calls[0]!.ctx.groupKey;
  await s.engine.stores.acks.ack(key, 'ann', s.clock.now());
  await s.post([{ labels: { alertname: 'B', id: 'b1' }, startsAt: 1, endsAt: 2.5 }]);
  await s.clock.to(5);
  t.deepEqual(summary(s.calls), ['2: b1', '3: resolved b1']);
  t.is(s.calls[1]!.ctx.acknowledgedBy, 'ann', 'the resolved notice says who acknowledged');
  t.is(await s.engine.stores.acks.get(key), undefined);
});

const escalationYaml = amConfig({
  wait: '1s',
  interval: '1s',
  repeat: '1h',
  receivers: ['lead', 'manager'],
  route: `  escalation:
    - { after: 5s, receiver: lead }
    - { after: 20s, receiver: manager }`,
});
const escalationIntegrations = (calls: Parameters<typeof recorder>[0]['calls'], clock: Parameters<typeof recorder>[0]['clock']) => ({
  r: [recorder({ name: 'webhook[0]', calls, clock })],
  lead: [recorder({ name: 'lead', calls, clock })],
  manager: [recorder({ name: 'manager', calls, clock })],
});

test('escalation: a critical group unacknowledged for `after` notifies each step once, then the resolve reaches them', async (t) => {
  const s = await scenario(t, escalationYaml, escalationIntegrations);
  await s.clock.to(1);
  await s.post([{ labels: { alertname: 'Down', severity: 'critical', id: 'c1' } }]);
  await s.clock.to(30);
  await s.post([{ labels: { alertname: 'Down', severity: 'critical', id: 'c1' }, startsAt: 1, endsAt: 30 }]);
  await s.clock.to(40);
  t.deepEqual(summary(s.calls), ['2: c1', '7 lead L1: c1', '22 manager L2: c1', '31: resolved c1', '31 lead L1: resolved c1', '31 manager L2: resolved c1']);
});

test('escalation: not when the group was acknowledged, nor for a non-critical group', async (t) => {
  const s = await scenario(t, escalationYaml, escalationIntegrations);
  await s.clock.to(1);
  await s.post([{ labels: { alertname: 'Down', severity: 'critical', id: 'acked' } }, { labels: { alertname: 'Slow', severity: 'warning', id: 'warn' } }]);
  await s.clock.to(4);
  const acked = s.calls.find((c) => c.firing.includes('acked'))!.ctx.groupKey;
  await s.engine.stores.acks.ack(acked, 'ann', s.clock.now());
  await s.clock.to(60);
  t.deepEqual(summary(s.calls).sort(), ['2: acked', '2: warn']);
});

test('escalation survives a restart: the step already taken is not repeated, the next one still comes', async (t) => {
  const s = await scenario(t, escalationYaml, escalationIntegrations);
  await s.clock.to(1);
  await s.post([{ labels: { alertname: 'Down', severity: 'critical', id: 'c1' } }]);
  await s.clock.to(10);
  await s.engine.dispatcher.stop();
  s.engine.dispatcher.start();
  await s.clock.to(30);
  t.deepEqual(summary(s.calls), ['2: c1', '7 lead L1: c1', '22 manager L2: c1']);
});

test('notification context: common labels and annotations, links, evidence, escalation level', async (t) => {
  const s = await scenario(t, amConfig({ wait: '1s', interval: '1s', repeat: '1h', groupBy: ['alertname'] }));
  await s.clock.to(1);
  await s.post([
    { labels: { alertname: 'C', env: 'prod', id: 'c1' }, annotations: { summary: 'same', description: 'one' } },
    { labels: { alertname: 'C', env: 'prod', id: 'c2' }, annotations: { summary: 'same', description: 'two' } },
  ]);
  await s.clock.to(3);
  const ctx = s.calls[0]!.ctx;
  t.deepEqual(ctx.groupLabels, { alertname: 'C' });
  t.deepEqual(ctx.commonLabels, { alertname: 'C', env: 'prod' });
  t.deepEqual(ctx.commonAnnotations, { summary: 'same' });
  t.is(ctx.groupKey, '{}:{alertname="C"}');
  t.is(ctx.status, 'firing');
  t.is(ctx.receiver, 'r');
  t.is(ctx.externalURL, 'http://lantern.test');
  t.truthy(ctx.links.ack);
  t.regex(ctx.links.group, /groups/);
  t.deepEqual(ctx.evidence, { traces: [], logs: [], notes: [] });
  t.is(ctx.escalationLevel, 0);
});
