// The v2 API's shapes, field by field against api/v2/openapi.yaml's required fields, over real Postgres
// stores and the real route tree; plus the Prometheus rule endpoints and lifecycle routes.
import test from 'ava';
import { fetchJson, uniqueName } from '@lantern/testkit';
import type { PromRuleGroupView } from '../src/api/deps.js';
import { ConfigError } from '../src/model/errors.js';
import { fingerprint } from '../src/model/labels.js';
import { startApi } from './support/api-server.js';

const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function requireFields(t: { true(v: boolean, m?: string): void }, obj: Record<string, unknown>, fields: string[], what: string): void {
  for (const f of fields) t.true(Object.hasOwn(obj, f) && obj[f] !== null && obj[f] !== undefined, `${what}.${f} present`);
}

test('GET /status: cluster disabled with no peers, versionInfo all strings, config.original YAML, uptime', async (t) => {
  const s = await startApi('api_v2_status');
  t.teardown(() => s.close());
  const r = await fetchJson(`${s.url}/api/v2/status`);
  t.is(r.status, 200);
  t.regex(r.headers.get('content-type')!, /^application\/json/);
  requireFields(t, r.body, ['cluster', 'versionInfo', 'config', 'uptime'], 'status');
  t.deepEqual(r.body.cluster, { status: 'disabled', peers: [] });
  for (const f of ['version', 'revision', 'branch', 'buildUser', 'buildDate', 'goVersion']) t.is(typeof r.body.versionInfo[f], 'string', f);
  t.is(typeof r.body.config.original, 'string');
  t.regex(r.body.uptime, DATE);
  // not served: Grafana's data-source test would take a 200 here for Mimir
  const mimir = await fetchJson(`${s.url}/alertmanager/api/v2/status`);
  t.is(mimir.status, 404);
  t.regex(mimir.headers.get('content-type')!, /^application\/json/);
});

test('POST /alerts then GET /alerts: gettableAlert fields, receivers from the route tree, zero times unset', async (t) => {
  const s = await startApi('api_v2_alerts');
  t.teardown(() => s.close());
  const name = uniqueName('Shape');
  const labels = { alertname: name, team: 'payments', empty: '' };
  const post = await fetchJson(`${s.url}/api/v2/alerts`, {
    method: 'POST',
    body: [{ labels, annotations: { summary: 'slow' }, startsAt: '0001-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00.000Z', generatorURL: 'http://prom/graph' }],
  });
  t.is(post.status, 200);
  t.regex(post.headers.get('content-type')!, /^application\/json/);
  const r = await fetchJson(`${s.url}/api/v2/alerts?filter=${encodeURIComponent(`alertname="${name}"`)}`);
  t.is(r.status, 200);
  t.is(r.body.length, 1);
  const a = r.body[0];
  requireFields(t, a, ['labels', 'annotations', 'receivers', 'fingerprint', 'startsAt', 'updatedAt', 'endsAt', 'status'], 'alert');
  t.deepEqual(a.labels, { alertname: name, team: 'payments' }, 'empty label dropped');
  t.is(a.fingerprint, fingerprint({ alertname: name, team: 'payments' }));
  // the payments route matches (continue: true, but no later sibling matches), so the root's receiver is not added (AM Route.Match)
  t.deepEqual(a.receivers, [{ name: 'hooks' }]);
  t.deepEqual(a.status, { state: 'active', silencedBy: [], inhibitedBy: [], mutedBy: [] });
  for (const f of ['startsAt', 'updatedAt', 'endsAt']) t.regex(a[f], DATE, f);
  t.true(Date.parse(a.startsAt) > Date.parse('2000-01-01'), 'zero startsAt replaced by now');
  t.true(Date.parse(a.endsAt) > Date.now(), 'zero endsAt replaced by now + resolve_timeout');
  t.is(a.generatorURL, 'http://prom/graph');
  // receiver filter is an anchored regex
  t.is((await fetchJson(`${s.url}/api/v2/alerts?receiver=hook&filter=${encodeURIComponent(`alertname="${name}"`)}`)).body.length, 0);
  t.is((await fetchJson(`${s.url}/api/v2/alerts?receiver=hook.*&filter=${encodeURIComponent(`alertname="${name}"`)}`)).body.length, 1);
});

