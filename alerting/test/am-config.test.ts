// The Alertmanager config loader: a differential corpus against Debian's real `amtool check-config` (every fixture
// is accepted by both or rejected by both), errors that name file and key, defaults, secrets and the amtool view.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect, promisify } from 'node:util';
import {
  AlertmanagerConfigError,
  buildRouteTree,
  ConfigError,
  loadAlertmanagerConfigFile,
  originalForAmtool,
  parseAlertmanagerConfig,
  redactedOriginal,
  Secret,
} from '../src/index.js';

const run = promisify(execFile);
const FIXTURES = new URL('./fixtures/am/', import.meta.url).pathname;

async function amtoolAccepts(text: string): Promise<{ ok: boolean; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'am-check-'));
  const file = join(dir, 'am.yml');
  await writeFile(file, text);
  try {
    const r = await run('amtool', ['check-config', file]);
    return { ok: true, output: r.stdout };
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string };
    if (err.code === 'ENOENT') throw new Error('amtool not found: apt-get install -y prometheus-alertmanager', { cause: e });
    return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

function ours(text: string, file: string): { ok: true } | { ok: false; error: AlertmanagerConfigError } {
  try {
    parseAlertmanagerConfig(text, file);
    return { ok: true };
  } catch (e) {
    if (e instanceof AlertmanagerConfigError) return { ok: false, error: e };
    throw e;
  }
}

/** The key our error must name for each rejected fixture (amtool's own message is in the comment of the row). */
const EXPECTED_KEY: Record<string, string> = {
  'bad-day-of-month.yml': 'time_intervals[0].time_intervals[0].days_of_month[0]',
  'bad-duplicate-interval.yml': 'time_intervals[0].name',
  'bad-duplicate-receiver.yml': 'receivers[1].name',
  'bad-duration.yml': 'route.group_wait',
  'bad-email-no-smarthost.yml': 'receivers[0].email_configs[0].smarthost',
  'bad-empty.yml': 'route',
  'bad-equal-label.yml': 'inhibit_rules[0].equal[0]',
  'bad-group-by-mixed.yml': 'route.group_by',
  'bad-group-interval-zero.yml': 'route.routes[0].group_interval',
  'bad-location.yml': 'time_intervals[0].time_intervals[0].location',
  'bad-matcher.yml': 'route.routes[0].matchers[0]',
  'bad-regex.yml': 'route.routes[0].match_re.service',
  'bad-root-continue.yml': 'route.continue',
  'bad-root-matchers.yml': 'route',
  'bad-root-mute.yml': 'route.mute_time_intervals',
  'bad-root-no-receiver.yml': 'route.receiver',
  'bad-slack-no-url.yml': 'receivers[0].slack_configs[0].api_url',
  'bad-time-range.yml': 'time_intervals[0].time_intervals[0].times[0]',
  'bad-undefined-interval.yml': 'route.routes[0].active_time_intervals[0]',
  'bad-undefined-receiver.yml': 'route.routes[2].receiver',
  'bad-unknown-key.yml': 'route.routes[0].recevier',
  'bad-webhook-no-url.yml': 'receivers[0].webhook_configs[0]',
  'bad-weekday.yml': 'time_intervals[0].time_intervals[0].weekdays[0]',
  'bad-yaml.yml': '',
};

const fixtures = (await readdir(FIXTURES)).filter((f) => f.endsWith('.yml')).sort();

test('the corpus has good and bad configs', (t) => {
  t.true(fixtures.filter((f) => f.startsWith('good-')).length >= 6);
  t.true(fixtures.filter((f) => f.startsWith('bad-')).length >= 15);
  for (const f of fixtures.filter((x) => x.startsWith('bad-'))) t.true(f in EXPECTED_KEY, `${f} has an expected key`);
});

