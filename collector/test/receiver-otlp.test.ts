// The otlp receiver (OTLP/HTTP): real OpenTelemetry JS exporters and serializers as clients, the
// official OTLP JSON examples, every status code of the OTLP/HTTP contract, and hostile payloads.
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { context, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { JsonLogsSerializer, JsonMetricsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufMetricsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { otlpType } from '../src/otlp/codec.js';
import type { Signal } from '../src/pipeline/types.js';
import { metricValue, selfMetrics, startTestCollector } from './support/collector.js';
import { sink } from './support/sink.js';
import './support/refuser.js';

type Format = 'protobuf' | 'json';
const CT: Record<Format, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };
const FORMATS: Format[] = ['protobuf', 'json'];

interface Started {
  url: string;
  sinkId: string;
  id: string;
  collector: Awaited<ReturnType<typeof startTestCollector>>;
}

/** A collector with one otlp receiver (port 0) feeding test_sink/<key> for the given signals. */
async function start(t: ExecutionContext, key: string, opts: { http?: Record<string, unknown>; signals?: Signal[]; exporter?: [string, Record<string, unknown>] } = {}): Promise<Started> {
  const id = `otlp/${key}`;
  const [exporterId, exporterConfig] = opts.exporter ?? [`test_sink/${key}`, {}];
  const pipelines = Object.fromEntries((opts.signals ?? ['traces', 'logs', 'metrics']).map((s) => [s, { receivers: [id], exporters: [exporterId] }]));
  const collector = await startTestCollector({
    receivers: { [id]: { protocols: { http: { endpoint: '127.0.0.1:0', ...opts.http } } } },
    exporters: { [exporterId]: exporterConfig },
    service: { pipelines },
  });
  t.teardown(() => collector.shutdown());
  return { url: collector.endpoint(id), sinkId: exporterId, id, collector };
}

interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
}

async function post(url: string, body: Uint8Array | string, init: { type?: string; encoding?: string; headers?: Record<string, string>; method?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.type !== undefined) headers['content-type'] = init.type;
  if (init.encoding) headers['content-encoding'] = init.encoding;
  const res = await fetch(url, { method: init.method ?? 'POST', headers, body: init.method === 'GET' ? undefined : body });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

const statusType = protobuf.Root.fromJSON({
  nested: { google: { nested: { rpc: { nested: { Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 } } } } } } } },
}).lookupType('google.rpc.Status');

/** The google.rpc.Status of an error reply, decoded in the reply's own content type. */
function statusOf(r: Reply): { code: number; message: string } {
  if (r.headers.get('content-type') === CT.json) return JSON.parse(r.body.toString()) as { code: number; message: string };
  t0(r.headers.get('content-type') === CT.protobuf, `unexpected content type ${r.headers.get('content-type')}`);
  return statusType.toObject(statusType.decode(r.body)) as { code: number; message: string };
}

function t0(cond: boolean, msg: string): void {
  if (!cond) throw new Error(msg);
}

/** partialSuccess of an Export*ServiceResponse as plain values. */
function partialOf(r: Reply, signal: Signal): { rejected: number; errorMessage: string } | undefined {
  const field = { traces: 'rejectedSpans', logs: 'rejectedLogRecords', metrics: 'rejectedDataPoints' }[signal];
  const type = { traces: 'trace', logs: 'logs', metrics: 'metrics' }[signal];
  const name = { traces: 'Trace', logs: 'Logs', metrics: 'Metrics' }[signal];
  const obj: Record<string, unknown> =
    r.headers.get('content-type') === CT.json
      ? (JSON.parse(r.body.toString()) as Record<string, unknown>)
      : (() => {
          const ty = otlpType(`opentelemetry.proto.collector.${type}.v1.Export${name}ServiceResponse`);
          return ty.toObject(ty.decode(r.body), { longs: String });
        })();
  const ps = obj.partialSuccess as Record<string, unknown> | undefined;
  if (!ps) return undefined;
  return { rejected: Number(ps[field] ?? 0), errorMessage: String(ps.errorMessage ?? '') };
}

