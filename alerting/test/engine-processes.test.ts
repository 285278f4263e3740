// The engine as real processes (node --import tsx/esm src/main.ts, configured by environment) sharing one
// Postgres schema: a failover between two replicas after SIGKILL of the leader, and a SIGTERM restart in
// the middle of a group's life. The Slack stand-in counts messages: none lost, none duplicated.
import test from 'ava';
import pg from 'pg';
import { freshSchema, infra, uniqueName, waitFor } from '@lantern/testkit';
import {
  about,
  EMPTY_RULES,
  engineEnv,
  firingOf,
  isLeader,
  metricValue,
  postAlerts,
  resolvedOf,
  slackAmConfig,
  slackStandIn,
  spawnEngine,
  tempDir,
  writeTemp,
  type EngineProcess,
} from './support/engine-e2e.js';

async function setup(prefix: string) {
  const slack = await slackStandIn();
  const schema = await freshSchema(prefix);
  const dir = await tempDir(prefix);
  const amFile = await writeTemp(dir, 'alertmanager.yml', slackAmConfig({ slackUrl: slack.url, wait: '1s', interval: '2s', repeat: '1h' }));
  const rulesFile = await writeTemp(dir, 'rules.yml', EMPTY_RULES);
  return { slack, schema, amFile, rulesFile };
}

/** Rows in the engine's notification log (what was last sent per group, receiver and integration). */
async function nflogEntries(schema: string): Promise<number> {
  const client = new pg.Client({ connectionString: infra.databaseUrl });
  await client.connect();
  try {
    // the schema name comes from testkit's uniqueName ([a-z0-9_]): an identifier, not a bound parameter
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".nflog`);
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** Kills what is still running at the end of a test (SIGKILL: teardown must not hang on a stuck process). */
function reap(procs: EngineProcess[]): () => Promise<void> {
  return async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
  };
}

test('two replicas: A leads and notifies once; after SIGKILL of A, B takes over and sends the resolve once; no duplicates', async (t) => {
  const { slack, schema, amFile, rulesFile } = await setup('engine_e2e_ha');
  const procs: EngineProcess[] = [];
  t.teardown(async () => {
    await reap(procs)();
    await slack.close();
    await schema.drop();
  });
  const a = await spawnEngine(engineEnv({ schema: schema.name, amFile, rulesFile, replica: 'replica-a', leaseTtl: '3s' }));
  procs.push(a);
  await waitFor(() => isLeader(a.url), { what: 'A to lead', timeoutMs: 30_000 });
  const b = await spawnEngine(engineEnv({ schema: schema.name, amFile, rulesFile, replica: 'replica-b', leaseTtl: '3s' }));
  procs.push(b);
  // B is up and answering, but not the leader
  t.is(await metricValue(b.url, 'lantern_leader'), 0);

  const name = `Failover_${uniqueName('ha')}`;
  const labels = { alertname: name, service: 'checkout', severity: 'critical' };
  await postAlerts(b.url, [{ labels, annotations: { summary: 'posted to B, sent by A' } }]);
  await waitFor(() => firingOf(about(slack.messages(), name)).length === 1, { what: 'the firing message (from A)', timeoutMs: 60_000 });
  t.false(await isLeader(b.url), 'B did not send it');
  // A records the send in the notification log right after Slack answers; a crash inside that window is
  // the documented at-least-once case (B would send it again), so the kill waits until the entry exists
  await waitFor(async () => (await nflogEntries(schema.name)) >= 1, { what: "A's notification-log entry", timeoutMs: 30_000 });

  a.child.kill('SIGKILL');
  await a.exited;
  await waitFor(() => isLeader(b.url), { what: 'B to take the lease after the ttl', timeoutMs: 60_000 });
  // B rebuilt the group from the store; its first tick must not repeat what A sent
  await waitFor(async () => (await metricValue(b.url, 'alertmanager_dispatcher_aggregation_groups')) === 1, { what: 'B to hold the group', timeoutMs: 30_000 });

  await postAlerts(b.url, [{ labels, annotations: { summary: 'posted to B, sent by A' }, endsAt: new Date().toISOString() }]);
  await waitFor(() => resolvedOf(about(slack.messages(), name)).length >= 1, { what: 'the resolved message (from B)', timeoutMs: 60_000 });
  // once the resolve is flushed the group is removed: nothing more can be sent for it
  await waitFor(async () => (await metricValue(b.url, 'alertmanager_dispatcher_aggregation_groups')) === 0, { what: 'B to drop the resolved group', timeoutMs: 30_000 });
  const all = about(slack.messages(), name);
  t.is(firingOf(all).length, 1, 'one firing message overall');
  t.is(resolvedOf(all).length, 1, 'one resolved message overall');
  t.is(all.length, 2);
  t.regex(b.output(), /took the dispatcher lease/);
});

test('SIGTERM between group_wait and the first repeat, then a restart on the same schema: no duplicate; an alert posted just before the stop is notified', async (t) => {
  const { slack, schema, amFile, rulesFile } = await setup('engine_e2e_restart');
  const procs: EngineProcess[] = [];
  t.teardown(async () => {
    await reap(procs)();
    await slack.close();
    await schema.drop();
  });
  const env = engineEnv({ schema: schema.name, amFile, rulesFile, replica: 'restarting', leaseTtl: '3s' });
  const first = await spawnEngine(env);
  procs.push(first);
  await waitFor(() => isLeader(first.url), { what: 'the engine to lead', timeoutMs: 30_000 });

  const tag = uniqueName('rs');
  const g1 = `Notified_${tag}`;
  const g2 = `JustBeforeStop_${tag}`;
  const g3 = `AfterRestart_${tag}`;
  await postAlerts(first.url, [{ labels: { alertname: g1, severity: 'warning' } }]);
  await waitFor(() => about(slack.messages(), g1).length === 1, { what: 'the first notification of g1', timeoutMs: 60_000 });
  // g1 has flushed (group_wait over), its repeat is an hour away: post g2 and stop at once
  await postAlerts(first.url, [{ labels: { alertname: g2, severity: 'warning' } }]);
  first.child.kill('SIGTERM');
  t.is(await first.exited, 0, 'a clean shutdown');

  const second = await spawnEngine(env);
  procs.push(second);
  await waitFor(() => isLeader(second.url), { what: 'the restarted engine to lead', timeoutMs: 30_000 });
  await waitFor(() => about(slack.messages(), g2).length >= 1, { what: 'g2 notified after the restart', timeoutMs: 60_000 });
  // a later group goes through group_wait and a tick after g1's resumed tick: the engine has looked at g1 again
  await postAlerts(second.url, [{ labels: { alertname: g3, severity: 'warning' } }]);
  await waitFor(() => about(slack.messages(), g3).length >= 1, { what: 'g3 notified', timeoutMs: 60_000 });
  await waitFor(async () => (await metricValue(second.url, 'alertmanager_dispatcher_aggregation_groups')) === 3, { what: 'all three groups held', timeoutMs: 30_000 });
  // g1's resumed tick (due at once after the rebuild) came before g3's first flush (after group_wait)
  const notified = await metricValue(second.url, 'alertmanager_notifications_total');
  t.is(notified, 2, 'the restarted engine sent g2 and g3 only');
  t.is(about(slack.messages(), g1).length, 1, 'g1 not repeated after the restart');
  t.is(about(slack.messages(), g2).length, 1, 'g2 sent once');
  t.is(firingOf(about(slack.messages(), g3)).length, 1);
});
