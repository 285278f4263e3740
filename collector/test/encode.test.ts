// The OTLP encoder is the inverse of the codec: decode(encode(x)) deep-equals x for every signal, both
// encodings, every value type; and real OTel SDK output survives decode → encode → decode unchanged.
import test from 'ava';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { decodeLogs, decodeMetrics, decodeTraces, encodeLogs, encodeMetrics, encodeTraces } from '../src/otlp/index.js';
import { logsRequestObject, traceRequestObject } from '../src/otlp/encode.js';
import { requestType } from '../src/otlp/codec.js';
import type { DecodedLogRecord, DecodedMetric, DecodedSpan, ResourceInfo, Scope, SpanKindName, StatusCodeName } from '../src/otlp/types.js';

const FORMATS = ['protobuf', 'json'] as const;

const resA: ResourceInfo = { attributes: { 'service.name': 'checkout', 'host.cpus': 2, 'deployment.environment': 'prod' }, schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' };
const resB: ResourceInfo = { attributes: { 'service.name': 'payments' } };
const scope1: Scope = { name: 'lib-http', version: '1.2.3', attributes: { 'scope.attr': 'x' } };
const scope2: Scope = { name: 'lib-db', attributes: {} };

/** One of every AnyValue type, including the two the decoded form spells as strings or numbers. */
const EVERY_VALUE = {
  str: 'hello',
  empty: '',
  int: 42,
  negInt: -7,
  zero: 0,
  double: 0.25,
  negDouble: -1.5e-9,
  hugeDouble: 1e300,
  bool: true,
  no: false,
  int64Max: '9223372036854775807',
  int64Min: '-9223372036854775808',
  beyondSafe: '9007199254740993',
  digitsTooLong: '123456789012345678901234567890',
  leadingZeros: '0000000000000000042',
  arr: [1, 'two', 3.5, false, ['nested'], { k: 'v' }],
  emptyArr: [],
  kv: { a: 1, b: { c: 'deep', d: [true] } },
  nothing: null,
  unicode: 'naïve — 日本語 🚀',
};

function fullSpan(i: number, resource: ResourceInfo, scope: Scope, kind: SpanKindName, status: StatusCodeName): DecodedSpan {
  const traceId = (i + 1).toString(16).padStart(32, 'a');
  const s: DecodedSpan = {
    traceId,
    spanId: (i + 1).toString(16).padStart(16, 'b'),
    parentSpanId: i % 2 ? 'c'.repeat(16) : undefined,
    traceState: i % 2 ? 'vendor=abc,other=1' : undefined,
    flags: 1,
    name: `op-${i}`,
    kind,
    startTimeUnixNano: (1_760_000_000_000_000_000n + BigInt(i) * 1_000_003n).toString(),
    endTimeUnixNano: (1_760_000_000_000_000_000n + BigInt(i) * 1_000_003n + 999_999_999n).toString(),
    attributes: { ...EVERY_VALUE, i },
    droppedAttributesCount: i,
    events: [
      { name: 'exception', timeUnixNano: '1760000000000000123', attributes: { 'exception.message': 'boom', 'exception.type': 'Error' } },
      { name: 'empty', timeUnixNano: '1760000000000000456', attributes: {} },
    ],
    links: [
      { traceId: 'd'.repeat(32), spanId: 'e'.repeat(16), traceState: 'k=v', attributes: { why: 'retry', n: 2 } },
      { traceId: 'f'.repeat(32), spanId: '1'.repeat(16), attributes: {} },
    ],
    status: status === 'error' ? { code: status, message: 'it failed' } : { code: status },
    resource,
    scope,
  };
  if (!s.parentSpanId) delete s.parentSpanId;
  if (!s.traceState) delete s.traceState;
  return s;
}

const KINDS: SpanKindName[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUSES: StatusCodeName[] = ['unset', 'ok', 'error'];

/** Spans already in resource → scope order, so the decoded order equals the input order. */
function spanSet(): DecodedSpan[] {
  const out: DecodedSpan[] = [];
  let i = 0;
  for (const [res, scopes] of [[resA, [scope1, scope2]], [resB, [scope1]]] as const) {
    for (const sc of scopes) for (const kind of KINDS) out.push(fullSpan(i++, res, sc, kind, STATUSES[i % 3]!));
  }
  return out;
}

for (const format of FORMATS) {
  test(`traces (${format}): decode(encode(spans)) deep-equals the spans`, (t) => {
    const spans = spanSet();
    t.deepEqual(decodeTraces(encodeTraces(spans, format), format), spans);
  });

  test(`logs (${format}): decode(encode(records)) deep-equals the records`, (t) => {
    const records: DecodedLogRecord[] = [
      { timeUnixNano: '1760000000000000001', observedTimeUnixNano: '1760000000000000002', severityNumber: 17, severityText: 'ERROR', body: 'payment failed', attributes: EVERY_VALUE, traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), flags: 1, eventName: 'payment.failed', resource: resA, scope: scope1 },
      { timeUnixNano: '0', observedTimeUnixNano: '1760000000000000003', severityNumber: 0, body: { msg: 'structured', n: 3, list: [1, 2] }, attributes: {}, flags: 0, resource: resA, scope: scope1 },
      { timeUnixNano: '1760000000000000004', observedTimeUnixNano: '1760000000000000004', severityNumber: 9, severityText: 'INFO', body: null, attributes: { k: 'v' }, flags: 0, resource: resB, scope: scope2 },
      { timeUnixNano: '1760000000000000005', observedTimeUnixNano: '1760000000000000005', severityNumber: 5, body: ['a', 1], attributes: {}, flags: 0, resource: resB, scope: scope2 },
    ];
    t.deepEqual(decodeLogs(encodeLogs(records, format), format), records);
  });

  test(`metrics (${format}): every metric type survives decode(encode(x))`, (t) => {
    const base = { startTimeUnixNano: '1760000000000000000', timeUnixNano: '1760000060000000000', flags: 0 };
    const exemplar = { timeUnixNano: '1760000030000000000', value: 0.42, traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), filteredAttributes: { user: 'u1' } };
    const metrics: DecodedMetric[] = [
      { name: 'queue_depth', description: 'items waiting', unit: '{item}', resource: resA, scope: scope1, type: 'gauge', dataPoints: [{ ...base, attributes: { q: 'a' }, value: 7, exemplars: [] }, { ...base, attributes: { q: 'b' }, value: -0.5, exemplars: [exemplar] }] },
      { name: 'orders_total', resource: resA, scope: scope1, type: 'sum', temporality: 'cumulative', isMonotonic: true, dataPoints: [{ ...base, attributes: {}, value: 1234567, exemplars: [{ timeUnixNano: exemplar.timeUnixNano, value: 12, filteredAttributes: {} }] }] },
      { name: 'balance', resource: resA, scope: scope1, type: 'sum', temporality: 'delta', isMonotonic: false, dataPoints: [{ ...base, attributes: {}, value: -3.75, exemplars: [] }] },
      {
        name: 'latency',
        unit: 's',
        resource: resA,
        scope: scope2,
        type: 'histogram',
        temporality: 'delta',
        dataPoints: [
          { ...base, attributes: { route: '/a' }, count: 3, sum: 5.55, min: 0.05, max: 5, bucketCounts: [1, 1, 1], explicitBounds: [0.1, 1], exemplars: [exemplar] },
          { ...base, attributes: { route: '/b' }, count: 0, bucketCounts: [], explicitBounds: [], exemplars: [] },
        ],
      },
      {
        name: 'size',
        resource: resB,
        scope: scope1,
        type: 'exponentialHistogram',
        temporality: 'cumulative',
        dataPoints: [{ ...base, attributes: {}, count: 10, sum: 100, min: -2, max: 50, scale: -3, zeroCount: 2, zeroThreshold: 1e-9, positive: { offset: -2, bucketCounts: [1, 0, 4] }, negative: { offset: 1, bucketCounts: [3] }, exemplars: [] }],
      },
      { name: 'rpc_duration', resource: resB, scope: scope1, type: 'summary', dataPoints: [{ ...base, attributes: { m: 'get' }, count: 4, sum: 2.5, quantileValues: [{ quantile: 0, value: 0.1 }, { quantile: 0.5, value: 0.5 }, { quantile: 1, value: 1.2 }] }] },
      { name: 'declared_only', resource: resB, scope: scope1, type: 'empty', dataPoints: [] },
    ];
    t.deepEqual(decodeMetrics(encodeMetrics(metrics, format), format), metrics);
  });

  test(`traces (${format}): items are grouped by resource object, then scope object`, (t) => {
    const a1 = fullSpan(1, resA, scope1, 'server', 'ok');
    const b1 = fullSpan(2, resB, scope1, 'client', 'ok');
    const a2 = fullSpan(3, resA, scope2, 'server', 'ok');
    const a3 = fullSpan(4, resA, scope1, 'internal', 'ok');
    const body = encodeTraces([a1, b1, a2, a3], format);
    const raw = (format === 'json' ? JSON.parse(Buffer.from(body).toString('utf8')) : requestType('traces').toObject(requestType('traces').decode(body))) as {
      resourceSpans: { scopeSpans: { scope: { name: string }; spans: unknown[] }[] }[];
    };
    t.is(raw.resourceSpans.length, 2);
    t.deepEqual(raw.resourceSpans.map((r) => r.scopeSpans.map((s) => [s.scope.name, s.spans.length])), [[['lib-http', 2], ['lib-db', 1]], [['lib-http', 1]]]);
    const decoded = decodeTraces(body, format);
    t.deepEqual(decoded.map((s) => s.spanId), [a1, a3, a2, b1].map((s) => s.spanId));
    // items of one block share one resource object again, as the codec promises
    t.is(decoded[0]!.resource, decoded[2]!.resource);
  });
}