// ---- data made by the real OpenTelemetry SDK ----

const resource = resourceFromAttributes({ 'service.name': 'receiver-test' });

/** n finished spans; `pad` adds a compressible attribute of that many characters to each. */
function makeSpans(n: number, pad = 0): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('receiver-test');
  for (let i = 0; i < n; i++) tracer.startSpan(`op-${i}`, { attributes: pad ? { i, pad: 'p'.repeat(pad) } : { i } }).end();
  return exporter.getFinishedSpans();
}

function spansBody(format: Format, spans: ReadableSpan[]): Uint8Array {
  return (format === 'json' ? JsonTraceSerializer : ProtobufTraceSerializer).serializeRequest(spans)!;
}

async function makeLogsBody(format: Format, n: number): Promise<{ body: Uint8Array; traceId: string }> {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
  const parent = makeSpans(1)[0]!;
  const ctx = trace.setSpanContext(context.active(), parent.spanContext());
  for (let i = 0; i < n; i++) provider.getLogger('receiver-test').emit({ body: `line ${i}`, severityNumber: 9, severityText: 'INFO', attributes: { i }, context: ctx });
  await provider.forceFlush();
  const body = (format === 'json' ? JsonLogsSerializer : ProtobufLogsSerializer).serializeRequest(exporter.getFinishedLogRecords())!;
  return { body, traceId: parent.spanContext().traceId };
}

async function makeMetricsBody(format: Format): Promise<Uint8Array> {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  const provider = new MeterProvider({ resource, readers: [reader] });
  const meter = provider.getMeter('receiver-test');
  meter.createCounter('orders_total').add(3, { route: '/a' });
  meter.createCounter('orders_total').add(4, { route: '/b' });
  const h = meter.createHistogram('latency_seconds', { advice: { explicitBucketBoundaries: [0.1, 1] } });
  h.record(0.05);
  h.record(5);
  await reader.forceFlush();
  await provider.shutdown();
  return (format === 'json' ? JsonMetricsSerializer : ProtobufMetricsSerializer).serializeRequest(exporter.getMetrics()[0]!)!;
}

// ---- real exporters ----

for (const [name, Exporter] of [
  ['exporter-trace-otlp-proto', ProtoTraceExporter],
  ['exporter-trace-otlp-http (JSON)', JsonTraceExporter],
] as const) {
  test(`OpenTelemetry JS ${name} → every span reaches the sink, with ids, names and the accepted-spans metric`, async (t) => {
    const key = name.startsWith('exporter-trace-otlp-proto') ? 'sdk-proto' : 'sdk-json';
    const s = await start(t, key, { signals: ['traces'], http: { auth: { bearer_token: 'sekrit' } } });
    const exporter = new Exporter({ url: `${s.url}/v1/traces`, headers: { authorization: 'Bearer sekrit' } });
    const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: 50, scheduledDelayMillis: 60_000 })] });
    const tracer = provider.getTracer('sdk-test');
    const ids = new Map<string, string>();
    for (let i = 0; i < 120; i++) {
      const span = tracer.startSpan(`work-${i}`, { attributes: { i } });
      ids.set(span.spanContext().spanId, `work-${i}`);
      span.end();
    }
    await provider.forceFlush();
    await provider.shutdown();
    const got = sink(s.sinkId).traces;
    t.is(got.length, 120);
    t.deepEqual(got.map((sp) => `${sp.spanId} ${sp.name}`).sort(), [...ids].map(([id, n]) => `${id} ${n}`).sort());
    t.true(got.every((sp) => /^[0-9a-f]{32}$/.test(sp.traceId) && sp.resource.attributes['service.name'] === 'receiver-test'));
    t.is(metricValue(await selfMetrics(s.collector), 'otelcol_receiver_accepted_spans_total', { receiver: s.id, transport: 'http', signal: 'traces' }), 120);
  });
}

