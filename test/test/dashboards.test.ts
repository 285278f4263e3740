import test from 'ava';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { infra } from '@lantern/testkit';

// Grafana and Loki cannot run here: the dashboards' contract is tested instead. Every PromQL query
// runs against the real Prometheus, and every metric it reads must be one the code emits.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = join(root, 'dashboards/json');
const run = promisify(execFile);

interface Target { expr: string; datasource: { uid: string } }
interface Panel { title: string; type: string; gridPos: object; datasource: { uid: string }; targets: Target[] }
interface Dashboard { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: { name: string; query: { query: string } }[] } }

const dashboards = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => ({ file: f, dash: JSON.parse(readFileSync(join(dir, f), 'utf8')) as Dashboard }));

/** Grafana's variables become what Grafana would send: `$service` = All (.*), `$__rate_interval` = 1m. */
function asPromQL(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$service', '.*');
}

function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\b([a-z_][a-z0-9_]*)\s*(?=\{|\[)/g)) {
    const name = m[1] ?? '';
    if (['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'].includes(name)) continue;
    names.add(name.replace(/_(bucket|count|sum)$/, ''));
  }
  return [...names];
}

test('there are dashboards, with unique uids and the shape Grafana provisions', (t) => {
  t.true(dashboards.length > 0);
  const uids = new Set<string>();
  for (const { file, dash } of dashboards) {
    t.truthy(dash.uid, `${file}: uid`);
    t.false(uids.has(dash.uid), `${file}: duplicate uid`);
    uids.add(dash.uid);
    t.true(dash.schemaVersion >= 36, `${file}: schemaVersion`);
    for (const p of dash.panels) {
      t.truthy(p.gridPos, `${file} ${p.title}: gridPos`);
      t.is(p.datasource.uid, 'prometheus', `${file} ${p.title}: datasource`);
      t.true(p.targets.length > 0, `${file} ${p.title}: targets`);
    }
  }
});

test('every dashboard query is valid PromQL that the real Prometheus evaluates', async (t) => {
  for (const { file, dash } of dashboards) {
    const exprs = [...dash.panels.flatMap((p) => p.targets.map((x) => ({ where: `${file} "${p.title}"`, expr: x.expr })))];
    for (const { where, expr } of exprs) {
      const url = new URL('/api/v1/query', infra.prometheusUrl);
      url.searchParams.set('query', asPromQL(expr));
      const res = await fetch(url);
      const body = (await res.json()) as { status: string; error?: string };
      t.is(body.status, 'success', `${where}: ${body.error ?? ''}`);
    }
  }
});

test('every metric a dashboard reads is emitted somewhere in the code', async (t) => {
  const wanted = new Set(dashboards.flatMap(({ dash }) => dash.panels.flatMap((p) => p.targets.flatMap((x) => metricNames(x.expr)))));
  for (const name of wanted) {
    // prom-client's default metrics live in node_modules; everything else is ours
    const where = name.startsWith('nodejs_') ? ['node_modules/prom-client/lib'] : ['sdk/src', 'shop-services'];
    const found = await run('grep', ['-rl', '--include=*.ts', '--include=*.js', name, ...where], { cwd: root }).then(
      (r) => r.stdout.trim() !== '',
      () => false,
    );
    t.true(found, `metric ${name} is not emitted by any code`);
  }
});
