// Slack: the Block Kit message, the per-destination queue (rate, order, Retry-After), error classes and
// secret redaction, and bot-token threading — against HTTP receivers on loopback.
import test from 'ava';
import { RetryableNotifyError, type NotificationContext } from '../src/model/notification.js';
import { PermanentNotifyError } from '../src/notify/integrations/http.js';
import { SlackIntegration } from '../src/notify/integrations/slack.js';
import { MAX_BLOCKS, MAX_SECTION_CHARS, type Block, type SlackPayload } from '../src/notify/integrations/slack-blocks.js';
import { DEFAULT_SLACK_QUEUE, SlackQueues } from '../src/notify/integrations/slack-queue.js';
import { waitFor } from '@lantern/testkit';
import { alert, context, ManualClock, receiver } from './support/integration-fixtures.js';

const SECRET_PATH = '/services/T000/B000/XXXXsecretXXXX';
const never = new AbortController().signal;

function slack(url: string, over: { queues?: SlackQueues; clock?: ManualClock; botToken?: string; channel?: string } = {}): SlackIntegration {
  return new SlackIntegration(
    'slack[0]',
    { apiUrl: url, sendResolved: true, timeoutMs: 5000, botToken: over.botToken, channel: over.channel },
    { queues: over.queues ?? new SlackQueues(DEFAULT_SLACK_QUEUE, over.clock), clock: over.clock },
  );
}

function richContext(): NotificationContext {
  const labels = { alertname: 'HighLatency', service: 'checkout', env: 'prod', severity: 'critical' };
  const ann = { summary: 'p99 latency above 500ms', description: 'Checkout p99 is 1.2s for 5 minutes', runbook_url: 'https://runbooks.example.com/latency', dashboard_url: 'https://grafana.example.com/d/checkout', value: '1.2s' };
  const alerts = [alert({ ...labels, instance: 'checkout-1:8080' }, ann), alert({ ...labels, instance: 'checkout-2:8080' }, ann)];
  const now = Date.now();
  return context(alerts, {
    evidence: {
      traces: [0, 1, 2, 3].map((i) => ({
        traceId: `${i}`.repeat(32),
        url: `http://127.0.0.1:16686/trace/${`${i}`.repeat(32)}`,
        series: { service: 'checkout', le: '2.5' },
        value: 1.1 + i,
        timestamp: new Date(now - i * 1000),
      })),
      logs: [0, 1, 2, 3, 4, 5, 6].map((i) => ({ time: new Date(now - i * 1000), service: 'checkout', level: 'error', message: `payment failed #${i}: timeout \`x\`` })),
      notes: [],
    },
  });
}

const blockOf = <T extends Block['type']>(p: SlackPayload, type: T, id?: string) =>
  p.blocks.find((b) => b.type === type && (id === undefined || ('block_id' in b && b.block_id === id))) as Extract<Block, { type: T }> | undefined;