for (const format of FORMATS) {
  test(`logs and metrics (${format}) from the SDK's serializers are accepted and decoded`, async (t) => {
    const s = await start(t, `lm-${format}`);
    const { body, traceId } = await makeLogsBody(format, 5);
    const r1 = await post(`${s.url}/v1/logs`, body, { type: CT[format] });
    t.is(r1.status, 200);
    t.is(r1.headers.get('content-type'), CT[format]);
    t.is(partialOf(r1, 'logs'), undefined);
    const logs = sink(s.sinkId).logs;
    t.deepEqual(logs.map((l) => l.body), ['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
    t.true(logs.every((l) => l.traceId === traceId && l.severityNumber === 9));

    const r2 = await post(`${s.url}/v1/metrics`, await makeMetricsBody(format), { type: CT[format] });
    t.is(r2.status, 200);
    const metrics = sink(s.sinkId).metrics;
    const orders = metrics.find((m) => m.name === 'orders_total');
    t.deepEqual(orders?.dataPoints.map((p) => ('value' in p ? p.value : undefined)).sort(), [3, 4]);
    const hist = metrics.find((m) => m.name === 'latency_seconds');
    t.is(hist?.type, 'histogram');
    if (hist?.type === 'histogram') t.deepEqual(hist.dataPoints[0]?.bucketCounts, [1, 0, 1]);
    const text = await selfMetrics(s.collector);
    t.is(metricValue(text, 'otelcol_receiver_accepted_log_records_total', { receiver: s.id, signal: 'logs' }), 5);
    t.is(metricValue(text, 'otelcol_receiver_accepted_metric_points_total', { receiver: s.id, signal: 'metrics' }), 3);
  });
}

// ---- the official examples ----

const example = (name: string) => readFileSync(new URL(`./fixtures/otlp-examples/${name}.json`, import.meta.url));

test('the official OTLP JSON examples (trace, logs, metrics) are accepted and decoded exactly', async (t) => {
  const s = await start(t, 'examples');
  for (const [signal, file] of [['traces', 'trace'], ['logs', 'logs'], ['metrics', 'metrics']] as const) {
    const r = await post(`${s.url}/v1/${signal}`, example(file), { type: 'application/json' });
    t.is(r.status, 200, file);
    t.is(partialOf(r, signal), undefined);
  }
  const { traces, logs, metrics } = sink(s.sinkId);
  t.is(traces.length, 1);
  const span = traces[0]!;
  t.like(span, {
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: 'eee19b7ec3c1b174',
    parentSpanId: 'eee19b7ec3c1b173',
    name: "I'm a server span",
    kind: 'server',
    startTimeUnixNano: '1544712660000000000',
    endTimeUnixNano: '1544712661000000000',
  });
  t.deepEqual(span.attributes, { 'my.span.attr': 'some value' });
  t.deepEqual(span.resource.attributes, { 'service.name': 'my.service' });
  t.deepEqual(span.scope, { name: 'my.library', version: '1.0.0', attributes: { 'my.scope.attribute': 'some scope attribute' } });

  t.is(logs.length, 1);
  t.like(logs[0]!, { severityNumber: 10, severityText: 'Information', body: 'Example log record', traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', timeUnixNano: '1544712660300000000' });
  t.is(logs[0]!.attributes['string.attribute'], 'some string');
  t.is(logs[0]!.attributes['boolean.attribute'], true);

  const byName = new Map(metrics.map((m) => [m.name, m]));
  t.deepEqual([...byName.keys()].sort(), ['my.counter', 'my.exponential.histogram', 'my.gauge', 'my.histogram']);
  const counter = byName.get('my.counter')!;
  t.true(counter.type === 'sum' && counter.isMonotonic && counter.temporality === 'delta' && counter.dataPoints[0]!.value === 5);
  const gauge = byName.get('my.gauge')!;
  t.true(gauge.type === 'gauge' && gauge.dataPoints[0]!.value === 10);
  const hist = byName.get('my.histogram')!;
  t.is(hist.type, 'histogram');
  if (hist.type === 'histogram') t.like(hist.dataPoints[0]!, { count: 2, sum: 2, bucketCounts: [1, 1], explicitBounds: [1] });
  const exp = byName.get('my.exponential.histogram')!;
  t.is(exp.type, 'exponentialHistogram');
  if (exp.type === 'exponentialHistogram') t.like(exp.dataPoints[0]!, { count: 3, sum: 10, scale: 0 });
});

// ---- the status-code contract, per encoding ----

for (const format of FORMATS) {
  const type = CT[format];

  test(`contract (${format}): 405 with Allow, 415, 404 for a signal without a pipeline, empty request 200`, async (t) => {
    const s = await start(t, `basic-${format}`, { signals: ['traces'] });
    const get = await post(`${s.url}/v1/traces`, '', { method: 'GET', type });
    t.is(get.status, 405);
    t.is(get.headers.get('allow'), 'POST');
    t.regex(statusOf(get).message, /GET is not allowed/);

    const text = await post(`${s.url}/v1/traces`, 'hello', { type: 'text/plain' });
    t.is(text.status, 415);
    t.regex(statusOf(text).message, /application\/x-protobuf or application\/json/);

    const logs = await post(`${s.url}/v1/logs`, spansBody(format, []), { type });
    t.is(logs.status, 404);
    t.regex(statusOf(logs).message, /not in any logs pipeline/);

    const empty = await post(`${s.url}/v1/traces`, format === 'json' ? '{}' : new Uint8Array(), { type });
    t.is(empty.status, 200);
    t.is(empty.headers.get('content-type'), type);
    t.is(partialOf(empty, 'traces'), undefined);
    t.is(sink(s.sinkId).traces.length, 0);
  });

  test(`contract (${format}): 400 with a google.rpc.Status body in the request's encoding`, async (t) => {
    const s = await start(t, `bad-${format}`, { signals: ['traces'] });
    const r = await post(`${s.url}/v1/traces`, format === 'json' ? '{"resourceSpans": [' : Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1]), { type });
    t.is(r.status, 400);
    t.is(r.headers.get('content-type'), type);
    const st = statusOf(r);
    t.is(st.code, 3); // INVALID_ARGUMENT
    t.regex(st.message, format === 'json' ? /not valid JSON/ : /could not be decoded/);
  });

  test(`contract (${format}): gzip accepted; 413 over the limit counted after decompression`, async (t) => {
    const s = await start(t, `size-${format}`, { signals: ['traces'], http: { max_request_body_size: 64 * 1024 } });
    const ok = await post(`${s.url}/v1/traces`, gzipSync(spansBody(format, makeSpans(3))), { type, encoding: 'gzip' });
    t.is(ok.status, 200);
    t.is(sink(s.sinkId).traces.length, 3);

    const plain = spansBody(format, makeSpans(50, 4000));
    t.true(plain.length > 64 * 1024);
    const big = await post(`${s.url}/v1/traces`, plain, { type });
    t.is(big.status, 413);
    t.regex(statusOf(big).message, /larger than the limit of 65536 bytes/);

    const compressed = gzipSync(plain);
    t.true(compressed.length < 64 * 1024, 'the compressed body is under the limit: only the decompressed size is over');
    const bomb = await post(`${s.url}/v1/traces`, compressed, { type, encoding: 'gzip' });
    t.is(bomb.status, 413);
    t.is(sink(s.sinkId).traces.length, 3);
  });

  test(`contract (${format}): invalid spans are rejected one by one as a partial success`, async (t) => {
    const s = await start(t, `partial-${format}`, { signals: ['traces'] });
    const traceId = randomBytes(16).toString('hex');
    const span = (spanId: string, tid = traceId, name = 'x') => ({ traceId: tid, spanId, name, startTimeUnixNano: '1', endTimeUnixNano: '2' });
    const request = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                span('0102030405060708', traceId, 'good'),
                span('0102030405060709', '00000000000000000000000000000000', 'zero trace'),
                span('01020304', traceId, 'short span id'),
                span('0102030405060710', traceId, 'good too'),
                { spanId: '0102030405060711', name: 'no trace id' },
              ],
            },
          ],
        },
      ],
    };
    let body: Uint8Array | string = JSON.stringify(request);
    if (format === 'protobuf') {
      const ty = otlpType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
      const hexToB64 = (h: string | undefined) => (h ? Buffer.from(h, 'hex').toString('base64') : undefined);
      const pbReq = { resourceSpans: request.resourceSpans.map((rs) => ({ scopeSpans: rs.scopeSpans.map((ss) => ({ spans: ss.spans.map((sp) => ({ ...sp, traceId: hexToB64((sp as { traceId?: string }).traceId), spanId: hexToB64(sp.spanId) })) })) })) };
      body = ty.encode(ty.fromObject(pbReq)).finish();
    }
    const r = await post(`${s.url}/v1/traces`, body, { type });
    t.is(r.status, 200);
    const partial = partialOf(r, 'traces');
    t.is(partial?.rejected, 3);
    t.regex(partial?.errorMessage ?? '', /3 spans rejected; the first: span #1 "zero trace": traceId/);
    if (format === 'json') t.is((JSON.parse(r.body.toString()) as { partialSuccess: { rejectedSpans: unknown } }).partialSuccess.rejectedSpans, '3', 'int64 as a JSON string');
    t.deepEqual(sink(s.sinkId).traces.map((x) => x.name), ['good', 'good too']);
    t.is(metricValue(await selfMetrics(s.collector), 'otelcol_receiver_refused_spans_total', { receiver: s.id }), 3);
  });

  test(`contract (${format}): a refusing pipeline → 503 with Retry-After; resourceExhausted → 429; PermanentError → 400`, async (t) => {
    const s = await start(t, `refuse-${format}`, { signals: ['traces'] });
    sink(s.sinkId).refuse = true;
    const body = spansBody(format, makeSpans(2));
    const r = await post(`${s.url}/v1/traces`, body, { type });
    t.is(r.status, 503);
    t.is(r.headers.get('retry-after'), '1');
    t.is(statusOf(r).code, 14); // UNAVAILABLE
    t.is(metricValue(await selfMetrics(s.collector), 'otelcol_receiver_refused_spans_total', { receiver: s.id }), 2);
    sink(s.sinkId).refuse = false;
    t.is((await post(`${s.url}/v1/traces`, body, { type })).status, 200, 'the retry is accepted');
    t.is(sink(s.sinkId).traces.length, 2);

    const busy = await start(t, `exhausted-${format}`, { signals: ['traces'], exporter: [`test_refuser/exhausted-${format}`, { resource_exhausted: true, retry_after_seconds: 7 }] });
    const r2 = await post(`${busy.url}/v1/traces`, body, { type });
    t.is(r2.status, 429);
    t.is(r2.headers.get('retry-after'), '7');
    t.is(statusOf(r2).code, 8); // RESOURCE_EXHAUSTED

    const perm = await start(t, `permanent-${format}`, { signals: ['traces'], exporter: [`test_refuser/permanent-${format}`, { kind: 'permanent' }] });
    const r3 = await post(`${perm.url}/v1/traces`, body, { type });
    t.is(r3.status, 400);
    t.regex(statusOf(r3).message, /can never be accepted/);
  });

  test(`contract (${format}): 401 without the bearer token, 200 with it`, async (t) => {
    const s = await start(t, `auth-${format}`, { signals: ['traces'], http: { auth: { bearer_token: 'tok-123' } } });
    const body = spansBody(format, makeSpans(1));
    const none = await post(`${s.url}/v1/traces`, body, { type });
    t.is(none.status, 401);
    t.is(none.headers.get('www-authenticate'), 'Bearer');
    t.is(statusOf(none).code, 16);
    t.is((await post(`${s.url}/v1/traces`, body, { type, headers: { authorization: 'Bearer tok-1234' } })).status, 401);
    t.is((await post(`${s.url}/v1/traces`, body, { type, headers: { authorization: 'Basic dG9rLTEyMw==' } })).status, 401);
    t.is((await post(`${s.url}/v1/traces`, body, { type, headers: { authorization: 'Bearer tok-123' } })).status, 200);
    t.is(sink(s.sinkId).traces.length, 1);
  });
}