for (const f of fixtures) {
  test(`amtool and Lantern agree on ${f}`, async (t) => {
    const text = await readFile(join(FIXTURES, f), 'utf8');
    const mine = ours(text, f);
    // amtool sees the file as Grafana/amtool would get it from us: Lantern-only keys removed.
    const theirs = await amtoolAccepts(originalForAmtool({ original: text }));
    t.is(mine.ok, theirs.ok, `amtool: ${theirs.output.trim()} / lantern: ${mine.ok ? 'ok' : mine.error.message}`);
    t.is(mine.ok, f.startsWith('good-'), 'the fixture is named for its verdict');
    if (!mine.ok) {
      t.is(mine.error.key, EXPECTED_KEY[f] ?? "(missing)", mine.error.message);
      t.true(mine.error.message.startsWith(`${f}: `), 'the message names the file');
      t.true(mine.error instanceof ConfigError);
    }
  });
}

test('the full fixture: tree, defaults, globals applied, escalation, intervals', async (t) => {
  const cfg = await loadAlertmanagerConfigFile(join(FIXTURES, 'good-full.yml'));
  t.is(cfg.global.resolveTimeoutMs, 120_000);
  t.is(cfg.global.smtpHello, 'localhost');
  t.deepEqual(cfg.route.groupBy, ['alertname', 'service']);
  const pager = cfg.route.routes[0]!;
  t.true(pager.continue);
  t.is(pager.groupWaitMs, 0);
  t.deepEqual(pager.escalation, [
    { afterMs: 15 * 60_000, receiver: 'team-lead' },
    { afterMs: 45 * 60_000, receiver: 'cto' },
  ]);
  const checkout = cfg.route.routes[1]!;
  t.true(checkout.groupByAll);
  t.deepEqual(checkout.muteTimeIntervals, ['weekends']);
  t.deepEqual(
    checkout.matchers.map((m) => m.toString()),
    ['team="checkout"', 'service=~"^(?:checkout-.*)$"'],
    'legacy match_re keeps the anchored form Alertmanager prints',
  );
  const [def, hook, mail] = [cfg.receivers[0]!, cfg.receivers[1]!, cfg.receivers[2]!];
  t.is(def.slack[0]!.api_url?.reveal(), 'https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX', 'global slack_api_url applied');
  t.true(def.slack[0]!.send_resolved);
  t.is(hook.webhook[0]!.send_resolved, true, 'webhook send_resolved defaults to true');
  t.is(hook.webhook[0]!.max_alerts, 10);
  t.deepEqual(mail.email[0]!.smarthost, { host: 'smtp.example.com', port: '587' });
  t.is(mail.email[0]!.from, 'alerts@example.com');
  t.is(mail.email[0]!.auth_password?.reveal(), 'hunter2', 'global smtp password applied');
  t.false(mail.email[0]!.require_tls);
  t.false(mail.email[0]!.send_resolved, 'email send_resolved defaults to false');
  t.is(cfg.receivers[4]!.email[0]!.auth_password?.reveal(), 'cto-secret-password');
  t.deepEqual(Object.keys(cfg.timeIntervals), ['business-hours', 'weekends']);
  t.deepEqual(cfg.timeIntervals['weekends']![1]!.daysOfMonth, [
    { begin: -1, end: -1 },
    { begin: 1, end: 3 },
  ]);
  t.deepEqual(cfg.timeIntervals['business-hours']![0]!.times, [{ startMinute: 540, endMinute: 1050 }]);
  t.is(cfg.inhibitRules.length, 2);
  t.regex(cfg.notes.join('\n'), /templates .* are ignored/);
});

test('defaults: route timers, send_resolved, SMTP', (t) => {
  const cfg = parseAlertmanagerConfig(
    `global: {smtp_smarthost: 'm:25', smtp_from: a@b.c, slack_api_url: 'https://h.example/x'}
route: {receiver: r}
receivers: [{name: r, slack_configs: [{}], email_configs: [{to: x@y.z}], webhook_configs: [{url: 'http://127.0.0.1:1/'}]}]`,
  );
  const root = buildRouteTree(cfg);
  t.deepEqual([root.groupWaitMs, root.groupIntervalMs, root.repeatIntervalMs], [30_000, 300_000, 14_400_000]);
  t.is(cfg.global.resolveTimeoutMs, 300_000);
  const r = cfg.receivers[0]!;
  t.false(r.slack[0]!.send_resolved);
  t.false(r.email[0]!.send_resolved);
  t.true(r.webhook[0]!.send_resolved);
  t.true(r.email[0]!.require_tls);
  t.is(r.email[0]!.hello, 'localhost');
});

