// Round trip: data made by the real OTel SDK, serialised by the SDK's own OTLP serializers
// (what exporters send), decoded by our codec. Covers both encodings for each signal.
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
import { decodeLogs, decodeMetrics, decodeTraces, otlpFormat, OtlpDecodeError } from '../src/index.js';

const resource = resourceFromAttributes({ 'service.name': 'codec-test', 'host.cpus': 2 });

function makeSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('codec', '1.2.3');
  const parent = tracer.startSpan('GET /users/:id', { kind: SpanKind.SERVER, attributes: { 'http.response.status_code': 500, ok: false, tags: ['a', 'b'], ratio: 0.5 } });
  const child = tracer.startSpan('SELECT users', { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), parent));
  child.addEvent('row', { n: 1 });
  child.addLink({ context: parent.spanContext(), attributes: { why: 'test' } });
  child.end();
  parent.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  parent.end();
  return { spans: exporter.getFinishedSpans(), parent, child };
}

for (const format of ['protobuf', 'json'] as const) {
  test(`traces (${format}): ids in hex, parent link, kinds, attributes, status, resource, scope`, (t) => {
    const { spans, parent, child } = makeSpans();
    const body = (format === 'json' ? JsonTraceSerializer : ProtobufTraceSerializer).serializeRequest(spans)!;
    const decoded = decodeTraces(body, format);
    t.is(decoded.length, 2);
    const p = decoded.find((s) => s.name === 'GET /users/:id')!;
    const c = decoded.find((s) => s.name === 'SELECT users')!;
    t.is(p.traceId, parent.spanContext().traceId);
    t.is(p.spanId, parent.spanContext().spanId);
    t.is(p.parentSpanId, undefined);
    t.is(c.parentSpanId, parent.spanContext().spanId);
    t.is(c.spanId, child.spanContext().spanId);
    t.is(p.kind, 'server');
    t.is(c.kind, 'client');
    t.deepEqual(p.attributes, { 'http.response.status_code': 500, ok: false, tags: ['a', 'b'], ratio: 0.5 });
    t.deepEqual(p.status, { code: 'error', message: 'boom' });
    t.is(c.events[0]?.name, 'row');
    t.deepEqual(c.events[0]?.attributes, { n: 1 });
    t.is(c.links[0]?.spanId, parent.spanContext().spanId);
    t.is(p.resource.attributes['service.name'], 'codec-test');
    t.is(p.resource.attributes['host.cpus'], 2);
    t.deepEqual({ name: p.scope.name, version: p.scope.version }, { name: 'codec', version: '1.2.3' });
    t.true(BigInt(p.endTimeUnixNano) >= BigInt(p.startTimeUnixNano));
    t.true(BigInt(p.startTimeUnixNano) > 1_600_000_000_000_000_000n);
  });

  test(`logs (${format}): body, severity, trace context`, async (t) => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
    const { spans, parent } = makeSpans();
    t.truthy(spans.length);
    provider.getLogger('codec').emit({
      body: { msg: 'paid', amount: 12 },
      severityNumber: SeverityNumber.WARN,
      severityText: 'warn',
      attributes: { order: 'o-1' },
      context: trace.setSpan(context.active(), parent),
    });
    await provider.forceFlush();
    const body = (format === 'json' ? JsonLogsSerializer : ProtobufLogsSerializer).serializeRequest(exporter.getFinishedLogRecords())!;
    const [rec] = decodeLogs(body, format);
    t.deepEqual(rec?.body, { msg: 'paid', amount: 12 });
    t.is(rec?.severityNumber, SeverityNumber.WARN);
    t.is(rec?.severityText, 'warn');
    t.deepEqual(rec?.attributes, { order: 'o-1' });
    t.is(rec?.traceId, parent.spanContext().traceId);
    t.is(rec?.spanId, parent.spanContext().spanId);
    t.is(rec?.resource.attributes['service.name'], 'codec-test');
  });

  test(`metrics (${format}): sum, gauge, histogram with buckets`, async (t) => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ resource, readers: [reader] });
    const meter = provider.getMeter('codec');
    meter.createCounter('orders_total').add(3, { route: '/orders' });
    meter.createGauge('queue_depth').record(7);
    const h = meter.createHistogram('latency_seconds', { advice: { explicitBucketBoundaries: [0.1, 1] } });
    h.record(0.05);
    h.record(0.5);
    h.record(5);
    await reader.forceFlush();
    const body = (format === 'json' ? JsonMetricsSerializer : ProtobufMetricsSerializer).serializeRequest(exporter.getMetrics()[0]!)!;
    const metrics = decodeMetrics(body, format);
    const byName = new Map(metrics.map((m) => [m.name, m]));
    const sum = byName.get('orders_total');
    t.is(sum?.type, 'sum');
    if (sum?.type === 'sum') {
      t.true(sum.isMonotonic);
      t.is(sum.temporality, 'cumulative');
      t.is(sum.dataPoints[0]?.value, 3);
      t.deepEqual(sum.dataPoints[0]?.attributes, { route: '/orders' });
    }
    const gauge = byName.get('queue_depth');
    t.is(gauge?.type, 'gauge');
    t.is(gauge?.dataPoints[0] && 'value' in gauge.dataPoints[0] ? gauge.dataPoints[0].value : undefined, 7);
    const hist = byName.get('latency_seconds');
    t.is(hist?.type, 'histogram');
    if (hist?.type === 'histogram') {
      t.deepEqual(hist.dataPoints[0]?.explicitBounds, [0.1, 1]);
      t.deepEqual(hist.dataPoints[0]?.bucketCounts, [1, 1, 1]);
      t.is(hist.dataPoints[0]?.count, 3);
      t.is(hist.dataPoints[0]?.sum, 5.55);
      t.is(hist.dataPoints[0]?.max, 5);
    }
    await provider.shutdown();
  });
}

test('garbage payloads fail with OtlpDecodeError, content types map to formats', (t) => {
  t.throws(() => decodeTraces(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), 'protobuf'), { instanceOf: OtlpDecodeError });
  t.throws(() => decodeTraces('{not json', 'json'), { instanceOf: OtlpDecodeError });
  t.throws(() => decodeTraces('[1,2]', 'json'), { instanceOf: OtlpDecodeError });
  t.is(otlpFormat('application/x-protobuf'), 'protobuf');
  t.is(otlpFormat('application/json; charset=utf-8'), 'json');
  t.is(otlpFormat('text/plain'), undefined);
});