test('CORS: a preflight from an allowed origin is answered; other origins get no CORS headers', async (t) => {
  const s = await start(t, 'cors', { signals: ['traces'], http: { cors: { allowed_origins: ['https://*.example.com'] } } });
  const pre = await fetch(`${s.url}/v1/traces`, { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
  t.is(pre.status, 204);
  t.is(pre.headers.get('access-control-allow-origin'), 'https://app.example.com');
  t.regex(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
  const other = await post(`${s.url}/v1/traces`, '{}', { type: 'application/json', headers: { origin: 'https://evil.test' } });
  t.is(other.status, 200);
  t.is(other.headers.get('access-control-allow-origin'), null);
});

// ---- hostile input ----

/** A valid request still goes through afterwards: the receiver survived. */
async function stillServes(t: ExecutionContext, s: Started, expectTotal: number) {
  const r = await post(`${s.url}/v1/traces`, spansBody('protobuf', makeSpans(1)), { type: CT.protobuf });
  t.is(r.status, 200);
  t.is(sink(s.sinkId).traces.length, expectTotal);
}

const pb = (field: number, bytes: Uint8Array) => protobuf.Writer.create().uint32((field << 3) | 2).bytes(bytes).finish();
const pbString = (field: number, s: string | Buffer) => pb(field, typeof s === 'string' ? Buffer.from(s) : s);
const cat = (...parts: Uint8Array[]) => Buffer.concat(parts);

/** ExportTraceServiceRequest with one span carrying the given raw span fields. */
function rawSpanRequest(spanFields: Uint8Array): Buffer {
  const span = cat(pbString(1, randomBytes(16)), pbString(2, randomBytes(8)), spanFields);
  return Buffer.from(pb(1, pb(2, pb(2, span))));
}

test('hostile: garbage, truncated protobuf, invalid UTF-8 and wrong encodings are 4xx naming the problem; the receiver keeps serving', async (t) => {
  const s = await start(t, 'hostile', { signals: ['traces'] });
  const garbage = await post(`${s.url}/v1/traces`, randomBytes(4096), { type: CT.protobuf });
  t.true(garbage.status === 400, `garbage → ${garbage.status}`);

  const valid = spansBody('protobuf', makeSpans(5));
  const truncated = await post(`${s.url}/v1/traces`, valid.subarray(0, valid.length - 7), { type: CT.protobuf });
  t.is(truncated.status, 400);
  t.regex(statusOf(truncated).message, /could not be decoded/);

  const badUtf8Json = Buffer.concat([Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}]}]}]}')]);
  const r1 = await post(`${s.url}/v1/traces`, badUtf8Json, { type: CT.json });
  t.is(r1.status, 400);
  t.regex(statusOf(r1).message, /not valid UTF-8/);

  const badUtf8Proto = rawSpanRequest(pbString(5, Buffer.from([0x66, 0xff, 0xfe])));
  const r2 = await post(`${s.url}/v1/traces`, badUtf8Proto, { type: CT.protobuf });
  t.is(r2.status, 400);
  t.regex(statusOf(r2).message, /not valid UTF-8/);

  const br = await post(`${s.url}/v1/traces`, valid, { type: CT.protobuf, encoding: 'br' });
  t.is(br.status, 415);
  t.regex(statusOf(br).message, /Content-Encoding "br" is not supported/);

  const fakeGzip = await post(`${s.url}/v1/traces`, valid, { type: CT.protobuf, encoding: 'gzip' });
  t.is(fakeGzip.status, 400);
  t.regex(statusOf(fakeGzip).message, /gzip request body could not be decompressed/);

  const badTime = await post(`${s.url}/v1/traces`, JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), startTimeUnixNano: 'soon' }] }] }] }), { type: CT.json });
  t.is(badTime.status, 400);
  t.regex(statusOf(badTime).message, /"soon" is not a valid nanosecond timestamp/);

  await stillServes(t, s, 1);
});

