// The page at `/` in headless Chromium, over a real dispatcher and Postgres stores: a firing group with its
// evidence link and acknowledgement state, rule health, a silence created and expired through the form, an
// acknowledgement through a signed link, hostile values inert, and the forms' CSRF protection.
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { chromium } from 'playwright-core';
import { Registry } from 'prom-client';
import { freshSchema, uniqueName, waitFor } from '@lantern/testkit';
import { createApi } from '../src/api/app.js';
import { configView, dispatcherView } from '../src/api/config-view.js';
import type { PromRuleGroupView } from '../src/api/deps.js';
import { parseAlertmanagerConfig } from '../src/config/alertmanager.js';
import { buildRouteTree, routesFor } from '../src/dispatch/route.js';
import { signAckLink } from '../src/notify/links.js';
import { silenceState } from '../src/model/silence.js';
import { ACK_SECRET } from './support/api-server.js';
import { amConfig, recorder, startEngine, type Call } from './support/engine.js';
import { ManualClock } from './support/manual-clock.js';
import { quietLogger } from './support/stores.js';

const CHROMIUM = '/usr/lib/chromium/chromium';
const artifact = (name: string) => fileURLToPath(new URL(`./artifacts/${name}`, import.meta.url));
const TRACE_URL = 'http://127.0.0.1:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736';

// Rule health as rules/ reports it (Prometheus /api/v1/rules shape).
const RULES: PromRuleGroupView[] = [
  {
    name: 'checkout-slo',
    file: 'shop.rules.yml',
    interval: 15,
    rules: [
      { name: 'CheckoutLatencyHigh', type: 'alerting', health: 'ok', state: 'firing', lastEvaluation: new Date().toISOString() },
      { name: 'CartErrorsHigh', type: 'alerting', health: 'err', state: 'inactive', lastError: 'query timed out in expression evaluation', lastEvaluation: new Date().toISOString() },
    ],
  },
];

