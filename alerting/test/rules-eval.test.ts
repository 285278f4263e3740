// Rule evaluation against the real Prometheus: a loopback exporter's gauge drives rules with 1s intervals.
// Asserts Prometheus's semantics from what the sink receives, what listGroups() reports and what lands in
// Prometheus through remote write. No timing assertions: relations between evaluation timestamps only.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infra, promQuery, uniqueName, waitFor } from '@lantern/testkit';
import test from 'ava';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ConfigError, type PostableAlert, RuleManager, type RuleManagerOptions } from '../src/index.js';
import type { AlertSink } from '../src/model/stores.js';
import { type GaugeExporter, startGaugeExporter } from './support/gauge-exporter.js';

class CollectingSink implements AlertSink {
  readonly batches: { at: Date; alerts: PostableAlert[] }[] = [];
  async send(alerts: PostableAlert[]): Promise<void> {
    this.batches.push({ at: new Date(), alerts: structuredClone(alerts) });
  }
  all(): PostableAlert[] {
    return this.batches.flatMap((b) => b.alerts);
  }
}

let exporter: GaugeExporter;
let dir: string;
test.before(async () => {
  exporter = await startGaugeExporter();
  dir = await mkdtemp(join(tmpdir(), 'lantern-rules-eval-'));
});
test.after.always(async () => {
  await exporter?.close();
});

const silent = pino({ level: 'silent' });

async function manager(rules: string, extra: Partial<RuleManagerOptions> = {}): Promise<{ m: RuleManager; sink: CollectingSink; registry: Registry; file: string }> {
  const file = extra.files?.[0] ?? join(dir, `${uniqueName('rules')}.yml`);
  if (!extra.files) await writeFile(file, rules);
  const sink = new CollectingSink();
  const registry = new Registry();
  const m = new RuleManager({
    files: [file],
    prometheusUrl: infra.prometheusUrl,
    externalUrl: 'http://prometheus.example:9090',
    externalLabels: { cluster: 'test-eu1' },
    sink,
    logger: silent,
    registry,
    evaluationIntervalMs: 1000,
    ...extra,
  });
  await m.load();
  m.start();
  return { m, sink, registry, file };
}

function alertsOf(m: RuleManager, name: string) {
  return m.listGroups().flatMap((g) => g.rules).find((r) => r.name === name);
}

/** Waits until Prometheus has scraped the gauge at `value`, so rules see it. */
async function scraped(metric: string, value: number): Promise<void> {
  await waitFor(async () => (await promQuery(metric)).some((s) => Number(s.value[1]) === value), { timeoutMs: 60_000, what: `${metric} = ${value} scraped` });
}

