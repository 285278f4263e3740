// The webhook integration against a loopback receiver: Alertmanager's v4 body, max_alerts, status
// classes, timeout, and that the URL (its token) never shows in errors.
import test from 'ava';
import { RetryableNotifyError } from '../src/model/notification.js';
import { PermanentNotifyError } from '../src/notify/integrations/http.js';
import { WebhookIntegration, type WebhookMessage } from '../src/notify/integrations/webhook.js';
import { alert, context, receiver } from './support/integration-fixtures.js';

const never = new AbortController().signal;

test('webhook: version 4 payload with every field, firing endsAt as Go zero time, resolved alerts, max_alerts truncation', async (t) => {
  const r = await receiver();
  t.teardown(r.close);
  const firing = alert({ alertname: 'DiskFull', instance: 'a' }, { summary: 'disk' }, { generatorURL: 'http://prom/graph?g0.expr=x' });
  const resolved = alert({ alertname: 'DiskFull', instance: 'b' }, { summary: 'disk' }, { endsAt: new Date(Date.now() - 60_000) });
  const third = alert({ alertname: 'DiskFull', instance: 'c' }, { summary: 'disk' });
  const ctx = context([firing, third, resolved], { groupLabels: { alertname: 'DiskFull' } });
  await new WebhookIntegration('webhook[0]', { url: `${r.url}/hook`, sendResolved: true, maxAlerts: 0, timeoutMs: 5000, headers: { authorization: 'Bearer tok' } }).notify(ctx, never);
  await new WebhookIntegration('webhook[1]', { url: `${r.url}/hook`, sendResolved: true, maxAlerts: 2, timeoutMs: 5000 }).notify(ctx, never);
  const [all, cut] = r.got.map((g) => JSON.parse(g.body) as WebhookMessage);
  t.is(r.got[0]!.headers['content-type'], 'application/json');
  t.is(r.got[0]!.headers.authorization, 'Bearer tok');
  t.deepEqual(Object.keys(all!).sort(), ['alerts', 'commonAnnotations', 'commonLabels', 'externalURL', 'groupKey', 'groupLabels', 'receiver', 'status', 'truncatedAlerts', 'version']);
  t.like(all, {
    version: '4',
    groupKey: ctx.groupKey,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'oncall',
    groupLabels: { alertname: 'DiskFull' },
    commonLabels: { alertname: 'DiskFull' },
    commonAnnotations: { summary: 'disk' },
    externalURL: 'https://alerts.example.com',
  });
  t.deepEqual(all!.alerts[0], {
    status: 'firing',
    labels: firing.labels,
    annotations: firing.annotations,
    startsAt: firing.startsAt.toISOString(),
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prom/graph?g0.expr=x',
    fingerprint: firing.fingerprint,
  });
  t.is(all!.alerts[2]!.status, 'resolved');
  t.is(all!.alerts[2]!.endsAt, resolved.endsAt.toISOString());
  t.is(cut!.alerts.length, 2);
  t.is(cut!.truncatedAlerts, 1);
});

test('webhook errors: 5xx and 429 retryable (with Retry-After), 4xx permanent, timeout retryable; the URL token never appears', async (t) => {
  const r = await receiver((req, _n, res) => {
    if (req.path.includes('/five')) res.writeHead(502).end('bad gateway');
    else if (req.path.includes('/many')) res.writeHead(429, { 'retry-after': '7' }).end('slow down');
    else if (req.path.includes('/slow')) setTimeout(() => res.writeHead(200).end(), 3000);
    else res.writeHead(404).end('no such hook');
  });
  t.teardown(r.close);
  const secret = 'tok3n-s3cr3t';
  const hook = (path: string, timeoutMs = 5000) => new WebhookIntegration('webhook[0]', { url: `${r.url}${path}/${secret}?key=${secret}`, sendResolved: true, maxAlerts: 0, timeoutMs }).notify(context([alert({ alertname: 'A' })]), never);
  const e5 = await t.throwsAsync(hook('/five'), { instanceOf: RetryableNotifyError });
  const e429 = await t.throwsAsync(hook('/many'), { instanceOf: RetryableNotifyError });
  t.is((e429 as RetryableNotifyError).retryAfterMs, 7000);
  const e4 = await t.throwsAsync(hook('/gone'), { instanceOf: PermanentNotifyError });
  t.regex(e4.message, /404: no such hook/);
  const eT = await t.throwsAsync(hook('/slow', 200), { instanceOf: RetryableNotifyError });
  t.regex(eT.message, /timed out/);
  for (const e of [e5, e429, e4, eT]) t.false(e.message.includes(secret), e.message);
});

test('webhook: credentials written in the URL go as basic auth (as Go sends them), never in errors', async (t) => {
  const r = await receiver((req, _n, res) => res.writeHead(req.path.includes('/down') ? 503 : 200).end());
  t.teardown(r.close);
  const base = r.url.replace('http://', 'http://hook%20user:p%40ss-w0rd@');
  const hook = (path: string) => new WebhookIntegration('webhook[0]', { url: `${base}${path}`, sendResolved: true, maxAlerts: 0, timeoutMs: 5000 }).notify(context([alert({ alertname: 'A' })]), never);
  await hook('/up');
  t.is(r.got[0]!.headers.authorization, `Basic ${Buffer.from('hook user:p@ss-w0rd').toString('base64')}`);
  const err = await t.throwsAsync(hook('/down'), { instanceOf: RetryableNotifyError });
  t.false(err.message.includes('p@ss-w0rd') || err.message.includes('p%40ss-w0rd'), err.message);
});
