// The shop's alerting rules (alerting/rules/*.yml) checked the way Prometheus would (promtool check rules,
// promtool test rules), plus what promtool cannot know: every alert is actionable (severity, summary,
// description, a runbook section that exists, a dashboard panel that exists), every alert and recording
// rule is unit-tested both ways, and every metric the rules read is in the runbook's contract table.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parser as promqlParser } from '@prometheus-io/lezer-promql';

const RULES_DIR = fileURLToPath(new URL('../rules/', import.meta.url));
const TESTS_DIR = join(RULES_DIR, 'tests');
const RUNBOOK = fileURLToPath(new URL('../../docs/runbooks.md', import.meta.url));
const DASHBOARDS_DIR = fileURLToPath(new URL('../../dashboards/json/', import.meta.url));
const RUNBOOK_URL_PREFIX = 'https://github.com/lantern/lantern/blob/main/docs/runbooks.md#';
const SEVERITIES = new Set(['critical', 'warning', 'info']);
/** Alerts on errors or latency must name the histogram whose exemplars are example traces. */
const NEEDS_EXEMPLARS = ['ServiceHighErrorRatio', 'ServiceHighLatencyP99', 'CheckoutErrorBudgetBurnFast', 'CheckoutErrorBudgetBurnSlow', 'PaymentChannelFailing'];

// --- file shapes (only the keys these checks read; promtool validates the rest) -----------------------

const stringMap = z.record(z.string(), z.string());
const alertingRule = z.object({ alert: z.string(), expr: z.string(), labels: stringMap.optional(), annotations: stringMap.optional() });
const recordingRule = z.object({ record: z.string(), expr: z.string() });
const ruleFile = z.object({ groups: z.array(z.object({ name: z.string(), rules: z.array(z.union([alertingRule, recordingRule])) })) });
const testFile = z.object({
  rule_files: z.array(z.string()),
  tests: z.array(
    z.object({
      alert_rule_test: z
        .array(
          z.object({
            alertname: z.string(),
            exp_alerts: z.array(z.object({ exp_labels: stringMap.optional(), exp_annotations: stringMap.optional() })).nullish(),
          }),
        )
        .optional(),
      promql_expr_test: z.array(z.object({ expr: z.string() })).optional(),
    }),
  ),
});
const dashboard = z.object({ uid: z.string(), panels: z.array(z.object({ id: z.number() })) });

type AlertingRule = z.infer<typeof alertingRule>;
type RecordingRule = z.infer<typeof recordingRule>;
type TestFile = z.infer<typeof testFile>;

// --- loading ------------------------------------------------------------------------------------------

async function ymlFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.yml')).sort().map((f) => join(dir, f));
}

