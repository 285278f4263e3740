// WireSpan, the pipeline's span from protobuf: attributes, events, links and times are read from the request's
// bytes on first use, and a span no processor changed is exported as the bytes it arrived as. These tests pin
// that representation: forwarding is byte-identical, a change detaches the span (it is encoded again, its other
// parts kept), lazily read parts are what a full decode gives (a policy reading an attribute decides right), and
// the components that hold spans long (the store) keep plain copies. proto-reader.test.ts checks the lazy
// path against the full decode over its whole corpus, hostile bytes included.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { waitFor } from '@lantern/testkit';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { decodeTraces, decodeTracesLazy } from '../src/otlp/codec.js';
import { encodeTraces } from '../src/otlp/encode.js';
import { durationNs } from '../src/otlp/duration.js';
import { ProtoWriter } from '../src/otlp/proto-writer.js';
import { plainSpan, WireSpan } from '../src/otlp/wire-span.js';
import type { DecodedSpan, ResourceInfo, Scope } from '../src/otlp/types.js';
import { traceMessages } from '../src/components/exporters/kafka/messages.js';
import { spanDurationNs } from '../src/components/derived/metrics.js';
import { startTestCollector, tempDir } from './support/collector.js';
import { sink } from './support/sink.js';
import { source } from './support/source.js';
import { startOtlpBackend } from './support/otlp-backend.js';
import { get, startStore } from './support/store.js';
import { newSpanId, newTraceId } from './support/spans.js';

const resource: ResourceInfo = { attributes: { 'service.name': 'wire', 'host.name': 'h' } };
const scope: Scope = { name: 'wire-test', version: '1.0.0', attributes: {} };

/** Plain spans of `traces` traces of `perTrace` spans, with attributes of every kind, events, links and a status message now and then. */
function plainSpans(traces: number, perTrace = 3): DecodedSpan[] {
  const out: DecodedSpan[] = [];
  for (let t = 0; t < traces; t++) {
    const traceId = newTraceId();
    let parent: string | undefined;
    for (let i = 0; i < perTrace; i++) {
      const spanId = newSpanId();
      const s: DecodedSpan = {
        traceId,
        spanId,
        flags: 1,
        name: `op ${i}`,
        kind: i === 0 ? 'server' : 'client',
        startTimeUnixNano: String(1_760_000_000_000_000_000n + BigInt(t * 1000 + i)),
        endTimeUnixNano: String(1_760_000_000_002_500_000n + BigInt(t * 1000 + i)),
        attributes: { 'http.route': `/r/${t}`, n: t * 10 + i, f: 1.5, b: true, list: ['a', 1], map: { k: 'v' }, card: '4111111111111111' },
        droppedAttributesCount: i,
        events: i === 1 ? [{ name: 'retry', timeUnixNano: '1760000000000001000', attributes: { attempt: 2 } }] : [],
        links: i === 2 ? [{ traceId: newTraceId(), spanId: newSpanId(), traceState: 'a=1', attributes: { why: 'batch' } }] : [],
        status: i === 2 ? { code: 'error', message: 'boom' } : { code: 'unset' },
        resource,
        scope,
      };
      if (parent) s.parentSpanId = parent;
      out.push(s);
      parent = spanId;
    }
  }
  return out;
}

/** A request of `spans` (one resource, one scope) with each span's fields in reverse order and an unknown field 100 first. */
function oddlyEncoded(spans: DecodedSpan[]): Uint8Array {
  const w = new ProtoWriter();
  const rs = w.fork(1);
  const res = w.fork(1);
  const kv = w.fork(1);
  w.string(1, 'service.name');
  const v = w.fork(2);
  w.string(1, 'odd');
  w.join(v);
  w.join(kv);
  w.join(res);
  const ss = w.fork(2);
  const sc = w.fork(1);
  w.string(1, 'odd-sdk');
  w.join(sc);
  for (const s of spans) {
    const sp = w.fork(2);
    w.uint32(100, 7);
    for (const [k, value] of Object.entries(s.attributes).reverse()) {
      if (typeof value !== 'string') continue;
      const a = w.fork(9);
      w.string(1, k);
      const av = w.fork(2);
      w.string(1, value);
      w.join(av);
      w.join(a);
    }
    w.fixed64Decimal(8, s.endTimeUnixNano);
    w.fixed64Decimal(7, s.startTimeUnixNano);
    w.uint32(6, s.kind === 'server' ? 2 : 3);
    w.string(5, s.name);
    if (s.parentSpanId) w.hexBytes(4, s.parentSpanId);
    w.hexBytes(2, s.spanId);
    w.hexBytes(1, s.traceId);
    w.join(sp);
  }
  w.join(ss);
  w.join(rs);
  return w.finish();
}

