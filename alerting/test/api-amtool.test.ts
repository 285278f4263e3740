// amtool 0.25 (Debian) against the API on loopback: every command exits 0 with the expected output, and the
// store holds what amtool created.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { uniqueName } from '@lantern/testkit';
import { silenceState } from '../src/model/silence.js';
import { startApi } from './support/api-server.js';

const run = promisify(execFile);

async function amtool(url: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  // HOME points at an empty dir so no user amtool config changes the flags
  return run('amtool', [`--alertmanager.url=${url}`, ...args], { timeout: 30_000, env: { ...process.env, HOME: tmpdir() } });
}

test('config show, config routes and check-config accept what /api/v2/status returns; secrets never appear', async (t) => {
  const s = await startApi('api_amtool_cfg');
  t.teardown(() => s.close());
  const shown = await amtool(s.url, 'config', 'show');
  t.regex(shown.stdout, /receiver: oncall/);
  t.regex(shown.stdout, /<secret>/);
  for (const secret of ['XXXXSECRET', 'SECRETTOKEN', 'SECRETQUERY', 'SMTPPASSWORD', 'escalation']) t.false(shown.stdout.includes(secret), secret);
  t.is(shown.stderr.includes('Warning'), false, 'no version mismatch warning');

  const routes = await amtool(s.url, 'config', 'routes');
  t.regex(routes.stdout, /Routing tree:/);
  t.regex(routes.stdout, /default-route\s+receiver: oncall/);
  t.regex(routes.stdout, /\{team="payments"\}\s+continue: true\s+receiver: hooks/);

  const test1 = await amtool(s.url, 'config', 'routes', 'test', 'team=payments');
  t.regex(test1.stdout, /hooks/);

  const status = (await (await fetch(`${s.url}/api/v2/status`)).json()) as { config: { original: string } };
  const dir = await mkdtemp(join(tmpdir(), 'lantern-amtool-'));
  const file = join(dir, 'status.yml');
  await writeFile(file, status.config.original);
  const checked = await run('amtool', ['check-config', file], { timeout: 30_000 });
  t.regex(checked.stdout, /SUCCESS/);
  t.regex(checked.stdout, /3 receivers/);
});

test('alert add, alert query; silence add, query, expire — with the store checked after each', async (t) => {
  const s = await startApi('api_amtool_ops');
  t.teardown(() => s.close());
  const name = uniqueName('AmtoolAlert');

  await amtool(s.url, 'alert', 'add', `alertname=${name}`, 'severity=page', '--annotation=summary=checkout is slow');
  const stored = (await s.stores.alerts.list()).find((a) => a.labels.alertname === name);
  t.truthy(stored, 'alert stored');
  t.true(stored!.timeout, 'zero endsAt from amtool means unset: resolve_timeout applies');
  t.true(stored!.startsAt.getFullYear() > 2000, 'zero startsAt from amtool means now');
  t.is(stored!.annotations.summary, 'checkout is slow');

  const q = await amtool(s.url, 'alert', 'query');
  t.regex(q.stdout, new RegExp(name));
  const ext = await amtool(s.url, '-o', 'extended', 'alert', 'query', `alertname=${name}`);
  t.regex(ext.stdout, /severity="page"/);
  const json = JSON.parse((await amtool(s.url, '-o', 'json', 'alert', 'query')).stdout) as { labels: Record<string, string>; status: { state: string } }[];
  t.is(json.find((a) => a.labels.alertname === name)?.status.state, 'active');

  const added = await amtool(s.url, 'silence', 'add', '--comment=deploying the fix', '--duration=1h', '--author=alice', `alertname=${name}`);
  const id = added.stdout.trim();
  t.regex(id, /^[0-9a-f-]{36}$/);
  const sil = await s.stores.silences.get(id);
  t.is(sil?.createdBy, 'alice');
  t.is(sil?.comment, 'deploying the fix');
  t.deepEqual(sil?.matchers, [{ name: 'alertname', value: name, isRegex: false, isEqual: true }]);

  const sq = await amtool(s.url, 'silence', 'query');
  t.regex(sq.stdout, new RegExp(id));
  t.regex(sq.stdout, /deploying the fix/);
  const quiet = await amtool(s.url, 'silence', 'query', '-q', `alertname=${name}`);
  t.is(quiet.stdout.trim(), id);

  // silenced: gone from the default query (active only), shown with --silenced
  t.notRegex((await amtool(s.url, 'alert', 'query')).stdout, new RegExp(name));
  t.regex((await amtool(s.url, 'alert', 'query', '--silenced')).stdout, new RegExp(name));

  await amtool(s.url, 'silence', 'expire', id);
  t.is(silenceState((await s.stores.silences.get(id))!, new Date()), 'expired');
  t.regex((await amtool(s.url, 'alert', 'query')).stdout, new RegExp(name));
  const expired = await amtool(s.url, 'silence', 'query', '--expired', '-q');
  t.regex(expired.stdout, new RegExp(id));
});

test('amtool reports an unknown silence id as an error (404), not a crash of the server', async (t) => {
  const s = await startApi('api_amtool_404');
  t.teardown(() => s.close());
  const err = await t.throwsAsync(amtool(s.url, 'silence', 'expire', '6a1f0e1e-0000-4000-8000-000000000000'));
  t.regex(String((err as { stderr?: string }).stderr), /not found|404/i);
  const health = await fetch(`${s.url}/-/healthy`);
  t.is(health.status, 200);
});
