// End to end: real OTLP clients (OpenTelemetry JS's proto and JSON exporters, and the Lantern SDK in a Koa service)
// → the collector's otlp receiver → store → the whole trace back from /api/traces/{id}.
import test from 'ava';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trace, context } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { waitFor } from '@lantern/testkit';
import type { Collector } from '../src/collector.js';
import { startTestCollector } from './support/collector.js';
import { get } from './support/store.js';

interface UiTrace {
  spans: { spanID: string; operationName: string; processID: string; references: { refType: string; spanID: string }[] }[];
  processes: Record<string, { serviceName: string }>;
}

async function collector(key: string): Promise<{ c: Collector; otlp: string; query: string }> {
  const c = await startTestCollector({
    receivers: { [`otlp/${key}`]: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
    exporters: { [`store/${key}`]: { query: { endpoint: '127.0.0.1:0' } } },
    service: { pipelines: { traces: { receivers: [`otlp/${key}`], exporters: [`store/${key}`] } } },
  });
  return { c, otlp: c.endpoint(`otlp/${key}`), query: c.endpoint(`store/${key}`, 'query') };
}

async function fetchTrace(query: string, traceId: string, spans: number): Promise<UiTrace> {
  return waitFor(
    async () => {
      const r = await get(`${query}/api/traces/${traceId}`);
      const t = r.status === 200 ? (r.json as { data: UiTrace[] }).data[0] : undefined;
      return t && t.spans.length >= spans ? t : undefined;
    },
    { what: `trace ${traceId} with ${spans} spans`, timeoutMs: 30_000 },
  );
}

for (const [name, make] of [
  ['proto', (url: string): SpanExporter => new ProtoTraceExporter({ url })],
  ['json', (url: string): SpanExporter => new JsonTraceExporter({ url })],
] as const) {
  test(`OpenTelemetry JS OTLPTraceExporter (${name}) → otlp receiver → store: the trace comes back whole`, async (t) => {
    const { c, otlp, query } = await collector(`se-${name}`);
    t.teardown(() => c.shutdown());
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': `otel-js-${name}`, 'deployment.environment': 'test' }),
      spanProcessors: [new SimpleSpanProcessor(make(`${otlp}/v1/traces`))],
    });
    t.teardown(() => provider.shutdown());
    const tracer = provider.getTracer('store-e2e');
    const root = tracer.startSpan('GET /orders', { kind: 1 });
    const ctx = trace.setSpan(context.active(), root);
    const child = tracer.startSpan('SELECT orders', { kind: 2, attributes: { 'db.system': 'postgresql', rows: 3 } }, ctx);
    child.end();
    root.end();
    await provider.forceFlush();
    const { traceId, spanId: rootId } = root.spanContext();
    const got = await fetchTrace(query, traceId, 2);
    t.is(got.spans.length, 2);
    const byName = Object.fromEntries(got.spans.map((s) => [s.operationName, s]));
    t.deepEqual(byName['GET /orders']!.references, []);
    t.deepEqual(byName['SELECT orders']!.references, [{ refType: 'CHILD_OF', traceID: traceId, spanID: rootId }]);
    t.deepEqual(Object.values(got.processes).map((p) => p.serviceName), [`otel-js-${name}`]);
  });
}

test('Lantern SDK in a Koa service (preloaded register) → otlp receiver → store: x-trace-id resolves to the whole trace', async (t) => {
  const { c, otlp, query } = await collector('se-sdk');
  t.teardown(() => c.shutdown());
  const app = fork(fileURLToPath(new URL('./fixtures/store-koa-app.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx/esm', '--import', '@lantern/sdk/register'],
    env: { ...process.env, OTEL_SERVICE_NAME: 'shop-checkout', OTEL_EXPORTER_OTLP_ENDPOINT: otlp, OTEL_BSP_SCHEDULE_DELAY: '100', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  app.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(() => {
    if (app.exitCode === null) app.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve, reject) => {
    app.on('message', (m: { type?: string; port?: number }) => m.type === 'ready' && resolve(m.port!));
    app.once('exit', (code) => reject(new Error(`app exited (${code}): ${stderr}`)));
  });
  const res = await fetch(`http://127.0.0.1:${port}/checkout`);
  t.is(res.status, 200);
  const traceId = res.headers.get('x-trace-id');
  t.regex(traceId ?? '', /^[0-9a-f]{32}$/);
  const got = await fetchTrace(query, traceId!, 2);
  const names = got.spans.map((s) => s.operationName);
  t.true(names.includes('load-cart'), names.join(','));
  const child = got.spans.find((s) => s.operationName === 'load-cart')!;
  const parent = got.spans.find((s) => s.spanID === child.references[0]?.spanID);
  t.truthy(parent, 'the child references a span of the same trace');
  t.deepEqual(parent!.references, []);
  t.deepEqual([...new Set(Object.values(got.processes).map((p) => p.serviceName))], ['shop-checkout']);
});