test('pending → firing after `for`, Prometheus payload, ALERTS written, resolve sent with endsAt = ResolvedAt', async (t) => {
  const metric = uniqueName('rt_fire');
  const alert = `HighValue_${metric}`;
  exporter.set(metric, { shard: 'a' }, 10);
  await scraped(metric, 10);
  const { m, sink } = await manager(`groups:
  - name: g1
    interval: 1s
    rules:
      - alert: ${alert}
        expr: ${metric} > 5
        for: 3s
        labels:
          severity: page
          shard_upper: "{{ $labels.shard | toUpper }}"
        annotations:
          summary: "value {{ $value | humanize }} on {{ $labels.shard }} in {{ $externalLabels.cluster }}"
          link: "{{ $externalURL }}/alerts"
`);
  t.teardown(() => m.stop());
  const pending = await waitFor(() => alertsOf(m, alert)?.alerts?.find((a) => a.state === 'pending'), { what: 'pending' });
  t.is(sink.all().length, 0, 'nothing is sent while pending');
  const firing = await waitFor(() => sink.all().find((a) => a.endsAt! > a.startsAt!), { what: 'firing sent', timeoutMs: 30_000 });
  const activeAt = new Date(pending.activeAt).getTime();
  t.true(firing.startsAt!.getTime() - activeAt >= 3000, 'startsAt is FiredAt, at least `for` after ActiveAt');
  t.is(firing.endsAt!.getTime() - firing.startsAt!.getTime(), 4 * 60_000, 'endsAt = lastSent + 4 × max(interval, resend_delay)');
  t.deepEqual(Object.keys(firing.labels).sort(), ['alertname', 'cluster', 'instance', 'job', 'severity', 'shard', 'shard_upper'], 'series labels + rule labels + alertname + external labels');
  t.like(firing.labels, { alertname: alert, shard: 'a', severity: 'page', shard_upper: 'A', cluster: 'test-eu1' });
  t.deepEqual(firing.annotations, { summary: 'value 10 on a in test-eu1', link: 'http://prometheus.example:9090/alerts' });
  t.is(firing.generatorURL, `http://prometheus.example:9090/graph?g0.expr=${metric}+%3E+5&g0.tab=1`);
  t.is(alertsOf(m, alert)?.state, 'firing');
  t.is(alertsOf(m, alert)?.health, 'ok');

  const series = await waitFor(async () => {
    const r = await promQuery(`ALERTS{alertname="${alert}",alertstate="firing"}`);
    return r.length > 0 ? r : undefined;
  }, { what: 'ALERTS in Prometheus', timeoutMs: 30_000 });
  t.like(series[0]!.metric, { shard: 'a', severity: 'page', shard_upper: 'A' });
  const forState = await promQuery(`ALERTS_FOR_STATE{alertname="${alert}"}`);
  t.is(Number(forState[0]?.value[1]), Math.floor(activeAt / 1000), 'ALERTS_FOR_STATE = ActiveAt in seconds');

  exporter.set(metric, { shard: 'a' }, 1);
  const resolved = await waitFor(() => sink.all().find((a) => a.endsAt!.getTime() <= Date.now() && a.startsAt!.getTime() === firing.startsAt!.getTime() && a.endsAt! < new Date(firing.endsAt!)), { what: 'resolved sent', timeoutMs: 30_000 });
  t.true(resolved.endsAt!.getTime() > firing.startsAt!.getTime(), 'endsAt is ResolvedAt');
  t.is(alertsOf(m, alert)?.state, 'inactive');
  t.deepEqual(alertsOf(m, alert)?.alerts, [], 'the API lists no inactive alerts');
});

test('keep_firing_for keeps the alert firing after its series disappears, then resolves', async (t) => {
  const metric = uniqueName('rt_keep');
  const alert = `Keep_${metric}`;
  exporter.set(metric, {}, 1);
  await scraped(metric, 1);
  const { m, sink } = await manager(`groups:
  - name: keep
    interval: 1s
    rules:
      - alert: ${alert}
        expr: ${metric} > 0
        keep_firing_for: 4s
`);
  t.teardown(() => m.stop());
  await waitFor(() => sink.all().length > 0, { what: 'firing' });
  exporter.set(metric, {}, 0);
  const kept = await waitFor(() => alertsOf(m, alert)?.alerts?.find((a) => a.keepFiringSince), { what: 'keepFiringSince set', timeoutMs: 30_000 });
  t.is(kept.state, 'firing', 'still firing while the expression returns nothing');
  t.false(sink.all().some((a) => a.endsAt!.getTime() <= Date.now()), 'no resolve sent yet');
  const resolved = await waitFor(() => sink.all().find((a) => a.endsAt!.getTime() <= Date.now()), { what: 'resolved', timeoutMs: 30_000 });
  t.true(resolved.endsAt!.getTime() - new Date(kept.keepFiringSince!).getTime() >= 4000, 'resolved no earlier than keep_firing_for after KeepFiringSince');
});

test('a pending alert whose series disappears is deleted and nothing is ever sent', async (t) => {
  const metric = uniqueName('rt_pend');
  const alert = `Pend_${metric}`;
  exporter.set(metric, {}, 1);
  await scraped(metric, 1);
  const { m, sink } = await manager(`groups:
  - name: pend
    interval: 1s
    rules:
      - alert: ${alert}
        expr: ${metric} > 0
        for: 1h
`);
  t.teardown(() => m.stop());
  await waitFor(() => alertsOf(m, alert)?.alerts?.some((a) => a.state === 'pending'), { what: 'pending' });
  exporter.set(metric, {}, undefined);
  await waitFor(() => alertsOf(m, alert)?.alerts?.length === 0, { what: 'pending alert deleted', timeoutMs: 30_000 });
  // a few more evaluations: still nothing sent
  const evals = alertsOf(m, alert)!.lastEvaluation;
  await waitFor(() => alertsOf(m, alert)!.lastEvaluation > evals, { what: 'another evaluation' });
  t.is(sink.batches.length, 0);
});