test('OTLP/JSON output: hex ids, integer enums, 64-bit integers as decimal strings', (t) => {
  const s = fullSpan(5, resA, scope1, 'client', 'error');
  const json = JSON.parse(Buffer.from(encodeTraces([s], 'json')).toString('utf8')) as {
    resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[];
  };
  const span = json.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  t.is(span.traceId, s.traceId);
  t.is(span.spanId, s.spanId);
  t.is(span.parentSpanId, s.parentSpanId);
  t.is(span.kind, 3);
  t.deepEqual(span.status, { code: 2, message: 'it failed' });
  t.is(span.startTimeUnixNano, s.startTimeUnixNano);
  const attrs = new Map((span.attributes as { key: string; value: Record<string, unknown> }[]).map((kv) => [kv.key, kv.value]));
  t.deepEqual(attrs.get('int'), { intValue: '42' });
  t.deepEqual(attrs.get('int64Max'), { intValue: '9223372036854775807' });
  t.deepEqual(attrs.get('digitsTooLong'), { stringValue: '123456789012345678901234567890' });
  t.deepEqual(attrs.get('double'), { doubleValue: 0.25 });
});

test('protobuf output: int64 attributes and nanosecond times are exact on the wire', (t) => {
  const s = fullSpan(6, resA, scope1, 'server', 'ok');
  s.startTimeUnixNano = '18446744073709551615'; // fixed64 max
  s.endTimeUnixNano = '4611686018427387904000'.slice(0, 19); // past the fast path's range
  const type = requestType('traces');
  const raw = type.toObject(type.decode(encodeTraces([s])), { longs: String }) as {
    resourceSpans: { scopeSpans: { spans: { startTimeUnixNano: string; endTimeUnixNano: string; attributes: { key: string; value: { intValue?: string } }[] }[] }[] }[];
  };
  const span = raw.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  t.is(span.startTimeUnixNano, '18446744073709551615');
  t.is(span.endTimeUnixNano, s.endTimeUnixNano);
  const attrs = new Map(span.attributes.map((kv) => [kv.key, kv.value]));
  t.is(attrs.get('int64Min')?.intValue, '-9223372036854775808');
  t.is(attrs.get('beyondSafe')?.intValue, '9007199254740993');
});

