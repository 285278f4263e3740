// The shipped configs (npm run demo's and docker-compose's) validate against every component's schema.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { readConfigFile, validateConfig } from '../src/config/load.js';
import { lookupFactory } from '../src/pipeline/registry.js';
import { startTestCollector } from './support/collector.js';
import { sink } from './support/sink.js';
import { source } from './support/source.js';
import { logRecord } from './support/spans.js';

for (const name of ['local.yaml', 'compose.yaml']) {
  test(`config/${name} is valid`, async (t) => {
    process.env.COLLECTOR_TOKEN ??= 'test-token';
    process.env.JAEGER_OTLP_URL ??= 'http://jaeger:4318';
    process.env.LOKI_PUSH_URL ??= 'http://loki:3100/loki/api/v1/push';
    const doc = await readConfigFile(fileURLToPath(new URL(`../config/${name}`, import.meta.url)));
    const loaded = validateConfig(doc, lookupFactory);
    t.deepEqual(Object.keys(loaded.raw.service.pipelines).sort(), ['logs', 'metrics', 'traces']);
    // the trace pipeline derives metrics from every span before sampling decides what is kept
    const procs = loaded.raw.service.pipelines.traces!.processors;
    t.true(procs.indexOf('spanmetrics') < procs.indexOf('tail_sampling'));
    t.is(procs[0], 'memory_limiter');
  });
}

test("local.yaml's redaction masks card numbers in log lines but leaves timestamps and ids alone", async (t) => {
  process.env.COLLECTOR_TOKEN ??= 'test-token';
  const doc = (await readConfigFile(fileURLToPath(new URL('../config/local.yaml', import.meta.url)))) as { processors: Record<string, unknown> };
  const c = await startTestCollector({
    receivers: { 'test_source/cfg-redact': {} },
    processors: { redaction: doc.processors.redaction },
    exporters: { 'test_sink/cfg-redact': {} },
    service: { pipelines: { logs: { receivers: ['test_source/cfg-redact'], processors: ['redaction'], exporters: ['test_sink/cfg-redact'] } } },
  });
  t.teardown(() => c.shutdown());
  const line = '{"time":1764478000123,"ts_us":1764478000123456,"order":"4111 1111 1111 1111","amex":"378282246310005","auth":"Bearer abc.def"}';
  await source('test_source/cfg-redact').logs!.consume([logRecord({ body: line })]);
  const body = String(sink('test_sink/cfg-redact').logs[0]?.body);
  t.regex(body, /"time":1764478000123,/);
  t.regex(body, /"ts_us":1764478000123456,/);
  t.notRegex(body, /4111|378282|abc\.def/);
});