test('a restarted manager restores `for` state from ALERTS_FOR_STATE and fires from the original ActiveAt', async (t) => {
  const metric = uniqueName('rt_restore');
  const alert = `Restore_${metric}`;
  exporter.set(metric, {}, 1);
  await scraped(metric, 1);
  const rules = `groups:
  - name: restore
    interval: 1s
    rules:
      - alert: ${alert}
        expr: ${metric} > 0
        for: 25s
`;
  // grace period below `for`, so the restore applies (Prometheus skips it when for < grace period)
  const opts = { forGracePeriodMs: 2000 };
  const a = await manager(rules, opts);
  const first = await waitFor(() => alertsOf(a.m, alert)?.alerts?.find((x) => x.state === 'pending'), { what: 'pending in A' });
  const originalActiveAt = new Date(first.activeAt).getTime();
  await waitFor(async () => (await promQuery(`ALERTS_FOR_STATE{alertname="${alert}"}`)).length > 0, { what: 'ALERTS_FOR_STATE written', timeoutMs: 30_000 });
  // let A spend most of `for` pending, so a restore (which adds only the downtime) visibly beats a fresh start
  await waitFor(() => new Date(alertsOf(a.m, alert)!.lastEvaluation).getTime() - originalActiveAt >= 12_000, { what: 'A pending for 12s', timeoutMs: 30_000 });
  await a.m.stop();
  const restartAt = Date.now();
  const b = await manager('', { ...opts, files: [a.file] });
  t.teardown(() => b.m.stop());
  const restored = await waitFor(
    () => alertsOf(b.m, alert)?.alerts?.find((x) => new Date(x.activeAt).getTime() < restartAt),
    { what: 'ActiveAt restored to before the restart', timeoutMs: 30_000 },
  );
  const restoredAt = new Date(restored.activeAt).getTime();
  t.true(restoredAt >= originalActiveAt, 'restored ActiveAt = original ActiveAt shifted by the downtime (never earlier)');
  const fired = await waitFor(() => b.sink.all()[0], { what: 'fired', timeoutMs: 60_000 });
  t.true(fired.startsAt!.getTime() < restartAt + 25_000, 'fires before a fresh `for` from the restart would have ended');
  t.true(fired.startsAt!.getTime() - restoredAt >= 25_000, 'but not before `for` after the restored ActiveAt');
});

test('a recording rule writes its series back to Prometheus with the rule labels merged', async (t) => {
  const metric = uniqueName('rt_rec');
  exporter.set(metric, { shard: 'x' }, 21);
  await scraped(metric, 21);
  const { m } = await manager(`groups:
  - name: rec
    interval: 1s
    rules:
      - record: ${metric}:doubled
        expr: ${metric} * 2
        labels: { team: storage }
`);
  t.teardown(() => m.stop());
  const got = await waitFor(async () => {
    const r = await promQuery(`${metric}:doubled`);
    return r.length > 0 ? r : undefined;
  }, { what: 'recorded series', timeoutMs: 30_000 });
  t.is(Number(got[0]!.value[1]), 42);
  t.like(got[0]!.metric, { __name__: `${metric}:doubled`, shard: 'x', team: 'storage' });
  t.is(alertsOf(m, `${metric}:doubled`)?.health, 'ok');
});