test('random nanosecond timestamps round-trip exactly through protobuf', (t) => {
  const s = fullSpan(7, resA, scope1, 'server', 'ok');
  for (let i = 0; i < 2000; i++) {
    const ns = (BigInt(Math.floor(Math.random() * 2 ** 53)) * BigInt(1 + Math.floor(Math.random() * 2048)) + BigInt(i)).toString();
    s.startTimeUnixNano = ns;
    const d = decodeTraces(encodeTraces([s]))[0]!;
    if (d.startTimeUnixNano !== ns) return t.fail(`${ns} came back as ${d.startTimeUnixNano}`);
  }
  t.pass();
});

test('the hand-written protobuf writer produces what protobufjs produces (spans, logs; long and multi-byte values)', (t) => {
  const spans = spanSet();
  // messages over 128 B, 16 KB and 2 MB exercise every length-prefix width; multi-byte text every UTF-8 path
  spans[0]!.attributes = { ...spans[0]!.attributes, long: 'x'.repeat(20_000), huge: 'y'.repeat(2_100_000), emoji: '🚀'.repeat(50), mixed: 'a€'.repeat(30) };
  spans[1]!.name = 'é'.repeat(42);
  spans[2]!.attributes = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i % 2 ? i : `v${i}`]));
  // defaults: true, because the writer leaves zero scalars out where protobufjs writes them (same message either way)
  const opts = { longs: String, bytes: String, enums: Number, defaults: true };
  const traces = requestType('traces');
  t.deepEqual(
    traces.toObject(traces.decode(encodeTraces(spans)), opts),
    traces.toObject(traces.decode(traces.encode(traceRequestObject(spans, 'protobuf')).finish()), opts),
  );
  const recs: DecodedLogRecord[] = [
    { timeUnixNano: '1760000000000000001', observedTimeUnixNano: '1760000000000000002', severityNumber: 17, severityText: 'ERROR', body: { nested: ['a', 1, { deep: 'z'.repeat(300) }] }, attributes: EVERY_VALUE, traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), flags: 1, eventName: 'e', resource: resA, scope: scope1 },
    { timeUnixNano: '0', observedTimeUnixNano: '0', severityNumber: 0, body: null, attributes: {}, flags: 0, resource: resB, scope: scope2 },
  ];
  const logs = requestType('logs');
  t.deepEqual(logs.toObject(logs.decode(encodeLogs(recs)), opts), logs.toObject(logs.decode(logs.encode(logsRequestObject(recs, 'protobuf')).finish()), opts));
  t.deepEqual(decodeTraces(encodeTraces(spans)), spans);
});