/** The bytes of a WireSpan's field in its request. */
function wireBytes(s: DecodedSpan): Buffer {
  const w = s as WireSpan;
  return w.wireBuffer()!.subarray(w.wireFrom(), w.wireEnd());
}

test('protobuf spans come in as WireSpans that read as the plain spans; JSON ones stay plain', (t) => {
  const plain = plainSpans(4);
  const body = encodeTraces(plain);
  const lazy = decodeTracesLazy(body);
  t.true(lazy.every((s) => s instanceof WireSpan));
  t.deepEqual(lazy.map(plainSpan), decodeTraces(body));
  t.deepEqual(lazy.map(plainSpan), plain);
  // each span's field is the span's own bytes: forwarded alone (a one-span request), it decodes to the span
  for (const [i, s] of lazy.entries()) t.deepEqual(decodeTraces(encodeTraces([s]))[0], plain[i]);
  const json = decodeTracesLazy(encodeTraces(plain, 'json'), 'json');
  t.false(json.some((s) => s instanceof WireSpan));
  t.deepEqual(json, plain);
});

test('a request of clean spans is forwarded byte for byte; spans of several requests keep their bytes', (t) => {
  const body = encodeTraces(plainSpans(20));
  t.deepEqual(Buffer.from(encodeTraces(decodeTracesLazy(body))), Buffer.from(body));

  // what an SDK sends (protobufjs via the OTel serializer): every span's bytes reach the output unchanged
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'sdk' }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('wire', '1.0.0');
  const root = tracer.startSpan('root', { kind: SpanKind.SERVER, attributes: { s: 'é', n: 3 } });
  for (let i = 0; i < 5; i++) {
    const child = tracer.startSpan(`child ${i}`, { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), root));
    child.addEvent('e', { i });
    child.setStatus({ code: SpanStatusCode.ERROR, message: `m${i}` });
    child.end();
  }
  root.end();
  const sdkBody = ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans())!;
  const sdkSpans = decodeTracesLazy(sdkBody);
  const ours = decodeTracesLazy(encodeTraces(plainSpans(3)));
  // interleaved, as tail sampling and batching mix requests
  const mixed = [sdkSpans[0]!, ours[0]!, ...sdkSpans.slice(1, 3), ...ours.slice(1), ...sdkSpans.slice(3)];
  const out = Buffer.from(encodeTraces(mixed));
  for (const s of mixed) t.true(out.includes(wireBytes(s)), `span ${s.name} forwarded as it came`);
  const back = decodeTraces(out);
  t.deepEqual(
    back.map((s) => [s.spanId, s.name, s.attributes, s.events, s.status, s.resource.attributes['service.name']]).sort(),
    mixed.map((s) => [s.spanId, s.name, s.attributes, s.events, s.status, s.resource.attributes['service.name']]).sort(),
  );
});

