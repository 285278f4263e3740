import test from 'ava';
import { SpanKind, SpanStatusCode, TraceFlags, createTraceState, type Tracer } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startOtlpReceiver } from '@lantern/testkit';
import { encodeTraceRequest } from '../src/tracing/otlp-encoder.js';

// The SDK's encoder must say exactly what OpenTelemetry's serializer says: both encodings are sent to
// a real OTLP endpoint (the collector's decoder behind testkit's receiver) and compared decoded.

function provider(attributes: Record<string, string | number>): { tracer: (name: string, version?: string) => Tracer; spans: () => ReadableSpan[] } {
  const exporter = new InMemorySpanExporter();
  const p = new BasicTracerProvider({ resource: resourceFromAttributes(attributes), spanProcessors: [new SimpleSpanProcessor(exporter)], spanLimits: { attributeCountLimit: 1000 } });
  return { tracer: (name, version) => p.getTracer(name, version), spans: () => exporter.getFinishedSpans() };
}

function variedSpans(): ReadableSpan[] {
  const a = provider({ 'service.name': 'encoder-test', 'service.version': '1.2.3', 'process.pid': 4242, 'host.name': 'hôte-ünïcode' });
  const b = provider({ 'service.name': 'other-resource' });
  const koa = a.tracer('@lantern/sdk/koa', '0.1.0');
  const server = koa.startSpan('GET /products/:id', {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': 'GET',
      'url.path': '/products/0b5f0c7e-1111-4a2b-8c3d-000000000111',
      'server.port': 8082,
      'http.response.status_code': 200,
      negative: -42,
      big: 2 ** 40,
      beyondSafe: 2 ** 60,
      ratio: 0.125,
      tiny: -1e-300,
      flag: true,
      off: false,
      words: ['a', 'béta', ''],
      numbers: [1, 2.5, -3],
      empty: [],
      long: 'x'.repeat(300),
      unicode: '日本語 😀 ☃',
      short: 'é',
    },
  });
  server.addEvent('exception', { 'exception.message': 'boom', 'exception.type': 'Error' });
  server.addEvent('bare');
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'it failed ☹' });
  server.end();

  const remoteParent = {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: createTraceState('vendor=abc,other=1'),
  };
  const client = a.tracer('@lantern/sdk/undici').startSpan('POST', {
    kind: SpanKind.CLIENT,
    links: [{ context: { ...remoteParent, spanId: '00f067aa0ba902b7' }, attributes: { why: 'batch' } }],
    attributes: Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`attr.${i}`, `value-${i}`])),
  }, trace(remoteParent));
  client.setStatus({ code: SpanStatusCode.OK });
  client.end();

  const producer = b.tracer('kafkajs').startSpan('orders publish', { kind: SpanKind.PRODUCER });
  producer.end([1_900_000_000, 999_999_999]);
  const internal = b.tracer('kafkajs').startSpan('work', { kind: SpanKind.INTERNAL, startTime: [1_700_000_000, 1] });
  internal.end([1_700_000_001, 0]);
  return [...a.spans(), ...b.spans()];
}

import { context, trace as traceApi } from '@opentelemetry/api';
function trace(parent: Parameters<typeof traceApi.wrapSpanContext>[0]) {
  return traceApi.setSpan(context.active(), traceApi.wrapSpanContext(parent));
}

async function decode(bytes: Uint8Array) {
  const receiver = await startOtlpReceiver();
  try {
    const res = await fetch(`${receiver.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: bytes });
    if (res.status !== 200) throw new Error(`receiver answered ${res.status}: ${await res.text()}`);
    return receiver.spans();
  } finally {
    await receiver.close();
  }
}

test('decodes to exactly what OpenTelemetry’s serializer produces: attributes of every type, events, links, trace state, status, kinds, times, resources and scopes', async (t) => {
  const spans = variedSpans();
  const ours = await decode(encodeTraceRequest(spans));
  const theirs = await decode(ProtobufTraceSerializer.serializeRequest(spans)!);
  t.is(ours.length, spans.length);
  t.deepEqual(ours, theirs);
  const server = ours.find((s) => s.kind === 'server');
  t.is(server?.attributes['long'], 'x'.repeat(300));
  t.is(server?.attributes['unicode'], '日本語 😀 ☃');
  t.is(server?.status.message, 'it failed ☹');
  t.is(ours.find((s) => s.name === 'orders publish')?.endTimeUnixNano, '1900000000999999999');
});

test('a large batch (long length prefixes, buffer growth) decodes like OpenTelemetry’s', async (t) => {
  const p = provider({ 'service.name': 'batch' });
  const tracer = p.tracer('batch');
  for (let i = 0; i < 600; i++) {
    const s = tracer.startSpan(`op-${i}`, { attributes: { i, payload: 'p'.repeat(i % 200), list: Array.from({ length: i % 7 }, (_, k) => k) } });
    s.end();
  }
  const spans = p.spans();
  t.deepEqual(await decode(encodeTraceRequest(spans)), await decode(ProtobufTraceSerializer.serializeRequest(spans)!));
});
