// The real engine (startEngine on a fresh schema, Slack stand-in on loopback): acknowledging through the
// signed link in a Slack message tells the channel who acknowledged and stops the group's repeats (the
// ack ends when a new alert joins the group), and POST /-/reload applies a changed routing file
// while a broken one is refused with a 400 naming the file and key, the old routing kept.
import { writeFile } from 'node:fs/promises';
import test from 'ava';
import { uniqueName, waitFor } from '@lantern/testkit';
import { verifyAckUrl } from '../src/notify/links.js';
import { about, E2E_ACK_SECRET, engineInProcess, firingOf, postAlerts, slackAmConfig, slackStandIn, type SlackStandIn } from './support/engine-e2e.js';

/** Waits until `alertname` has `n` more messages than it had when called (a count of ticks, not a time). */
async function moreMessages(slack: SlackStandIn, alertname: string, n: number): Promise<void> {
  const start = about(slack.messages(), alertname).length;
  await waitFor(() => about(slack.messages(), alertname).length >= start + n, { what: `${n} more messages for ${alertname}`, timeoutMs: 60_000 });
}

test('ack through the signed link: GET shows the group, POST records it, repeats stop; a new alert in the group ends the ack', async (t) => {
  const slack = await slackStandIn();
  t.teardown(slack.close);
  // repeat 2s over a 1s interval: a repeat every other tick while unacknowledged
  const e = await engineInProcess({ prefix: 'engine_e2e_ack', amYaml: slackAmConfig({ slackUrl: slack.url, wait: '1s', interval: '1s', repeat: '2s' }) });
  t.teardown(e.stop);
  const name = `AckMe_${uniqueName('a')}`;
  const control = `Control_${uniqueName('c')}`;
  await postAlerts(e.url, [
    { labels: { alertname: name, service: 'checkout', severity: 'critical', instance: 'a' }, annotations: { summary: 'Checkout is failing' } },
    { labels: { alertname: control, severity: 'warning' }, annotations: { summary: 'the clock of this test' } },
  ]);

  // unacknowledged, the group repeats
  await waitFor(() => firingOf(about(slack.messages(), name)).length >= 2, { what: 'a first message and a repeat', timeoutMs: 60_000 });
  const link = about(slack.messages(), name).at(-1)!.buttons.ack!;
  const v = verifyAckUrl(link, E2E_ACK_SECRET, new Date());
  t.true(v.ok);
  const groupKey = v.ok ? v.groupKey : '';

  const page = await fetch(link);
  t.is(page.status, 200);
  const html = await page.text();
  t.regex(html, /Acknowledge alert group/);
  t.regex(html, /Checkout is failing/);
  t.regex(html, /name="by"/);
  // the form posts back to the link itself (the signature is the authorisation: no session, no CSRF cookie)
  const action = /<form method="post" action="([^"]+)"/.exec(html)![1]!.replace(/&amp;|&#38;/g, '&');
  t.is(`${e.url}${action}`, link);

  // a bad name is answered on the page and records nothing
  const bad = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'by=' });
  t.is(bad.status, 400);
  t.is(await e.engine.stores.acks.get(groupKey), undefined);

  const ok = await fetch(`${e.url}${action}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'by=alice' });
  t.is(ok.status, 200);
  t.regex(await ok.text(), /Acknowledged by alice/);
  t.is((await e.engine.stores.acks.get(groupKey))?.by, 'alice');
  // the channel is told who acknowledged, in a notice without an ack button
  const notice = await waitFor(() => about(slack.messages(), name).find((m) => /Acknowledged by alice/.test(m.all)), { what: 'the acknowledgement notice', timeoutMs: 30_000 });
  t.falsy(notice.buttons.ack);
  const atAck = about(slack.messages(), name).length;

  // repeats stop: while the control group repeats twice, then twice more, the acknowledged group stays quiet
  // (a flush already under way when the ack landed may still deliver one message)
  await moreMessages(slack, control, 2);
  const settled = about(slack.messages(), name).length;
  t.true(settled - atAck <= 1, `at most one in-flight message after the ack (got ${settled - atAck})`);
  await moreMessages(slack, control, 3);
  t.is(about(slack.messages(), name).length, settled, 'no repeats after the acknowledgement');

  // a new alert joining the group ends the acknowledgement: it is announced, with an ack button again
  await postAlerts(e.url, [{ labels: { alertname: name, service: 'checkout', severity: 'critical', instance: 'b' }, annotations: { summary: 'Checkout is failing' } }]);
  const next = await waitFor(() => about(slack.messages(), name).find((m) => m.header.includes('[FIRING:2]')), { what: 'the message for the new alert', timeoutMs: 60_000 });
  t.truthy(next.buttons.ack);
  t.is(await e.engine.stores.acks.get(groupKey), undefined);
});

test('POST /-/reload: a new route takes effect; a broken file is refused (400 naming file and key) and the old routing keeps working', async (t) => {
  const slack = await slackStandIn();
  t.teardown(slack.close);
  const base = { slackUrl: slack.url, wait: '1s', interval: '1s', repeat: '1h' };
  const e = await engineInProcess({ prefix: 'engine_e2e_reload', amYaml: slackAmConfig(base) });
  t.teardown(e.stop);
  const tag = uniqueName('r');
  const alert = (n: string, team?: string) => ({ labels: { alertname: `${n}_${tag}`, ...(team ? { team } : {}) } });
  const where = (n: string) => waitFor(() => slack.messages().find((m) => m.header.includes(`${n}_${tag}`))?.path, { what: `a message for ${n}`, timeoutMs: 60_000 });

  await postAlerts(e.url, [alert('Before', 'b')]);
  t.is(await where('Before'), '/default');

  // a new receiver and route for team b
  const routed = slackAmConfig({ ...base, receivers: { b: '/b' }, routes: `    - receiver: b\n      matchers: ['team="b"']\n` });
  await writeFile(e.amFile, routed);
  const r1 = await fetch(`${e.url}/-/reload`, { method: 'POST' });
  t.is(r1.status, 200);
  await postAlerts(e.url, [alert('After', 'b'), alert('Other')]);
  t.is(await where('After'), '/b');
  t.is(await where('Other'), '/default');

  // a broken file: a bad duration, and (separately) a route to an undefined receiver
  await writeFile(e.amFile, routed.replace('group_wait: 1s', 'group_wait: soon'));
  const r2 = await fetch(`${e.url}/-/reload`, { method: 'POST' });
  t.is(r2.status, 400);
  const why = (await r2.json()) as string;
  t.true(why.includes(e.amFile), `names the file: ${why}`);
  t.regex(why, /route\.group_wait/);
  await writeFile(e.amFile, routed.replace('- receiver: b\n', '- receiver: nobody\n'));
  const r3 = await fetch(`${e.url}/-/reload`, { method: 'POST' });
  t.is(r3.status, 400);
  const why3 = (await r3.json()) as string;
  t.true(why3.includes(e.amFile));
  t.regex(why3, /nobody/);

  // the routing loaded last still applies
  await postAlerts(e.url, [alert('Kept', 'b'), alert('KeptOther')]);
  t.is(await where('Kept'), '/b');
  t.is(await where('KeptOther'), '/default');
  const status = (await (await fetch(`${e.url}/api/v2/status`)).json()) as { config: { original: string } };
  t.regex(status.config.original, /team="b"/);
  t.notRegex(status.config.original, /nobody|soon/);
});
