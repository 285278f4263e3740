// Evidence end to end: a failing trace sent to an in-process collector, its trace id scraped by the real
// Prometheus as an exemplar of a histogram bucket, error logs in the collector's store. evidenceFor() on
// an alert over that histogram links the trace; the link shows the failing span; the logs come back.
import test from 'ava';
import { infra, registerScrapeTarget, uniqueName, waitFor, promExemplars } from '@lantern/testkit';
import { createEvidenceSource } from '../src/evidence/source.js';
import { alert } from './support/integration-fixtures.js';
import { exemplarExporter, logRecord, newSpanId, newTraceId, sendLogs, sendSpans, span, startCollector } from './support/evidence-fixtures.js';

interface UiTrace {
  traceID: string;
  spans: { spanID: string; operationName: string; tags: { key: string; value: unknown }[] }[];
}

test('evidenceFor: exemplar trace link from Prometheus (alert expression → histogram), the failing span behind it, and the service’s error logs', async (t) => {
  const name = uniqueName('ev');
  const service = `${name}_checkout`;
  const { c, otlp, query } = await startCollector(name);
  t.teardown(() => c.shutdown());

  // a trace whose child span failed
  const traceId = newTraceId();
  const rootId = newSpanId();
  const now = Date.now();
  await sendSpans(otlp, [
    span({ service, traceId, spanId: rootId, name: 'POST /checkout', startMs: now - 2000, durationMs: 300 }),
    span({ service, traceId, parentSpanId: rootId, name: 'charge card', error: true, startMs: now - 1900, durationMs: 100 }),
  ]);
  await sendLogs(otlp, [
    logRecord({ service, message: 'payment gateway timeout after 1.5s', severityNumber: 17, timeMs: now - 1800, traceId }),
    logRecord({ service, message: 'cart loaded', severityNumber: 9, timeMs: now - 1700 }),
    logRecord({ service: `${service}_other`, message: 'someone else failed', severityNumber: 17, timeMs: now - 1700 }),
  ]);

  // Prometheus scrapes the trace id as an exemplar
  const metric = `${name}_request_duration_seconds`;
  const exporter = await exemplarExporter(metric, { service }, traceId);
  t.teardown(exporter.close);
  const unregister = await registerScrapeTarget(name, exporter.hostPort);
  t.teardown(unregister);
  await waitFor(async () => (await promExemplars(`${metric}_bucket`, 600)).some((s) => s.exemplars.length > 0), { what: 'the exemplar in Prometheus', timeoutMs: 60_000 });

  const expr = `histogram_quantile(0.99, sum by (le, service) (rate(${metric}_bucket[5m]))) > 0.5`;
  const firing = alert(
    { alertname: 'HighLatency', service, severity: 'critical' },
    { summary: 'p99 above 500ms' },
    { startsAt: new Date(now - 60_000), generatorURL: `${infra.prometheusUrl}/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1` },
  );
  const source = createEvidenceSource({ prometheusUrl: infra.prometheusUrl, traceUrl: `${query}/trace/{traceId}`, logs: { kind: 'collector', url: query } });
  const ev = await source.evidenceFor([firing]);
  t.deepEqual(ev.notes, []);
  t.is(ev.traces.length, 1);
  const tr = ev.traces[0]!;
  t.is(tr.traceId, traceId);
  t.is(tr.url, `${query}/trace/${traceId}`);
  t.is(tr.value, 1.7);
  t.is(tr.series.service, service);

  // the link opens the trace page; the API behind it shows the failing span
  const page = await fetch(tr.url);
  t.is(page.status, 200);
  t.true((await page.text()).includes(traceId));
  const got = await waitFor(
    async () => {
      const r = await fetch(`${query}/api/traces/${traceId}`);
      return r.status === 200 ? ((await r.json()) as { data: UiTrace[] }).data[0] : undefined;
    },
    { what: 'the trace in the store' },
  );
  const failing = got.spans.find((s) => s.operationName === 'charge card')!;
  t.truthy(failing);
  t.true(failing.tags.some((x) => x.key === 'error' && x.value === true));
  t.true(failing.tags.some((x) => x.key === 'otel.status_code' && x.value === 'ERROR'));

  // error-level lines of the alert's service only
  t.deepEqual(
    ev.logs.map((l) => [l.service, l.level, l.message, l.traceId]),
    [[service, 'error', 'payment gateway timeout after 1.5s', traceId]],
  );
});

test('evidenceFor: unreachable Prometheus and log source become notes, never exceptions; the lantern_exemplar_query annotation is used as given', async (t) => {
  const source = createEvidenceSource({
    prometheusUrl: 'http://127.0.0.1:1',
    traceUrl: 'http://127.0.0.1:16686',
    logs: { kind: 'collector', url: 'http://127.0.0.1:1' },
    limits: { timeoutMs: 2000 },
  });
  const a = alert({ alertname: 'Errors', service: 'pay' }, { lantern_exemplar_query: 'http_requests_total{service="pay"}' });
  const ev = await source.evidenceFor([a]);
  t.deepEqual(ev.traces, []);
  t.deepEqual(ev.logs, []);
  t.is(ev.notes.length, 2);
  t.regex(ev.notes.join('\n'), /example traces unavailable.*127\.0\.0\.1:1 unreachable/);
  t.regex(ev.notes.join('\n'), /recent error logs of pay unavailable \(collector\)/);
  // a real Prometheus that refuses the query: a note naming its error
  const bad = createEvidenceSource({ prometheusUrl: infra.prometheusUrl, traceUrl: 'http://x/trace/{traceId}' });
  const ev2 = await bad.evidenceFor([alert({ alertname: 'E' }, { lantern_exemplar_query: 'sum(' })]);
  t.is(ev2.notes.length, 1);
  t.regex(ev2.notes[0]!, /answered 400/);
});