test('hostile: AnyValue nested 10,000 deep (JSON) and 1,000 deep (protobuf) → 400, no stack overflow', async (t) => {
  const s = await start(t, 'deep', { signals: ['traces'] });
  const depth = 10_000;
  const open = '{"kvlistValue":{"values":[{"key":"k","value":';
  const close = '}]}}';
  const deep = `${open.repeat(depth)}{"stringValue":"bottom"}${close.repeat(depth)}`;
  const json = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${'ab'.repeat(16)}","spanId":"${'cd'.repeat(8)}","name":"deep","attributes":[{"key":"deep","value":${deep}}]}]}]}]}`;
  const r1 = await post(`${s.url}/v1/traces`, json, { type: CT.json });
  t.is(r1.status, 400);
  t.regex(statusOf(r1).message, /nested deeper than 32 levels/);

  // AnyValue{array_value: ArrayValue{values: [AnyValue{...}]}}, built from the inside out
  let value: Uint8Array = pbString(1, 'bottom');
  for (let i = 0; i < 1000; i++) value = pb(5, pb(1, value));
  const r2 = await post(`${s.url}/v1/traces`, rawSpanRequest(pb(9, cat(pbString(1, 'deep'), pb(2, value)))), { type: CT.protobuf });
  t.is(r2.status, 400);
  t.regex(statusOf(r2).message, /nesting depth|nested deeper/);

  // 20 levels is fine
  let ok: Uint8Array = pbString(1, 'bottom');
  for (let i = 0; i < 20; i++) ok = pb(5, pb(1, ok));
  t.is((await post(`${s.url}/v1/traces`, rawSpanRequest(pb(9, cat(pbString(1, 'ok'), pb(2, ok)))), { type: CT.protobuf })).status, 200);
  await stillServes(t, s, 2);
});