test('secrets never print; redactedOriginal hides them and still loads in amtool and here', async (t) => {
  const text = await readFile(join(FIXTURES, 'good-full.yml'), 'utf8');
  const cfg = parseAlertmanagerConfig(text, 'good-full.yml');
  const secrets = ['XXXXSECRETXXXX', 'hunter2', 'abc123token', 'LEADSECRET', 'cto-secret-password'];
  const shown = [JSON.stringify(cfg.receivers), inspect(cfg.receivers, { depth: 10 }), JSON.stringify(cfg.global), redactedOriginal(cfg)];
  for (const s of shown) for (const secret of secrets) t.false(s.includes(secret), `${secret} leaked`);
  t.true(cfg.receivers[3]!.slack[0]!.api_url instanceof Secret);
  const red = redactedOriginal(cfg);
  t.regex(red, /api_url: <secret>/);
  t.regex(red, /url: https:\/\/pager\.example\.com\/<secret>/);
  t.notRegex(red, /escalation/, 'Lantern keys (and comments) are removed');
  t.true((await amtoolAccepts(red)).ok, 'amtool accepts the redacted config (as amtool config routes would read it from status)');
  t.notThrows(() => parseAlertmanagerConfig(red));
});

test('originalForAmtool removes only Lantern keys and keeps comments', async (t) => {
  const text = await readFile(join(FIXTURES, 'good-full.yml'), 'utf8');
  const out = originalForAmtool({ original: text });
  t.notRegex(out, /^\s*escalation:/m);
  t.regex(text, /^\s*escalation:/m);
  t.true(out.includes('# Every supported section'));
  t.true(out.includes('hunter2'), 'not redacted: it is the file, for check-config');
  t.false((await amtoolAccepts(text)).ok, 'amtool rejects the escalation key itself');
});

test('escalation: unknown receivers and non-increasing delays are named', (t) => {
  const base = (esc: string): string => `route:
  receiver: r
  routes:
    - matchers: [severity=critical]
      escalation: ${esc}
receivers: [{name: r}, {name: boss}]`;
  const e1 = t.throws(() => parseAlertmanagerConfig(base('[{after: 10m, receiver: ghost}]'), 'am.yml'), { instanceOf: ConfigError });
  t.is(e1.key, 'route.routes[0].escalation[0].receiver');
  const e2 = t.throws(() => parseAlertmanagerConfig(base('[{after: 10m, receiver: boss}, {after: 5m, receiver: r}]')), { instanceOf: ConfigError });
  t.is(e2.key, 'route.routes[0].escalation[1].after');
  const e3 = t.throws(() => parseAlertmanagerConfig(base('[{after: 0s, receiver: boss}]')), { instanceOf: ConfigError });
  t.is(e3.key, 'route.routes[0].escalation[0].after');
});

test('unsupported integrations are refused by name, not dropped', (t) => {
  const e = t.throws(() => parseAlertmanagerConfig(`route: {receiver: r}
receivers: [{name: r, pagerduty_configs: [{routing_key: x}]}]`, 'am.yml'), { instanceOf: ConfigError });
  t.is(e.key, 'receivers[0].pagerduty_configs');
  t.regex(e.message, /not supported by Lantern .*webhook_config/);
});

test('all problems are reported at once, each with its key', (t) => {
  const e = t.throws(
    () =>
      parseAlertmanagerConfig(`route:
  receiver: r
  routes:
    - receiver: ghost
    - receiver: phantom
receivers: [{name: r}]`, 'am.yml'),
    { instanceOf: AlertmanagerConfigError },
  );
  t.deepEqual(e.issues.map((i) => i.key), ['route.routes[0].receiver', 'route.routes[1].receiver']);
  t.regex(e.message, /am\.yml: route\.routes\[1\]\.receiver: undefined receiver "phantom"/);
});

test('a missing file is a ConfigError naming the file', async (t) => {
  const e = await t.throwsAsync(loadAlertmanagerConfigFile('/nonexistent/am.yml'), { instanceOf: ConfigError });
  t.regex(e.message, /^\/nonexistent\/am\.yml: cannot read/);
});