test('Block Kit payload: header, fields, annotations, buttons with runbook/dashboard/trace/group/silence/ack, evidence, context', (t) => {
  const ctx = richContext();
  const p = slack('http://127.0.0.1:1/x').payload(ctx);
  t.is(blockOf(p, 'header')!.text.text, '🔴 [FIRING:2] HighLatency · critical (service=checkout)');
  t.true(p.text.includes('[FIRING:2] HighLatency'), 'plain text fallback');
  const fields = blockOf(p, 'section', 'fields')!.fields!.map((f) => f.text);
  t.true(fields.includes('*service*\ncheckout'));
  t.true(fields.includes('*env*\nprod'));
  t.true(fields.includes('*instance*\ncheckout-1:8080, checkout-2:8080'));
  t.true(fields.includes('*value*\n1.2s'));
  t.true(fields.some((f) => /^\*started\*\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/.test(f)));
  const ann = blockOf(p, 'section', 'annotations')!.text!.text;
  t.true(ann.includes('p99 latency above 500ms') && ann.includes('Checkout p99 is 1.2s'));
  const buttons = Object.fromEntries(blockOf(p, 'actions')!.elements.map((e) => [e.action_id, e.url]));
  t.deepEqual(buttons, {
    runbook: 'https://runbooks.example.com/latency',
    dashboard: 'https://grafana.example.com/d/checkout',
    trace: ctx.evidence.traces[0]!.url,
    group: ctx.links.group,
    source: ctx.alerts[0]!.generatorURL,
    silence: ctx.links.silence,
    ack: ctx.links.ack,
  });
  const traces = blockOf(p, 'section', 'traces')!.text!.text;
  t.is((traces.match(/<http:\/\/127\.0\.0\.1:16686\/trace\//g) ?? []).length, 3, 'at most 3 example traces');
  const logs = blockOf(p, 'section', 'logs')!.text!.text;
  t.regex(logs, /```[\s\S]*```$/);
  t.is((logs.match(/payment failed #/g) ?? []).length, 5, 'at most 5 log lines');
  t.false(logs.slice(logs.indexOf('```') + 3, -3).includes('`'), 'no backtick ends the code block early');
  const meta = blockOf(p, 'context')!.elements[0]!.text;
  t.true(meta.includes('Group key:') && meta.includes('alertname="HighLatency"'));
  t.is(p.unfurl_links, false);
});

test('Block Kit payload stays within Slack limits with huge annotations, many alerts and long logs', (t) => {
  const huge = 'x'.repeat(100_000);
  const alerts = Array.from({ length: 200 }, (_, i) => alert({ alertname: 'Big', service: 's', instance: `host-${i}-${huge.slice(0, 500)}` }, { summary: huge, description: huge, value: huge }));
  const ctx = context(alerts, {
    groupLabels: { alertname: huge },
    evidence: {
      traces: [],
      logs: Array.from({ length: 50 }, () => ({ time: new Date(), service: 's', level: 'error', message: huge })),
      notes: [huge, huge],
    },
  });
  const p = slack('http://127.0.0.1:1/x').payload(ctx);
  t.true(p.blocks.length <= MAX_BLOCKS);
  t.true(JSON.stringify(p).length < 13_000, `whole message ${JSON.stringify(p).length} chars`);
  t.true(blockOf(p, 'header')!.text.text.length <= 150);
  for (const b of p.blocks) {
    if (b.type === 'section') {
      if (b.text) t.true(b.text.text.length <= MAX_SECTION_CHARS);
      for (const f of b.fields ?? []) t.true(f.text.length <= 2000);
      t.true((b.fields ?? []).length <= 10);
    }
  }
  t.true(p.text.length > 0 && p.text.length <= 1000);
});

test('Block Kit: annotations cannot inject mentions or links; acknowledged groups say who and drop the ack button', (t) => {
  const a = alert({ alertname: 'X', severity: 'warning' }, { summary: '<!channel> see <https://evil|here> & more' });
  const p = slack('http://127.0.0.1:1/x').payload(context([a], { acknowledgedBy: 'alice@example.com' }));
  const ann = blockOf(p, 'section', 'annotations')!.text!.text;
  t.true(ann.includes('&lt;!channel&gt;') && ann.includes('&amp; more'));
  t.false(ann.includes('<!channel>'));
  t.regex(blockOf(p, 'section', 'ack')!.text!.text, /Acknowledged by alice@example\.com/);
  t.true(blockOf(p, 'header')!.text.text.startsWith('👀'));
  t.false(blockOf(p, 'actions')!.elements.some((e) => e.action_id === 'ack'));
});

test('429 with Retry-After: 1 then 200: the message is delivered exactly once, after the pause', async (t) => {
  const r = await receiver((_req, n, res) => {
    if (n === 1) res.writeHead(429, { 'retry-after': '1', 'content-type': 'text/plain' }).end('rate_limited');
    else res.writeHead(200).end('ok');
  });
  t.teardown(r.close);
  await slack(r.url + SECRET_PATH).notify(richContext(), never);
  t.is(r.got.length, 2, 'one refused attempt and one delivery');
  t.is(r.got[0]!.body, r.got[1]!.body, 'the same message was re-sent');
  await new Promise((res) => setTimeout(res, 1500));
  t.is(r.got.length, 2, 'no second copy came');
});

test('Retry-After is honoured: nothing is re-sent before it passes (manual clock), then exactly once', async (t) => {
  const clock = new ManualClock();
  const r = await receiver((_req, n, res) => {
    if (n === 1) res.writeHead(429, { 'retry-after': '5' }).end('rate_limited');
    else res.writeHead(200).end('ok');
  });
  t.teardown(r.close);
  let done = false;
  const sent = slack(r.url + SECRET_PATH, { clock }).notify(richContext(), never).then(() => (done = true));
  await waitFor(() => r.got.length === 1 && clock.pending === 1, { what: 'the 429 and the queue pausing' });
  clock.advance(4999);
  await new Promise((res) => setTimeout(res, 300));
  t.is(r.got.length, 1, 'not re-sent before Retry-After');
  t.false(done);
  clock.advance(1);
  await sent;
  t.is(r.got.length, 2);
});

test('queue: one message per second after a burst of 2, in order; another destination is not held up', async (t) => {
  const clock = new ManualClock();
  const queues = new SlackQueues({ ratePerSecond: 1, burst: 2, maxRetryAfterMs: 60_000, maxRateLimitedAttempts: 5 }, clock);
  const a = await receiver();
  const b = await receiver();
  t.teardown(a.close);
  t.teardown(b.close);
  const intA = slack(a.url + SECRET_PATH, { clock, queues });
  const intB = slack(b.url + SECRET_PATH, { clock, queues });
  const sends = [0, 1, 2, 3, 4].map((i) => intA.notify(context([alert({ alertname: `Order${i}` })]), never));
  await waitFor(() => a.got.length === 2 && clock.pending === 1, { what: 'the burst' });
  await intB.notify(context([alert({ alertname: 'Other' })]), never);
  t.is(b.got.length, 1, 'the other destination sent at once');
  await new Promise((res) => setTimeout(res, 200));
  t.is(a.got.length, 2, 'no more than the burst without time passing');
  for (const expected of [3, 4, 5]) {
    clock.advance(1000);
    await waitFor(() => a.got.length === expected && (expected === 5 || clock.pending === 1), { what: `message ${expected}` });
    t.is(a.got.length, expected);
  }
  await Promise.all(sends);
  const order = a.got.map((g) => (JSON.parse(g.body) as SlackPayload).text.match(/Order(\d)/)![1]);
  t.deepEqual(order, ['0', '1', '2', '3', '4']);
});

test('errors: 5xx retryable, 4xx permanent with Slack error text, unreachable retryable — the webhook URL never appears', async (t) => {
  const r = await receiver((req, _n, res) => {
    if (req.path.endsWith('/five')) res.writeHead(503).end('service down');
    else if (req.path.endsWith('/four')) res.writeHead(400).end('invalid_blocks');
    else res.writeHead(200).end('not ok');
  });
  t.teardown(r.close);
  const ctx = richContext();
  const e5 = await t.throwsAsync(slack(`${r.url}${SECRET_PATH}/five`).notify(ctx, never), { instanceOf: RetryableNotifyError });
  const e4 = await t.throwsAsync(slack(`${r.url}${SECRET_PATH}/four`).notify(ctx, never), { instanceOf: PermanentNotifyError });
  t.regex(e4.message, /400: invalid_blocks/);
  const eBody = await t.throwsAsync(slack(`${r.url}${SECRET_PATH}/odd`).notify(ctx, never), { instanceOf: PermanentNotifyError });
  t.regex(eBody.message, /not ok/);
  const eNet = await t.throwsAsync(slack(`http://127.0.0.1:1${SECRET_PATH}`).notify(ctx, never), { instanceOf: RetryableNotifyError });
  for (const e of [e5, e4, eBody, eNet]) {
    t.false(e.message.includes('XXXXsecretXXXX'), e.message);
    t.false(JSON.stringify(e).includes('XXXXsecretXXXX'));
    t.true(e.message.includes('<redacted>'));
  }
});

test('bot token: chat.postMessage with the token; later messages of the group (ack notice) reply in the first one’s thread', async (t) => {
  let ts = 0;
  const api = await receiver((_req, _n, res) => {
    ts++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, ts: `1700000000.00000${ts}`, channel: 'C1' }));
  });
  t.teardown(api.close);
  const int = slack(`${api.url}/api/chat.postMessage`, { botToken: 'xoxb-secret-token', channel: '#oncall' });
  const ctx = richContext();
  await int.notify(ctx, never);
  await int.notify({ ...ctx, acknowledgedBy: 'bob' }, never);
  const [first, second] = api.got.map((g) => JSON.parse(g.body) as SlackPayload & { channel: string });
  t.is(api.got[0]!.headers.authorization, 'Bearer xoxb-secret-token');
  t.is(first!.channel, '#oncall');
  t.is(first!.thread_ts, undefined);
  t.is(second!.thread_ts, '1700000000.000001');
  t.true(JSON.stringify(second!.blocks).includes('Acknowledged by bob'));
  const failing = await receiver((_req, _n, res) => res.writeHead(200).end(JSON.stringify({ ok: false, error: 'channel_not_found' })));
  t.teardown(failing.close);
  const err = await t.throwsAsync(slack(`${failing.url}/api/chat.postMessage`, { botToken: 'xoxb-secret-token', channel: '#x' }).notify(ctx, never), { instanceOf: PermanentNotifyError });
  t.regex(err.message, /channel_not_found/);
  t.false(err.message.includes('xoxb-secret-token'));
});