test('end to end: spans received over OTLP/HTTP reach the backend through tail sampling and batch as the bytes they were sent as', async (t) => {
  const backend = await startOtlpBackend();
  t.teardown(() => backend.close());
  const key = 'wire-e2e';
  const c = await startTestCollector({
    receivers: { [`otlp/${key}`]: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
    processors: { [`tail_sampling/${key}`]: { decision_wait: '100ms', policies: [{ name: 'all', type: 'always_sample' }] }, [`batch/${key}`]: { timeout: '50ms' } },
    exporters: { [`otlphttp/${key}`]: { endpoint: backend.url, retry_on_failure: { initial_interval: '50ms' } } },
    service: { pipelines: { traces: { receivers: [`otlp/${key}`], processors: [`tail_sampling/${key}`, `batch/${key}`], exporters: [`otlphttp/${key}`] } } },
  });
  t.teardown(() => c.shutdown());
  // as another SDK might write them: fields out of order and one this collector does not know, which an
  // encoding from the decoded fields would drop, so only forwarded bytes can arrive as they were sent
  const bodies = [oddlyEncoded(plainSpans(4)), oddlyEncoded(plainSpans(3, 2))];
  for (const body of bodies) {
    const res = await fetch(`${c.endpoint(`otlp/${key}`)}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from(body) });
    t.is(res.status, 200);
  }
  await waitFor(() => backend.spans.length >= 18, { what: 'every span at the backend' });
  const received = Buffer.concat(backend.traceBodies);
  for (const body of bodies) {
    for (const s of decodeTracesLazy(body)) {
      t.true(received.includes(wireBytes(s)), `span ${s.spanId} arrived as it was sent`);
      // (an encoding from its fields would differ)
      t.false(Buffer.from(encodeTraces([plainSpan(s)])).includes(wireBytes(s)));
    }
  }
  t.deepEqual(new Set(backend.spans.map((s) => s.spanId)), new Set(bodies.flatMap((b) => decodeTraces(b).map((s) => s.spanId))));
});

test('assigning attributes, events, links or times detaches a WireSpan: it is encoded again, its other parts kept', (t) => {
  const [a, b, c] = decodeTracesLazy(encodeTraces(plainSpans(1))) as [WireSpan, WireSpan, WireSpan];
  a.attributes = { replaced: 'yes' };
  t.is(a.wireBuffer(), undefined);
  b.events = [];
  c.endTimeUnixNano = '1760000000009000000';
  const back = decodeTraces(encodeTraces([a, b, c]));
  t.deepEqual(back[0]!.attributes, { replaced: 'yes' });
  t.is(back[0]!.startTimeUnixNano, '1760000000000000000');
  t.deepEqual(back[1]!.events, []);
  t.is(back[1]!.attributes['http.route'], '/r/0');
  t.is(back[2]!.endTimeUnixNano, '1760000000009000000');
  t.deepEqual(back[2]!.links[0]!.attributes, { why: 'batch' });
  t.deepEqual(back[2]!.status, { code: 'error', message: 'boom' });
  // a span only read (not assigned) is still forwarded as its bytes
  const [d] = decodeTracesLazy(encodeTraces(plainSpans(1, 1))) as [WireSpan];
  t.is(d.attributes.n, 0);
  t.not(d.wireBuffer(), undefined);
});

test('JSON.stringify and plain copies of a WireSpan carry every field', (t) => {
  const body = encodeTraces(plainSpans(1, 2));
  const [, s] = decodeTracesLazy(body);
  const [, expected] = decodeTraces(body);
  t.deepEqual(JSON.parse(JSON.stringify(s)), JSON.parse(JSON.stringify(expected)));
  t.is((JSON.parse(JSON.stringify(s)) as DecodedSpan).events[0]!.name, 'retry');
  const copy = plainSpan(s!);
  t.false(copy instanceof WireSpan);
  t.deepEqual(copy, expected);
});

test('durationNs from the bytes equals durationNs of the time strings (absent times, negative and huge spans)', (t) => {
  const times: [string, string][] = [
    ['1760000000000000000', '1760000000002500000'],
    ['1760000000002500000', '1760000000000000000'],
    ['0', '1760000000000000000'],
    ['1760000000000000000', '0'],
    ['0', '0'],
    ['4294967295', '4294967296'],
    ['1', '18446744073709551615'],
    ['1760000000000000000', '1769007199254740991'],
    ['9007199254740991', '9007199254740993'],
  ];
  for (const [start, end] of times) {
    const plain = { ...plainSpans(1, 1)[0]!, startTimeUnixNano: start, endTimeUnixNano: end };
    const [w] = decodeTracesLazy(encodeTraces([plain])) as [WireSpan];
    t.is(w.durationNs(), durationNs(start, end), `${start} → ${end}`);
    t.is(spanDurationNs(w), spanDurationNs(plain));
    t.is(w.startTimeUnixNano, start);
    t.is(w.endTimeUnixNano, end);
  }
});

test('redaction re-encodes the spans it changed; the others are forwarded as their bytes (the same objects)', async (t) => {
  const key = 'wire-redact';
  const c = await startTestCollector({
    receivers: { [`test_source/${key}`]: {} },
    processors: { [`redaction/${key}`]: { allow_all_keys: true, blocked_values: ['4[0-9]{15}'], summary: 'silent' } },
    exporters: { [`test_sink/${key}`]: {} },
    service: { pipelines: { traces: { receivers: [`test_source/${key}`], processors: [`redaction/${key}`], exporters: [`test_sink/${key}`] } } },
  });
  t.teardown(() => c.shutdown());
  const plain = plainSpans(2);
  // the second trace has nothing to redact
  for (const s of plain.slice(3)) delete s.attributes.card;
  const input = decodeTracesLazy(encodeTraces(plain));
  await source(`test_source/${key}`).traces!.consume(input);
  const out = sink(`test_sink/${key}`).traces;
  t.is(out.length, 6);
  for (let i = 0; i < 3; i++) {
    t.false(out[i] instanceof WireSpan, 'a redacted span is a plain copy');
    t.is(out[i]!.attributes.card, '****');
  }
  for (let i = 3; i < 6; i++) t.is(out[i], input[i], 'an unchanged span is passed on as it came');
  const exported = Buffer.from(encodeTraces(out));
  const back = decodeTraces(exported);
  t.deepEqual(back.slice(0, 3).map((s) => s.attributes.card), ['****', '****', '****']);
  t.false(exported.includes(Buffer.from('4111111111111111')));
  for (let i = 3; i < 6; i++) t.true(exported.includes(wireBytes(input[i]!)));
  // the copies keep what redaction did not touch
  t.deepEqual(back[1]!.events, plain[1]!.events);
  t.deepEqual(back[2]!.links, plain[2]!.links);
  t.is(back[2]!.endTimeUnixNano, plain[2]!.endTimeUnixNano);
});

test('a string_attribute policy reads lazily decoded attributes of spans received over OTLP/HTTP', async (t) => {
  const key = 'wire-policy';
  const c = await startTestCollector({
    receivers: { [`otlp/${key}`]: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
    processors: { [`tail_sampling/${key}`]: { decision_wait: '100ms', policies: [{ name: 'route', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/r/1', '/r/3'] } }] } },
    exporters: { [`test_sink/${key}`]: {} },
    service: { pipelines: { traces: { receivers: [`otlp/${key}`], processors: [`tail_sampling/${key}`], exporters: [`test_sink/${key}`] } } },
  });
  t.teardown(() => c.shutdown());
  const plain = plainSpans(5);
  const res = await fetch(`${c.endpoint(`otlp/${key}`)}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from(encodeTraces(plain)) });
  t.is(res.status, 200);
  const s = sink(`test_sink/${key}`);
  await waitFor(() => s.traces.length >= 6, { what: 'the two matching traces' });
  t.true(s.traces.every((x) => x instanceof WireSpan));
  const kept = new Set(s.traces.map((x) => x.traceId));
  t.deepEqual([...kept].sort(), [plain[3]!.traceId, plain[9]!.traceId].sort());
  // the policy read the attributes; the spans are still tied to their bytes and forwarded as such
  t.true(s.traces.every((x) => (x as WireSpan).wireBuffer() !== undefined));
});

test('the store, with persistence, keeps every field of lazily read spans across a restart (it stores plain copies)', async (t) => {
  const dir = tempDir('wire-store-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const plain = plainSpans(1);
  const traceId = plain[0]!.traceId;
  const first = await startStore('wire-store', { persistence: { directory: dir } });
  await source('test_source/wire-store').traces!.consume(decodeTracesLazy(encodeTraces(plain)));
  await first.c.shutdown();
  const again = await startStore('wire-store', { persistence: { directory: dir } });
  t.teardown(() => again.c.shutdown());
  const r = await get(`${again.url}/api/traces/${traceId}`);
  t.is(r.status, 200);
  const spans = (r.json as { data: { spans: { operationName: string; tags: { key: string; value: unknown }[]; logs: unknown[]; duration: number }[] }[] }).data[0]!.spans;
  t.is(spans.length, 3);
  const byName = new Map(spans.map((s) => [s.operationName, s]));
  t.is(byName.get('op 0')!.tags.find((x) => x.key === 'http.route')?.value, '/r/0');
  t.is(byName.get('op 1')!.logs.length, 1);
  t.is(byName.get('op 0')!.duration, 2500);
});

test('the kafka exporter regroups spans by trace and writes each as the bytes it came in', (t) => {
  const plain = plainSpans(6);
  const body = encodeTraces(plain);
  const lazy = decodeTracesLazy(body);
  const built = traceMessages(body, { byTraceId: true, maxBytes: 1_000_000 });
  t.is(built.messages.length, 6);
  for (const m of built.messages) {
    const spans = decodeTraces(m.value);
    t.true(spans.every((s) => s.traceId === m.key));
    t.deepEqual(spans.map((s) => s.spanId), plain.filter((s) => s.traceId === m.key).map((s) => s.spanId));
  }
  for (const s of lazy) t.true(built.messages.some((m) => m.value.includes(wireBytes(s))));
});

test('ProtoWriter: size hints too small, right or too large all give the canonical bytes', (t) => {
  const payload = randomBytes(5000);
  const write = (outer: number, inner: number) => {
    const w = new ProtoWriter();
    const a = w.fork(1, outer);
    w.string(1, 'x');
    for (const n of [0, 1, 127, 128, 300, 16_383, 16_384, 5000]) {
      const b = w.fork(2, inner);
      w.bytes(3, payload.subarray(0, Math.min(n, payload.length)));
      w.join(b);
    }
    w.join(a);
    return Buffer.from(w.finish());
  };
  const canonical = write(0, 0);
  for (const [o, i] of [[1 << 20, 0], [0, 1 << 20], [40_000, 300], [1 << 30, 1 << 30], [100, 100]] as const) t.deepEqual(write(o, i), canonical, `hints ${o}, ${i}`);
  // a big message written into a buffer of its own comes back without a copy, and the same
  const big = new ProtoWriter(1 << 20);
  const blk = big.fork(1, 600_000);
  big.bytes(2, Buffer.alloc(600_000, 7));
  big.join(blk);
  const ref = new ProtoWriter();
  const rb = ref.fork(1);
  ref.bytes(2, Buffer.alloc(600_000, 7));
  ref.join(rb);
  t.deepEqual(Buffer.from(big.finish()), Buffer.from(ref.finish()));
});