test('silences: POST returns {silenceID}; GET /silence/{id} and /silences shapes; silenced alert; update, 404s, DELETE 200 empty', async (t) => {
  const s = await startApi('api_v2_silences');
  t.teardown(() => s.close());
  const name = uniqueName('Sil');
  await fetchJson(`${s.url}/api/v2/alerts`, { method: 'POST', body: [{ labels: { alertname: name } }] });
  const now = Date.now();
  const body = {
    matchers: [{ name: 'alertname', value: name, isRegex: false, isEqual: true }],
    startsAt: new Date(now).toISOString(),
    endsAt: new Date(now + 3600_000).toISOString(),
    createdBy: 'alice',
    comment: 'maintenance',
  };
  const created = await fetchJson(`${s.url}/api/v2/silences`, { method: 'POST', body });
  t.is(created.status, 200);
  t.deepEqual(Object.keys(created.body), ['silenceID']);
  const id: string = created.body.silenceID;

  const one = await fetchJson(`${s.url}/api/v2/silence/${id}`);
  t.is(one.status, 200);
  requireFields(t, one.body, ['id', 'status', 'updatedAt', 'annotations', 'matchers', 'startsAt', 'endsAt', 'createdBy', 'comment'], 'silence');
  t.deepEqual(one.body.status, { state: 'active' });
  t.deepEqual(one.body.matchers, body.matchers);
  t.deepEqual(one.body.annotations, {});

  const list = await fetchJson(`${s.url}/api/v2/silences?filter=${encodeURIComponent(`alertname="${name}"`)}`);
  t.deepEqual(list.body.map((x: { id: string }) => x.id), [id]);
  t.is((await fetchJson(`${s.url}/api/v2/silences?active=false&filter=${encodeURIComponent(`alertname="${name}"`)}`)).body.length, 0);

  const alerts = await fetchJson(`${s.url}/api/v2/alerts?filter=${encodeURIComponent(`alertname="${name}"`)}`);
  t.deepEqual(alerts.body[0].status, { state: 'suppressed', silencedBy: [id], inhibitedBy: [], mutedBy: [] });
  t.is((await fetchJson(`${s.url}/api/v2/alerts?silenced=false&filter=${encodeURIComponent(`alertname="${name}"`)}`)).body.length, 0);

  // update in place (same matchers, active, same start): same id
  const upd = await fetchJson(`${s.url}/api/v2/silences`, { method: 'POST', body: { ...body, id, startsAt: one.body.startsAt, comment: 'longer', endsAt: new Date(now + 7200_000).toISOString() } });
  t.is(upd.status, 200);
  t.is(upd.body.silenceID, id);
  t.is((await s.stores.silences.get(id))?.comment, 'longer');

  const unknown = '00000000-0000-4000-8000-000000000000';
  const upd404 = await fetchJson(`${s.url}/api/v2/silences`, { method: 'POST', body: { ...body, id: unknown } });
  t.is(upd404.status, 404);
  t.is(typeof upd404.body, 'string');
  t.is((await fetchJson(`${s.url}/api/v2/silence/${unknown}`)).status, 404);
  t.is((await fetchJson(`${s.url}/api/v2/silence/not-a-uuid`)).status, 404);
  t.is((await fetchJson(`${s.url}/api/v2/silence/${unknown}`, { method: 'DELETE' })).status, 404);

  const del = await fetch(`${s.url}/api/v2/silence/${id}`, { method: 'DELETE' });
  t.is(del.status, 200);
  t.is(await del.text(), '');
  t.regex(del.headers.get('content-type')!, /^application\/json/);
  t.deepEqual((await fetchJson(`${s.url}/api/v2/silence/${id}`)).body.status, { state: 'expired' });
});