test('the page: firing group with evidence and rule health; silence created and expired through the form; ack via signed link', async (t) => {
  if (!existsSync(CHROMIUM)) return t.fail(`${CHROMIUM} is missing (apt-get install -y chromium)`);
  const schema = await freshSchema('web_page');
  const clock = new ManualClock(new Date());
  const calls: Call[] = [];
  const yaml = amConfig({ wait: '1s', interval: '10m', repeat: '4h' });
  const engine = await startEngine({
    schema: schema.name,
    yaml,
    clock,
    integrations: { r: [recorder({ name: 'webhook[0]', calls, clock })] },
    evidenceFor: async () => ({
      traces: [{ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', url: TRACE_URL, series: { service: 'checkout', route: '/pay' }, value: 2.4, timestamp: clock.now() }],
      logs: [{ time: clock.now(), service: 'checkout', level: 'error', message: 'payment provider timeout after 2s' }],
      notes: [],
    }),
  });
  clock.settle = () => engine.dispatcher.idle();
  const config = parseAlertmanagerConfig(yaml, 'alertmanager.yml');
  const tree = buildRouteTree(config);
  const app = createApi({
    stores: engine.stores,
    config: () => configView(config, (l) => routesFor(tree, l)),
    reload: async () => undefined,
    rules: { listGroups: () => RULES },
    dispatcher: () => dispatcherView(engine.dispatcher),
    externalURL: 'http://127.0.0.1',
    ackSecret: ACK_SECRET,
    clock,
    logger: quietLogger,
    registry: new Registry(),
  });
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  t.teardown(async () => {
    await browser.close();
    server.closeAllConnections();
    server.close();
    await engine.stop();
    await schema.drop();
  });

  const name = uniqueName('CheckoutLatencyHigh');
  const post = await fetch(`${url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([
      {
        labels: { alertname: name, service: 'checkout', severity: 'page' },
        annotations: {
          summary: 'Checkout p99 latency 2.4s (SLO 500ms)',
          description: '<img src=x onerror="document.title=1"><script>document.title="pwned"</script>',
          runbook_url: 'https://runbooks.example.com/checkout-latency',
          dashboard_url: 'javascript:alert(1)',
        },
      },
    ]),
  });
  t.is(post.status, 200);
  await waitFor(() => engine.dispatcher.isLeader(), { what: 'dispatcher lease' });
  await clock.to(2);
  await waitFor(() => calls.length > 0, { what: 'first notification (evidence gathered)' });
  const group = engine.dispatcher.groupsView().find((g) => g.alerts.some((a) => a.labels.alertname === name))!;
  t.truthy(group, 'the dispatcher holds the group');

  const page = await browser.newPage();
  const cspErrors: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
  });
  await page.goto(`${url}/`);
  const section = page.locator('section.group', { hasText: name });
  await section.waitFor();
  t.regex(await section.innerText(), /Checkout p99 latency 2\.4s/);
  t.regex(await section.innerText(), /not acknowledged/);
  t.is(await section.locator(`a[href="${TRACE_URL}"]`).count(), 1, 'evidence trace link');
  t.regex(await section.innerText(), /payment provider timeout/);
  t.is(await section.locator('a[href="https://runbooks.example.com/checkout-latency"]').count(), 1, 'runbook link');
  t.is(await section.locator('a[href^="javascript:"]').count(), 0, 'javascript: URL is not a link');
  t.is(await page.locator('main img, main script').count(), 0, 'hostile markup inert');
  t.regex(await section.innerText(), /<script>document\.title="pwned"<\/script>/, 'shown as text');
  t.notRegex(await page.title(), /pwned|^1$/);
  const rules = page.locator('#rules ~ table');
  t.regex(await rules.locator('tr[data-rule="CartErrorsHigh"]').innerText(), /error[\s\S]*query timed out/);
  t.regex(await rules.locator('tr[data-rule="CheckoutLatencyHigh"]').innerText(), /ok/);
  t.deepEqual(cspErrors, []);
  await page.screenshot({ path: artifact('web-page-firing.png'), fullPage: true });

  // create a silence through the form
  await page.fill('input[name=matchers]', `alertname="${name}"`);
  await page.fill('input[name=duration]', '1h');
  await page.fill('input[name=createdBy]', 'alice');
  await page.fill('input[name=comment]', 'rolling back the deploy');
  await Promise.all([page.waitForURL(/notice=/), page.click('button:has-text("Create silence")')]);
  t.regex(await page.locator('.notice').innerText(), /Silence [0-9a-f-]{36} created/);
  const silences = await engine.stores.silences.list();
  t.is(silences.length, 1);
  const sil = silences[0]!;
  t.is(sil.createdBy, 'alice');
  t.deepEqual(sil.matchers, [{ name: 'alertname', value: name, isRegex: false, isEqual: true }]);
  t.is(sil.endsAt.getTime() - sil.startsAt.getTime(), 3600_000);
  const row = page.locator(`tr[data-silence-id="${sil.id}"]`);
  t.regex(await row.innerText(), /active/);
  t.regex(await section.innerText(), new RegExp(`suppressed by silence ${sil.id}`));
  await page.screenshot({ path: artifact('web-page-silenced.png'), fullPage: true });

  // a bad form is answered on the page, naming the field, and stores nothing
  await page.fill('input[name=matchers]', 'alertname=~"("');
  await page.fill('input[name=duration]', '1h');
  await page.fill('input[name=createdBy]', 'alice');
  await page.fill('input[name=comment]', 'x');
  await page.click('button:has-text("Create silence")');
  await page.locator('.problem').waitFor();
  t.regex(await page.locator('.problem').innerText(), /^matchers: /);
  t.is((await engine.stores.silences.list()).length, 1);

  // expire it
  await page.goto(`${url}/`);
  await Promise.all([page.waitForURL(/notice=/), page.locator(`tr[data-silence-id="${sil.id}"] button`).click()]);
  t.regex(await page.locator('.notice').innerText(), /expired/);
  t.is(silenceState((await engine.stores.silences.get(sil.id))!, clock.now()), 'expired');
  t.regex(await page.locator(`tr[data-silence-id="${sil.id}"]`).innerText(), /expired/);

  // acknowledge through the signed link from the notification
  const link = signAckLink(group.groupKey, { externalURL: url, secret: ACK_SECRET, now: clock.now() });
  await page.goto(link);
  t.regex(await page.locator('main').innerText(), /Checkout p99 latency/);
  await page.fill('input[name=by]', 'bob');
  await page.screenshot({ path: artifact('web-ack-form.png'), fullPage: true });
  await page.click('button:has-text("Acknowledge")');
  await page.locator('.notice').waitFor();
  t.regex(await page.locator('.notice').innerText(), /Acknowledged by bob/);
  t.is((await engine.stores.acks.get(group.groupKey))?.by, 'bob');
  await page.goto(`${url}/`);
  t.regex(await page.locator('section.group', { hasText: name }).innerText(), /acknowledged by bob/);
  await page.screenshot({ path: artifact('web-page-acked.png'), fullPage: true });

  // the notification's group link (#/groups/<key>) lands on the group; the silence link pre-fills the form
  const groupLink = `${url}/#/groups/${Buffer.from(group.groupKey).toString('base64url')}`;
  await page.goto(groupLink);
  t.is(await page.locator(`[id="/groups/${Buffer.from(group.groupKey).toString('base64url')}"]`).count(), 1);
  await page.goto(`${url}/#/silences/new?filter=${encodeURIComponent(`{alertname="${name}"}`)}`);
  await page.waitForURL((u) => u.search.startsWith('?filter='));
  t.is(await page.inputValue('input[name=matchers]'), `alertname="${name}"`);
  t.deepEqual(cspErrors, []);
});

test('the forms refuse cross-site posts: no token, wrong token, foreign origin — 403 and nothing stored', async (t) => {
  const schema = await freshSchema('web_csrf');
  const clock = new ManualClock(new Date());
  const engine = await startEngine({ schema: schema.name, yaml: amConfig({ wait: '1s', interval: '1m', repeat: '1h' }), clock, integrations: {} });
  const config = parseAlertmanagerConfig(amConfig({ wait: '1s', interval: '1m', repeat: '1h' }));
  const app = createApi({ stores: engine.stores, config: () => configView(config), reload: async () => undefined, externalURL: 'http://127.0.0.1', ackSecret: ACK_SECRET, clock, logger: quietLogger, registry: new Registry() });
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.teardown(async () => {
    server.closeAllConnections();
    server.close();
    await engine.stop();
    await schema.drop();
  });
  const first = await fetch(`${url}/`);
  const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0]!;
  const token = /name="_csrf" value="([0-9a-f]{64})"/.exec(await first.text())![1]!;
  const form = (extra: string) => `matchers=alertname%3D%22X%22&duration=1h&createdBy=eve&comment=x${extra}`;
  const post = (headers: Record<string, string>, body: string) =>
    fetch(`${url}/ui/silences`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  const cases: [string, Record<string, string>, string][] = [
    ['no token', { origin: url, cookie }, form('')],
    ['wrong token', { origin: url, cookie }, form(`&_csrf=${'0'.repeat(64)}`)],
    ['token without its cookie', { origin: url }, form(`&_csrf=${token}`)],
    ['foreign origin', { origin: 'https://evil.example', cookie }, form(`&_csrf=${token}`)],
    ['no origin or referer', { cookie }, form(`&_csrf=${token}`)],
  ];
  for (const [what, headers, body] of cases) {
    const r = await post(headers, body);
    t.is(r.status, 403, what);
    t.regex(await r.text(), /origin|_csrf/, what);
  }
  t.deepEqual(await engine.stores.silences.list(), []);
  const ok = await post({ origin: url, cookie }, form(`&_csrf=${token}`));
  t.is(ok.status, 303);
  t.is((await engine.stores.silences.list()).length, 1);
});
