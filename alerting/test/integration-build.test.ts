// integrationsFor: an Alertmanager config file's receiver → working integrations (names, globals,
// *_file secrets, bot mode), end to end against loopback receivers.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAlertmanagerConfig } from '../src/config/alertmanager.js';
import { ConfigError } from '../src/model/errors.js';
import { integrationsFor } from '../src/notify/integrations/build.js';
import { SlackQueues } from '../src/notify/integrations/slack-queue.js';
import { alert, context, receiver } from './support/integration-fixtures.js';

const never = new AbortController().signal;

test('integrationsFor: slack (global api url), email, webhook (url_file, bearer) from a config file, named type[index]', async (t) => {
  const slack = await receiver();
  const hook = await receiver();
  t.teardown(slack.close);
  t.teardown(hook.close);
  const dir = mkdtempSync(join(tmpdir(), 'alerting-build-'));
  writeFileSync(join(dir, 'hook-url'), `${hook.url}/hook/secret\n`);
  const cfg = parseAlertmanagerConfig(`
global:
  slack_api_url: ${slack.url}/services/T/B/secret
  smtp_smarthost: 127.0.0.1:2525
  smtp_from: alerts@example.com
route:
  receiver: oncall
receivers:
  - name: oncall
    slack_configs:
      - channel: '#a'
      - api_url: ${slack.url}/services/T/B/other
        send_resolved: true
    email_configs:
      - to: oncall@example.com
        require_tls: false
    webhook_configs:
      - url_file: ${join(dir, 'hook-url')}
        max_alerts: 1
        http_config:
          authorization:
            credentials: hook-token
`);
  const ints = integrationsFor(cfg.receivers[0]!, { slackQueues: new SlackQueues() });
  t.deepEqual(
    ints.map((i) => [i.name, i.type, i.sendResolved]),
    [
      ['slack[0]', 'slack', false],
      ['slack[1]', 'slack', true],
      ['email[0]', 'email', false],
      ['webhook[0]', 'webhook', true],
    ],
  );
  const ctx = context([alert({ alertname: 'A', i: '1' }), alert({ alertname: 'A', i: '2' })]);
  await ints[0]!.notify(ctx, never);
  await ints[3]!.notify(ctx, never);
  t.is(slack.got[0]!.path, '/services/T/B/secret');
  t.is((JSON.parse(slack.got[0]!.body) as { channel: string }).channel, '#a');
  t.is(hook.got[0]!.path, '/hook/secret');
  t.is(hook.got[0]!.headers.authorization, 'Bearer hook-token');
  t.is((JSON.parse(hook.got[0]!.body) as { truncatedAlerts: number }).truncatedAlerts, 1);
});

test('integrationsFor: an unreadable *_file is a ConfigError naming the key; a bot token needs a channel', (t) => {
  const cfg = parseAlertmanagerConfig(`
route: { receiver: r }
receivers:
  - name: r
    webhook_configs:
      - url_file: /nonexistent/hook-url
`);
  const err = t.throws(() => integrationsFor(cfg.receivers[0]!), { instanceOf: ConfigError });
  t.is((err as ConfigError).key, 'receivers.r.webhook_configs[0].url_file');
  const bot = parseAlertmanagerConfig(`
route: { receiver: r }
receivers:
  - name: r
    slack_configs:
      - api_url: https://slack.com/api/chat.postMessage
        http_config: { authorization: { credentials: xoxb-1 } }
`);
  const e2 = t.throws(() => integrationsFor(bot.receivers[0]!), { instanceOf: ConfigError });
  t.is((e2 as ConfigError).key, 'receivers.r.slack_configs[0].channel');
  t.false(e2.message.includes('xoxb-1'));
});