test('GET /alerts/groups without a dispatcher and with one; GET /receivers', async (t) => {
  const name = uniqueName('Grp');
  const s = await startApi('api_v2_groups');
  t.teardown(() => s.close());
  await fetchJson(`${s.url}/api/v2/alerts`, { method: 'POST', body: [{ labels: { alertname: name } }] });
  const g = await fetchJson(`${s.url}/api/v2/alerts/groups`);
  t.is(g.status, 200);
  const mine = g.body.filter((x: { alerts: { labels: { alertname: string } }[] }) => x.alerts.some((a) => a.labels.alertname === name));
  t.is(mine.length, 1);
  requireFields(t, mine[0], ['labels', 'routeLabels', 'receiver', 'alerts'], 'group');
  t.deepEqual(mine[0].receiver, { name: 'oncall' });

  const alert = (await s.stores.alerts.list()).find((a) => a.labels.alertname === name)!;
  const withDispatcher = await startApi('api_v2_groups_d', {
    stores: s.stores,
    dispatcher: () => ({
      groups: () => [{ groupKey: `{}:{alertname="${name}"}`, labels: { alertname: name }, routeLabels: {}, receiver: 'oncall', alerts: [alert] }],
      status: () => ({ inhibitedBy: ['f00dfeedf00dfeed'] }),
    }),
  });
  t.teardown(() => withDispatcher.close());
  const gd = await fetchJson(`${withDispatcher.url}/api/v2/alerts/groups`);
  t.deepEqual(gd.body[0].labels, { alertname: name });
  t.deepEqual(gd.body[0].alerts[0].status, { state: 'suppressed', silencedBy: [], inhibitedBy: ['f00dfeedf00dfeed'], mutedBy: [] });
  t.is((await fetchJson(`${withDispatcher.url}/api/v2/alerts/groups?inhibited=false`)).body.length, 0);

  const rc = await fetchJson(`${s.url}/api/v2/receivers`);
  t.deepEqual(rc.body.map((r: { name: string }) => r.name), ['oncall', 'hooks', 'managers']);
});

test('Prometheus /api/v1/rules and /api/v1/alerts from the rule manager; /-/healthy, /-/ready, /-/reload, /metrics', async (t) => {
  const groups: PromRuleGroupView[] = [
    {
      name: 'checkout',
      file: 'rules.yml',
      rules: [
        { name: 'HighLatency', type: 'alerting', health: 'ok', state: 'firing', alerts: [{ labels: { alertname: 'HighLatency' }, annotations: {}, state: 'firing', activeAt: '2030-01-01T00:00:00Z', value: '1.2e+00' }] },
        { name: 'job:rate5m', type: 'recording', health: 'err', lastError: 'bad query' },
      ],
    },
  ];
  let reloads = 0;
  let failReload = false;
  const s = await startApi('api_v2_prom', {
    rules: { listGroups: () => groups },
    reload: async () => {
      if (failReload) throw new ConfigError('route.receiver', 'undefined receiver "x"', 'alertmanager.yml');
      reloads++;
    },
  });
  t.teardown(() => s.close());
  const rules = await fetchJson(`${s.url}/api/v1/rules`);
  t.is(rules.body.status, 'success');
  t.deepEqual(rules.body.data.groups, groups);
  t.deepEqual((await fetchJson(`${s.url}/api/v1/rules?type=record`)).body.data.groups[0].rules.map((r: { name: string }) => r.name), ['job:rate5m']);
  t.is((await fetchJson(`${s.url}/api/v1/rules?type=bogus`)).status, 400);
  const alerts = await fetchJson(`${s.url}/api/v1/alerts`);
  t.deepEqual(alerts.body.data.alerts.map((a: { labels: { alertname: string } }) => a.labels.alertname), ['HighLatency']);

  t.is((await fetch(`${s.url}/-/healthy`)).status, 200);
  t.is((await fetch(`${s.url}/-/ready`)).status, 200);
  t.is((await fetch(`${s.url}/-/reload`, { method: 'POST' })).status, 200);
  t.is(reloads, 1);
  failReload = true;
  const bad = await fetchJson(`${s.url}/-/reload`, { method: 'POST' });
  t.is(bad.status, 400);
  t.regex(bad.body, /alertmanager\.yml: route\.receiver/);
  t.is((await fetchJson(`${s.url}/-/reload`)).status, 405);

  await fetchJson(`${s.url}/api/v2/alerts`, { method: 'POST', body: [{ labels: { alertname: 'M' } }] });
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  t.regex(metrics, /alertmanager_alerts_received_total\{status="firing"\} 1/);
  t.regex(metrics, /alertmanager_http_request_duration_seconds_count\{handler="\/api\/v2\/alerts",method="POST",code="200"\} 1/);
});