test('hostile: a 1 MB attribute value is accepted intact under the default limit, 413 under a smaller one', async (t) => {
  const s = await start(t, 'huge-attr', { signals: ['traces'] });
  const huge = 'x'.repeat(1_000_000);
  const spanFields = pb(9, cat(pbString(1, 'huge'), pb(2, pbString(1, huge))));
  const r = await post(`${s.url}/v1/traces`, rawSpanRequest(spanFields), { type: CT.protobuf });
  t.is(r.status, 200);
  t.is((sink(s.sinkId).traces[0]?.attributes.huge as string).length, 1_000_000);

  const small = await start(t, 'huge-attr-small', { signals: ['traces'], http: { max_request_body_size: 512 * 1024 } });
  const json = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), attributes: [{ key: 'huge', value: { stringValue: huge } }] }] }] }] });
  const r2 = await post(`${small.url}/v1/traces`, json, { type: CT.json });
  t.is(r2.status, 413);
  await stillServes(t, small, 1);
});

/**
 * ~1 GB of zeros as gzip in ~1 MB: one member holding 1 MiB of zeros, repeated 1024 times (a multi-member
 * gzip stream is one valid body; the 1 GB never exists on this side).
 */
function gzipBomb(totalMiB: number): Buffer {
  const member = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
  return Buffer.concat(Array.from({ length: totalMiB }, () => member));
}

test('hostile: a gzip bomb (1 GB of zeros in ~1 MB) stops at the limit with 413; the receiver keeps serving', async (t) => {
  const s = await start(t, 'bomb', { signals: ['traces'] });
  const bomb = gzipBomb(1024);
  t.true(bomb.length < 2 * 1024 * 1024, `bomb is ${bomb.length} bytes`);
  const before = process.memoryUsage().rss;
  const r = await post(`${s.url}/v1/traces`, bomb, { type: CT.protobuf, encoding: 'gzip' });
  t.is(r.status, 413);
  t.regex(statusOf(r).message, /larger than the limit of 20971520 bytes/);
  // the limit is 20 MiB: had the bomb been inflated, RSS would have grown by ~1 GB
  t.true(process.memoryUsage().rss - before < 512 * 1024 * 1024);
  await stillServes(t, s, 1);
});
