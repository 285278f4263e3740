// The whole path through the real engine: a rule file evaluated against the real Prometheus, which scrapes
// a loopback histogram whose exemplar is a failing trace held by an in-process collector; the engine routes
// the alert to a Slack stand-in. One firing message (Block Kit header with severity, summary, runbook and
// trace buttons, the service's error log line, a signed ack link), amtool lists the alert, and once the
// exporter stops breaching, one resolved message.
import test from 'ava';
import { promExemplars, promQuery, registerScrapeTarget, uniqueName, waitFor } from '@lantern/testkit';
import { verifyAckUrl } from '../src/notify/links.js';
import { about, amtool, E2E_ACK_SECRET, engineInProcess, firingOf, latencyExporter, resolvedOf, slackAmConfig, slackStandIn } from './support/engine-e2e.js';
import { logRecord, newSpanId, newTraceId, sendLogs, sendSpans, span, startCollector } from './support/evidence-fixtures.js';

interface UiTrace {
  spans: { operationName: string; tags: { key: string; value: unknown }[] }[];
}

test('rule → Prometheus → engine → Slack: one firing message with evidence and links, amtool sees it, one resolved message', async (t) => {
  const name = uniqueName('e2e_lat');
  const service = `${name}_checkout`;
  const alertname = `CheckoutLatencyHigh_${name}`;

  // the failing request: a trace with a failed child span and an error log line, in the collector
  const { c, otlp, query } = await startCollector(name);
  t.teardown(() => c.shutdown());
  const traceId = newTraceId();
  const rootId = newSpanId();
  const now = Date.now();
  await sendSpans(otlp, [
    span({ service, traceId, spanId: rootId, name: 'POST /checkout', startMs: now - 2000, durationMs: 1700 }),
    span({ service, traceId, parentSpanId: rootId, name: 'charge card', error: true, startMs: now - 1900, durationMs: 1500 }),
  ]);
  await sendLogs(otlp, [
    logRecord({ service, message: 'payment gateway timeout after 1.5s', severityNumber: 17, timeMs: now - 1800, traceId }),
    logRecord({ service, message: 'cart loaded', severityNumber: 9, timeMs: now - 1700 }),
  ]);

  // its latency histogram, scraped by the real Prometheus with the trace id as an exemplar
  const metric = `${name}_request_duration_seconds`;
  const exporter = await latencyExporter(metric, { service }, traceId);
  t.teardown(exporter.close);
  t.teardown(await registerScrapeTarget(name, exporter.hostPort));
  await waitFor(async () => (await promExemplars(`${metric}_bucket`, 600)).some((s) => s.exemplars.length > 0), { what: 'the exemplar in Prometheus', timeoutMs: 60_000 });

  const slack = await slackStandIn();
  t.teardown(slack.close);
  const rules = `groups:
  - name: ${name}
    interval: 1s
    rules:
      - alert: ${alertname}
        expr: histogram_quantile(0.99, sum by (le, service) (${metric}_bucket)) > 0.5
        for: 2s
        labels:
          severity: critical
        annotations:
          summary: 'p99 latency of {{ $labels.service }} is {{ $value | humanize }}s (SLO 500ms)'
          description: 'Checkout requests are slow; look at the example trace.'
          runbook_url: 'https://runbooks.example.com/checkout-latency'
`;
  const e = await engineInProcess({
    prefix: 'engine_e2e_ev',
    amYaml: slackAmConfig({ slackUrl: slack.url, groupBy: ['alertname', 'service'], wait: '1s', interval: '2s', repeat: '1h' }),
    rulesYaml: rules,
    traceUrl: `${query}/trace/{traceId}`,
    logsUrl: query,
  });
  t.teardown(e.stop);

  const firing = await waitFor(() => firingOf(about(slack.messages(), alertname))[0], { what: 'the firing Slack message', timeoutMs: 60_000 });
  t.regex(firing.header, new RegExp(`\\[FIRING:1\\] ${alertname} · critical \\(service=${service}\\)`));
  t.regex(firing.all, /p99 latency of .* is 2\.\d+s \(SLO 500ms\)/);
  t.regex(firing.all, /Checkout requests are slow/);
  t.is(firing.buttons.runbook, 'https://runbooks.example.com/checkout-latency');
  t.regex(firing.buttons.source ?? '', /g0\.expr=histogram_quantile/);

  // the trace button opens the failing trace in the collector
  t.is(firing.buttons.trace, `${query}/trace/${traceId}`);
  const tracePage = await fetch(firing.buttons.trace!);
  t.is(tracePage.status, 200);
  t.true((await tracePage.text()).includes(traceId));
  const tr = (await (await fetch(`${query}/api/traces/${traceId}`)).json()) as { data: UiTrace[] };
  const failing = tr.data[0]!.spans.find((s) => s.operationName === 'charge card');
  t.truthy(failing);
  t.true(failing!.tags.some((x) => x.key === 'error' && x.value === true), 'the failing span carries error=true');

  // the service's error log line (as the collector's /api/logs has it), not its info line
  const logs = (await (await fetch(`${query}/api/logs?service=${encodeURIComponent(service)}&level=error`)).json()) as { data: { message?: string; body?: string }[] };
  t.true(JSON.stringify(logs).includes('payment gateway timeout after 1.5s'));
  t.regex(firing.all, /Recent errors[\s\S]*ERROR payment gateway timeout after 1\.5s/);
  t.notRegex(firing.all, /cart loaded/);

  // a signed ack link to this engine for this group
  const ack = firing.buttons.ack!;
  t.true(ack.startsWith(`${e.url}/ack/`));
  const check = verifyAckUrl(ack, E2E_ACK_SECRET, new Date());
  t.true(check.ok);
  if (check.ok) t.regex(check.groupKey, new RegExp(`alertname="${alertname}"`));

  // amtool sees the firing alert through the v2 API
  const q = await amtool(e.url, 'alert', 'query', `alertname=${alertname}`);
  t.regex(q.stdout, new RegExp(`${alertname}\\s`));

  // the breach ends: one resolved message, and the group is gone (nothing more can be sent for it)
  exporter.setBreaching(false);
  await waitFor(async () => (await promQuery(`histogram_quantile(0.99, sum by (le, service) (${metric}_bucket)) > 0.5`)).length === 0, { what: 'Prometheus to see the breach end', timeoutMs: 60_000 });
  const resolved = await waitFor(() => resolvedOf(about(slack.messages(), alertname))[0], { what: 'the resolved Slack message', timeoutMs: 60_000 });
  t.regex(resolved.header, new RegExp(`\\[RESOLVED\\] ${alertname}`));
  t.is(resolved.buttons.ack, undefined, 'no ack link on a resolved message');
  await waitFor(() => !e.engine.dispatcher.groupsView().some((g) => g.labels.alertname === alertname), { what: 'the resolved group to be removed', timeoutMs: 30_000 });
  const all = about(slack.messages(), alertname);
  t.is(firingOf(all).length, 1, 'exactly one firing message');
  t.is(resolvedOf(all).length, 1, 'exactly one resolved message');
  t.is(all.length, 2);
});
