// Rule files: a differential test against the real `promtool check rules` (Prometheus 2.42): each file of a
// corpus of good and bad rule files must be accepted by both or refused by both. Plus what our errors say.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { loadRuleFiles, parseRuleFile, RuleFileError } from '../src/config/rule-files.js';
import { ConfigError } from '../src/model/errors.js';

const run = promisify(execFile);

const good = (body: string) => `groups:\n${body}`;
const corpus: Record<string, string> = {
  'good: alert with for, labels, annotations': good(`  - name: node
    interval: 30s
    rules:
      - alert: HighLoad
        expr: node_load1 > 4
        for: 5m
        keep_firing_for: 2m
        labels: { severity: page }
        annotations:
          summary: "{{ $labels.instance }} load is {{ $value | humanize }}"
          runbook_url: "{{ $externalURL }}/runbooks/load"
`),
  'good: recording rule and limit': good(`  - name: rec
    limit: 10
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
        labels: { team: web }
`),
  'good: if/else template with comparison': good(`  - name: t
    rules:
      - alert: A
        expr: up == 0
        annotations:
          d: "{{ if gt $value 1.0 }}big{{ else }}small{{ end }} {{ printf \\"%.2f\\" $value }}"
`),
  'good: empty file': '',
  'good: no groups': 'groups: []\n',
  'good: two groups, histogram_quantile, offset': good(`  - name: a
    rules:
      - record: x:p99
        expr: histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m] offset 1m)))
  - name: b
    rules:
      - alert: Absent
        expr: absent(up{job="api"})
`),
  'bad: duplicate group names': good(`  - name: a
    rules: []
  - name: a
    rules: []
`),
  'bad: missing group name': good(`  - rules:
      - alert: A
        expr: up == 0
`),
  'bad: both alert and record': good(`  - name: a
    rules:
      - alert: A
        record: a:b
        expr: up
`),
  'bad: neither alert nor record': good(`  - name: a
    rules:
      - expr: up
`),
  'bad: missing expr': good(`  - name: a
    rules:
      - alert: A
`),
  'bad: PromQL syntax error': good(`  - name: a
    rules:
      - alert: A
        expr: sum(rate(http_requests_total[5m]) > 1
`),
  'bad: PromQL type error (rate without range)': good(`  - name: a
    rules:
      - alert: A
        expr: rate(http_requests_total) > 1
`),
  'bad: PromQL unknown function': good(`  - name: a
    rules:
      - alert: A
        expr: ratee(x[5m]) > 1
`),
  'bad: record not a metric name': good(`  - name: a
    rules:
      - record: job-rate
        expr: up
`),
  'bad: annotations on a recording rule': good(`  - name: a
    rules:
      - record: a:b
        expr: up
        annotations: { x: y }
`),
  'bad: for on a recording rule': good(`  - name: a
    rules:
      - record: a:b
        expr: up
        for: 5m
`),
  'bad: invalid label name': good(`  - name: a
    rules:
      - alert: A
        expr: up == 0
        labels: { "bad-label": x }
`),
  'bad: template does not parse': good(`  - name: a
    rules:
      - alert: A
        expr: up == 0
        annotations: { s: "{{ $labels.instance " }
`),
  'bad: unknown template function': good(`  - name: a
    rules:
      - alert: A
        expr: up == 0
        annotations: { s: "{{ humanise $value }}" }
`),
  'bad: unknown field': good(`  - name: a
    rules:
      - alert: A
        expr: up == 0
        severity: page
`),
  'bad: invalid duration': good(`  - name: a
    rules:
      - alert: A
        expr: up == 0
        for: 5 minutes
`),
  'bad: yaml syntax': 'groups:\n  - name: a\n    rules: [\n',
  'bad: scalar comparison without bool': good(`  - name: a
    rules:
      - alert: A
        expr: 1 > 2
`),
};

let dir: string;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lantern-rules-'));
});

async function promtoolAccepts(file: string): Promise<boolean> {
  try {
    await run('promtool', ['check', 'rules', file]);
    return true;
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') throw new Error('promtool is not installed');
    return false;
  }
}

for (const [i, [name, text]] of Object.entries(corpus).entries()) {
  test(`promtool differential: ${name}`, async (t) => {
    const file = join(dir, `case-${i}.yml`);
    await writeFile(file, text);
    const theirs = await promtoolAccepts(file);
    let ours = true;
    let why = '';
    try {
      await loadRuleFiles([file]);
    } catch (e) {
      t.true(e instanceof ConfigError);
      ours = false;
      why = (e as Error).message;
    }
    t.is(ours, theirs, `promtool ${theirs ? 'accepts' : 'refuses'}, we ${ours ? 'accept' : `refuse: ${why}`}`);
    t.is(theirs, name.startsWith('good'), 'the corpus label matches promtool');
  });
}

test('a problem names the file, the group (name and index), the rule (index and name) and the position', (t) => {
  const err = t.throws(
    () =>
      parseRuleFile(
        `groups:\n  - name: ok\n    rules: []\n  - name: api\n    rules:\n      - alert: Fine\n        expr: up == 0\n      - alert: Broken\n        expr: sum(rate(x[5m])\n`,
        'rules/api.yml',
      ),
    { instanceOf: RuleFileError },
  ) as RuleFileError;
  t.is(err.problems.length, 1);
  const p = err.problems[0]!;
  t.like(p, { file: 'rules/api.yml', group: 'api', groupIndex: 1, rule: 2, ruleName: 'Broken', key: 'groups[1].rules[1].expr', line: 9 });
  t.regex(err.message, /^rules\/api\.yml: groups\[1\]\.rules\[1\]\.expr: 9:15: group "api" \(index 1\), rule 2 "Broken": could not parse expression: 1:16: parse error/);
});

test('newer Prometheus fields (query_offset, group labels) load; a missing file is a ConfigError', async (t) => {
  const groups = parseRuleFile(`groups:\n  - name: g\n    query_offset: 1m\n    labels: { team: db }\n    rules:\n      - record: a:b\n        expr: up\n`, 'f.yml');
  t.like(groups[0], { name: 'g', queryOffsetMs: 60_000, labels: { team: 'db' }, limit: 0 });
  await t.throwsAsync(loadRuleFiles([join(dir, 'does-not-exist.yml')]), { instanceOf: ConfigError, message: /cannot read rule file/ });
});