// ---- real SDK output: decode → encode → decode is stable ----

const sdkResource = resourceFromAttributes({ 'service.name': 'encode-test', 'host.cpus': 2 });

function sdkSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: sdkResource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('encode', '1.2.3');
  const parent = tracer.startSpan('GET /users/:id', { kind: SpanKind.SERVER, attributes: { 'http.response.status_code': 500, ok: false, tags: ['a', 'b'], ratio: 0.5 } });
  const child = tracer.startSpan('SELECT users', { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), parent));
  child.addEvent('row', { n: 1 });
  child.addLink({ context: parent.spanContext(), attributes: { why: 'test' } });
  child.end();
  parent.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  parent.end();
  return { spans: exporter.getFinishedSpans(), parent };
}

for (const format of FORMATS) {
  test(`OTel SDK traces (${format}): decode → encode → decode is stable`, (t) => {
    const body = (format === 'json' ? JsonTraceSerializer : ProtobufTraceSerializer).serializeRequest(sdkSpans().spans)!;
    const once = decodeTraces(body, format);
    t.is(once.length, 2);
    t.deepEqual(decodeTraces(encodeTraces(once, format), format), once);
    t.deepEqual(decodeTraces(encodeTraces(once, 'protobuf')), once);
  });

  test(`OTel SDK logs (${format}): decode → encode → decode is stable`, async (t) => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ resource: sdkResource, processors: [new SimpleLogRecordProcessor({ exporter })] });
    const { parent } = sdkSpans();
    const logger = provider.getLogger('encode');
    logger.emit({ body: { msg: 'paid', amount: 12 }, severityNumber: SeverityNumber.WARN, severityText: 'warn', attributes: { order: 'o-1' }, context: trace.setSpan(context.active(), parent) });
    logger.emit({ body: 'plain', severityNumber: SeverityNumber.INFO });
    await provider.forceFlush();
    const body = (format === 'json' ? JsonLogsSerializer : ProtobufLogsSerializer).serializeRequest(exporter.getFinishedLogRecords())!;
    const once = decodeLogs(body, format);
    t.is(once.length, 2);
    t.deepEqual(decodeLogs(encodeLogs(once, format), format), once);
  });

  test(`OTel SDK metrics (${format}): decode → encode → decode is stable`, async (t) => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ resource: sdkResource, readers: [reader] });
    const meter = provider.getMeter('encode');
    meter.createCounter('orders_total').add(3, { route: '/orders' });
    meter.createUpDownCounter('inflight').add(-2);
    meter.createGauge('queue_depth').record(7.5);
    const h = meter.createHistogram('latency_seconds', { advice: { explicitBucketBoundaries: [0.1, 1] } });
    for (const v of [0.05, 0.5, 5]) h.record(v);
    await reader.forceFlush();
    const body = (format === 'json' ? JsonMetricsSerializer : ProtobufMetricsSerializer).serializeRequest(exporter.getMetrics()[0]!)!;
    const once = decodeMetrics(body, format);
    t.is(once.length, 4);
    t.deepEqual(decodeMetrics(encodeMetrics(once, format), format), once);
    await provider.shutdown();
  });
}