async function loadYaml<T>(file: string, schema: z.ZodType<T>): Promise<T> {
  const parsed = schema.safeParse(parseYaml(await readFile(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

interface Rules {
  alerts: AlertingRule[];
  records: RecordingRule[];
}

async function loadRules(): Promise<Rules> {
  const rules: Rules = { alerts: [], records: [] };
  for (const file of await ymlFiles(RULES_DIR)) {
    for (const group of (await loadYaml(file, ruleFile)).groups) {
      for (const rule of group.rules) {
        if ('alert' in rule) rules.alerts.push(rule);
        else rules.records.push(rule);
      }
    }
  }
  return rules;
}

async function loadTests(): Promise<TestFile[]> {
  return Promise.all((await ymlFiles(TESTS_DIR)).map((f) => loadYaml(f, testFile)));
}

// --- promtool -----------------------------------------------------------------------------------------

interface ToolResult {
  code: number;
  output: string;
}

/** Runs promtool without a shell (file lists are passed as arguments); never rejects. */
function promtool(args: string[], cwd: string): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile('promtool', args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

// --- the runbook --------------------------------------------------------------------------------------

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

async function runbookHeadings(): Promise<string[]> {
  const text = await readFile(RUNBOOK, 'utf8');
  return [...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1] ?? '');
}

/** Metric names in the first column of the "Metrics the rules expect" table; `{a,b}` expanded. */
async function contractMetrics(): Promise<Set<string>> {
  const text = await readFile(RUNBOOK, 'utf8');
  const section = text.split(/^## Metrics the rules expect$/m)[1]?.split(/^## /m)[0] ?? '';
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    const firstCell = /^\| (.+?) \|/.exec(line)?.[1];
    if (!firstCell) continue;
    for (const [, code] of firstCell.matchAll(/`([^`]+)`/g)) {
      const brace = /^(.*)\{([^}]+)\}(.*)$/.exec(code ?? '');
      if (brace) for (const alt of (brace[2] ?? '').split(',')) names.add(`${brace[1]}${alt}${brace[3]}`);
      else if (code) names.add(code);
    }
  }
  return names;
}

// --- PromQL -------------------------------------------------------------------------------------------

interface Selector {
  metric: string | undefined;
  nameRegex: string | undefined;
}

/** Vector selectors of an expression (metric name, or a __name__ regex), and whether it parsed cleanly. */
function selectors(expr: string): { selectors: Selector[]; error: boolean; top: string | undefined } {
  const tree = promqlParser.parse(expr);
  const found: Selector[] = [];
  let error = false;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) error = true;
      if (node.name !== 'VectorSelector') return;
      const text = expr.slice(node.from, node.to);
      const metric = node.node.getChild('Identifier');
      found.push({
        metric: metric ? expr.slice(metric.from, metric.to) : undefined,
        nameRegex: /__name__\s*=~\s*"([^"]*)"/.exec(text)?.[1],
      });
    },
  });
  return { selectors: found, error, top: tree.topNode.firstChild?.name };
}

/** Fills `{{ $labels.x }}` with a plain value, so a templated selector can be parsed. */
const fillTemplates = (s: string): string => s.replace(/\{\{\s*\$labels\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, 'v_$1');

// --- tests --------------------------------------------------------------------------------------------

test('promtool check rules accepts every rule file', async (t) => {
  const files = await ymlFiles(RULES_DIR);
  t.true(files.length >= 5, 'rule files found');
  const r = await promtool(['check', 'rules', ...files], RULES_DIR);
  t.is(r.code, 0, r.output);
  t.is(r.output.match(/SUCCESS/g)?.length, files.length, r.output);
});

test('promtool test rules passes every unit test file', async (t) => {
  const files = await ymlFiles(TESTS_DIR);
  t.true(files.length >= 5, 'unit test files found');
  const r = await promtool(['test', 'rules', ...files], TESTS_DIR);
  t.is(r.code, 0, r.output);
  t.is(r.output.match(/SUCCESS/g)?.length, files.length, r.output);
  t.false(r.output.includes('FAILED'), r.output);
});

test('the promtool harness reports a wrong expectation and a broken rule as failures', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'shop-rules-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await copyFile(join(RULES_DIR, 'shop-http.yml'), join(dir, 'shop-http.yml'));
  // up == 0 for 5 minutes, but the test claims TargetDown is not firing
  await writeFile(
    join(dir, 'wrong.test.yml'),
    [
      'rule_files: [shop-http.yml]',
      'tests:',
      '  - interval: 1m',
      '    input_series:',
      "      - series: 'up{job=\"lantern\", instance=\"a\", service=\"product\"}'",
      "        values: '0x10'",
      '    alert_rule_test:',
      '      - alertname: TargetDown',
      '        eval_time: 5m',
      '        exp_alerts: []',
      '',
    ].join('\n'),
  );
  const wrong = await promtool(['test', 'rules', 'wrong.test.yml'], dir);
  t.not(wrong.code, 0);
  t.true(wrong.output.includes('FAILED'), wrong.output);

  const broken = (await readFile(join(RULES_DIR, 'shop-http.yml'), 'utf8')).replace('expr: up == 0', 'expr: up == (0');
  await writeFile(join(dir, 'broken.yml'), broken);
  const check = await promtool(['check', 'rules', 'broken.yml'], dir);
  t.not(check.code, 0, check.output);
});

test('every alert has a severity, a summary, a description and a runbook section that exists', async (t) => {
  const { alerts } = await loadRules();
  const anchors = new Set((await runbookHeadings()).map(githubSlug));
  t.true(alerts.length >= 15);
  const names = alerts.map((a) => a.alert);
  t.deepEqual([...new Set(names)].sort(), [...names].sort(), 'alert names are unique');
  for (const a of alerts) {
    t.true(SEVERITIES.has(a.labels?.severity ?? ''), `${a.alert}: severity ${a.labels?.severity}`);
    t.truthy(a.annotations?.summary?.trim(), `${a.alert}: summary`);
    t.truthy(a.annotations?.description?.trim(), `${a.alert}: description`);
    const url = a.annotations?.runbook_url ?? '';
    t.true(url.startsWith(RUNBOOK_URL_PREFIX), `${a.alert}: runbook_url ${url}`);
    t.true(anchors.has(url.slice(RUNBOOK_URL_PREFIX.length)), `${a.alert}: no runbook section for #${url.slice(RUNBOOK_URL_PREFIX.length)}`);
    t.is(url.slice(RUNBOOK_URL_PREFIX.length), a.alert.toLowerCase(), `${a.alert}: anchor named for the alert`);
  }
});

test('every runbook alert section belongs to an alert (no stale sections)', async (t) => {
  const { alerts } = await loadRules();
  const names = new Set(alerts.map((a) => a.alert));
  const sections = (await runbookHeadings()).filter((h) => /^[A-Z][A-Za-z0-9]+$/.test(h));
  t.deepEqual([...sections].sort(), [...names].sort());
});

test('dashboard links point at a dashboard and panel that exist', async (t) => {
  const { alerts } = await loadRules();
  const panels = new Map<string, Set<number>>();
  for (const f of (await readdir(DASHBOARDS_DIR)).filter((n) => n.endsWith('.json'))) {
    const d = dashboard.parse(JSON.parse(await readFile(join(DASHBOARDS_DIR, f), 'utf8')));
    panels.set(d.uid, new Set(d.panels.map((p) => p.id)));
  }
  const linked = alerts.filter((a) => a.annotations?.dashboard_url !== undefined);
  t.true(linked.length >= 10);
  for (const a of linked) {
    const url = new URL(fillTemplates(a.annotations?.dashboard_url ?? ''));
    const uid = /^\/d\/([^/]+)/.exec(url.pathname)?.[1] ?? '';
    t.true(panels.has(uid), `${a.alert}: dashboard ${uid}`);
    const panel = url.searchParams.get('viewPanel');
    if (panel !== null) t.true(panels.get(uid)?.has(Number(panel)), `${a.alert}: panel ${panel}`);
  }
});

test('error and latency alerts name a histogram selector for exemplars, and it parses', async (t) => {
  const { alerts } = await loadRules();
  const contract = await contractMetrics();
  for (const name of NEEDS_EXEMPLARS) t.truthy(alerts.find((a) => a.alert === name)?.annotations?.lantern_exemplar_query, `${name}: lantern_exemplar_query`);
  for (const a of alerts) {
    const q = a.annotations?.lantern_exemplar_query;
    if (q === undefined) continue;
    const parsed = selectors(fillTemplates(q));
    t.false(parsed.error, `${a.alert}: ${q} parses`);
    t.is(parsed.top, 'VectorSelector', `${a.alert}: ${q} is a bare selector`);
    const metric = parsed.selectors[0]?.metric ?? '';
    t.true(metric.endsWith('_bucket') && contract.has(metric.replace(/_bucket$/, '')), `${a.alert}: ${metric} is a histogram from the contract`);
  }
});

test('every alert is unit-tested firing (with labels and annotations) and not firing', async (t) => {
  const { alerts } = await loadRules();
  const cases = (await loadTests()).flatMap((f) => f.tests.flatMap((c) => c.alert_rule_test ?? []));
  for (const a of alerts) {
    const mine = cases.filter((c) => c.alertname === a.alert);
    const firing = mine.filter((c) => (c.exp_alerts ?? []).length > 0);
    t.true(firing.length > 0, `${a.alert}: a firing case`);
    t.true(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${a.alert}: a not-firing case`);
    const full = firing.flatMap((c) => c.exp_alerts ?? []).some((e) => e.exp_labels?.severity === a.labels?.severity && e.exp_annotations?.runbook_url !== undefined);
    t.true(full, `${a.alert}: a firing case checks exp_labels and exp_annotations`);
  }
  const known = new Set(alerts.map((a) => a.alert));
  for (const c of cases) t.true(known.has(c.alertname), `unit test for unknown alert ${c.alertname}`);
});

test('every recording rule is checked by a promql_expr_test', async (t) => {
  const { records } = await loadRules();
  const exprs = (await loadTests()).flatMap((f) => f.tests.flatMap((c) => (c.promql_expr_test ?? []).map((p) => p.expr)));
  t.true(records.length >= 10);
  for (const r of records) {
    const used = new RegExp(`(^|[^A-Za-z0-9_:])${r.record.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_:])`);
    t.true(exprs.some((e) => used.test(e)), `${r.record}: no promql_expr_test`);
  }
});

test('every metric the rules read is in the runbook contract table', async (t) => {
  const { alerts, records } = await loadRules();
  const contract = await contractMetrics();
  const recorded = new Set(records.map((r) => r.record));
  const inContract = (m: string): boolean => contract.has(m) || contract.has(m.replace(/_(bucket|count|sum)$/, ''));
  for (const rule of [...alerts, ...records]) {
    const name = 'alert' in rule ? rule.alert : rule.record;
    const parsed = selectors(rule.expr);
    t.false(parsed.error, `${name}: expression parses`);
    for (const s of parsed.selectors) {
      if (s.metric !== undefined) {
        t.true(recorded.has(s.metric) || inContract(s.metric), `${name}: ${s.metric} is neither recorded nor in the contract table`);
      } else {
        const re = new RegExp(`^(?:${s.nameRegex ?? '(?!)'})$`);
        t.true([...contract].some((m) => re.test(m)), `${name}: __name__=~"${s.nameRegex}" matches no contract metric`);
      }
    }
  }
});