test('a rule reading a recording rule of its group sees this evaluation\'s output; independent rules run side by side', async (t) => {
  const metric = uniqueName('rt_dep');
  exporter.set(metric, { shard: 'x' }, 5);
  await scraped(metric, 5);
  const { m, sink } = await manager(`groups:
  - name: dep
    interval: 1s
    rules:
      - record: ${metric}:doubled
        expr: ${metric} * 2
      - alert: Doubled_${metric}
        expr: ${metric}:doubled > 1
        annotations: { value: '{{ $value }}' }
      - alert: Plain_${metric}
        expr: ${metric} > 1
`);
  t.teardown(() => m.stop());
  const first = await waitFor(() => sink.all().find((a) => a.labels.alertname === `Doubled_${metric}`), { what: 'the alert on the recorded series' });
  t.is(first.annotations?.value, '10');
  // the recorded series is new: its first sample is this group's first evaluation, and the alert fired in it
  const series = await waitFor(async () => (await promQuery(`${metric}:doubled[5m]`))[0] as unknown as { values: [number, string][] } | undefined, { what: 'recorded samples' });
  t.is(Math.round(series.values[0]![0] * 1000), first.startsAt!.getTime(), 'fired in the evaluation that first recorded the series');
  t.truthy(sink.all().find((a) => a.labels.alertname === `Plain_${metric}`));
});

test('a query error marks the rule unhealthy, counts it and keeps its firing alerts (no resolve)', async (t) => {
  const metric = uniqueName('rt_err');
  const alert = `Err_${metric}`;
  exporter.set(metric, {}, 1);
  await scraped(metric, 1);
  // a loopback proxy in front of Prometheus that the test can break
  let broken = false;
  const proxy = createServer((req, res) => {
    if (broken) {
      res.writeHead(503).end('unavailable');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void fetch(new URL(req.url!, infra.prometheusUrl), { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? '' }, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined })
        .then(async (r) => res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? '' }).end(Buffer.from(await r.arrayBuffer())))
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => proxy.close(() => r())));
  const { m, sink, registry } = await manager(
    `groups:
  - name: err
    interval: 1s
    rules:
      - alert: ${alert}
        expr: ${metric} > 0
`,
    { prometheusUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, remoteWriteUrl: `${infra.prometheusUrl}/api/v1/write` },
  );
  t.teardown(() => m.stop());
  await waitFor(() => sink.all().length > 0, { what: 'firing' });
  broken = true;
  const bad = await waitFor(() => (alertsOf(m, alert)?.health === 'err' ? alertsOf(m, alert) : undefined), { what: 'unhealthy' });
  t.regex(bad.lastError ?? '', /503|HTTP/);
  t.is(bad.state, 'firing', 'alerts stay as they were');
  t.true(sink.all().every((a) => a.endsAt!.getTime() > Date.now()), 'no resolve sent because of the error');
  const failures = await registry.getSingleMetricAsString('lantern_rule_evaluation_failures_total');
  t.regex(failures, /lantern_rule_evaluation_failures_total\{rule_group=".*;err"\} [1-9]/);
});

test('limit and duplicate label sets error the rule; a bad reload keeps the running rules', async (t) => {
  const metric = uniqueName('rt_lim');
  exporter.set(metric, { shard: 'a' }, 1);
  exporter.set(metric, { shard: 'b' }, 1);
  await waitFor(async () => (await promQuery(metric)).length === 2, { what: 'two series', timeoutMs: 60_000 });
  const { m, file } = await manager(`groups:
  - name: lim
    interval: 1s
    limit: 1
    rules:
      - alert: Limit_${metric}
        expr: ${metric} > 0
  - name: dup
    interval: 1s
    rules:
      - alert: Dup_${metric}
        expr: ${metric} > 0
        labels: { shard: same }
`);
  t.teardown(() => m.stop());
  const lim = await waitFor(() => (alertsOf(m, `Limit_${metric}`)?.health === 'err' ? alertsOf(m, `Limit_${metric}`) : undefined), { what: 'limit error' });
  t.is(lim.lastError, 'exceeded limit of 1 with 2 alerts');
  t.deepEqual(lim.alerts, [], 'all alerts dropped');
  const dup = await waitFor(() => (alertsOf(m, `Dup_${metric}`)?.health === 'err' ? alertsOf(m, `Dup_${metric}`) : undefined), { what: 'duplicate error' });
  t.is(dup.lastError, 'vector contains metrics with the same labelset after applying alert labels');

  await writeFile(file, 'groups:\n  - name: broken\n    rules:\n      - alert: X\n        expr: rate(\n');
  await t.throwsAsync(m.load(), { instanceOf: ConfigError, message: /group "broken" \(index 0\), rule 1 "X": could not parse expression/ });
  t.deepEqual(m.listGroups().map((g) => g.name), ['lim', 'dup'], 'the old rules keep running');
});
