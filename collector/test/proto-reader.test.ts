// The direct protobuf reader (proto-reader.ts) against the protobufjs + toObject path it replaced
// (decodeTracesViaObjects / decodeLogsViaObjects): for every request of a broad corpus — the OTel JS
// SDK's serializers, the official OTLP examples, our encoder's output for random spans and records of
// every value type, and random raw requests written by protobufjs with fields our encoder never writes —
// both produce deep-equal items that share resource and scope objects the same way. Hostile bytes
// (garbage, every truncation, mutations, bad UTF-8, deep nesting, bad wire types, length overruns)
// only ever end in an OtlpDecodeError.
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import protobuf from 'protobufjs';
import { isDeepStrictEqual } from 'node:util';
import { decodeLogs, decodeLogsViaObjects, decodeTraces, decodeTracesLazy, decodeTracesViaObjects, OtlpDecodeError, requestType } from '../src/otlp/codec.js';
import { plainSpan } from '../src/otlp/wire-span.js';
import { encodeLogs, encodeTraces } from '../src/otlp/encode.js';
import { uint64Decimal } from '../src/otlp/proto-reader.js';
import type { DecodedLogRecord, DecodedSpan, OtlpValue, ResourceInfo, Scope, SpanKindName, StatusCodeName } from '../src/otlp/types.js';

// ---- helpers ----

/** mulberry32: a small seeded PRNG, so a failing case can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;
const bytes = (r: Rand, n: number) => Buffer.from(Array.from({ length: n }, () => int(r, 256)));

/** Which items share a resource / scope object: each item's index of the first item with the same object. */
function sharing(items: { resource: ResourceInfo; scope: Scope }[]): { resource: number[]; scope: number[] } {
  const firstOf = (key: 'resource' | 'scope') => {
    const seen = new Map<object, number>();
    return items.map((it, i) => {
      const o = it[key];
      if (!seen.has(o)) seen.set(o, i);
      return seen.get(o)!;
    });
  };
  return { resource: firstOf('resource'), scope: firstOf('scope') };
}

function sameTraces(t: ExecutionContext, body: Uint8Array, label: string): DecodedSpan[] {
  const expected = decodeTracesViaObjects(body);
  const actual = decodeTraces(body);
  t.deepEqual(actual, expected, label);
  t.deepEqual(sharing(actual), sharing(expected), `${label}: resource/scope sharing`);
  // the pipeline's lazy spans: the same spans once read, shared alike, and forwarded as bytes that decode to them again
  const lazy = decodeTracesLazy(body);
  t.deepEqual(lazy.map(plainSpan), actual, `${label}: lazy`);
  t.deepEqual(sharing(lazy), sharing(actual), `${label}: lazy resource/scope sharing`);
  t.true(forwardedAlike(lazy, actual), `${label}: forwarded`);
  return actual;
}

/**
 * Lazy spans encoded (forwarded as the bytes they came in) decode to the spans decodeTraces read; their
 * resources and scopes, encoded again from their objects either way, to what encoding the plain spans gives.
 */
function forwardedAlike(lazy: DecodedSpan[], plain: DecodedSpan[]): boolean {
  const forwarded = decodeTraces(encodeTraces(lazy));
  const reencoded = decodeTraces(encodeTraces(plain));
  const own = (s: DecodedSpan) => ({ ...s, resource: undefined, scope: undefined });
  return isDeepStrictEqual(forwarded.map(own), plain.map(own)) && isDeepStrictEqual(forwarded.map((s) => [s.resource, s.scope]), reencoded.map((s) => [s.resource, s.scope]));
}

const describeOutcome = (err: unknown) => (err === undefined ? 'spans' : err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/**
 * decodeTraces, once the lazy path (WireSpans, which check what they do not decode) agreed: the same error,
 * or the same spans, forwarded as bytes that decode to them again. A disagreement is a plain Error.
 */
function decodeBoth(body: Uint8Array | string): DecodedSpan[] {
  let eager: DecodedSpan[] = [];
  let eagerErr: unknown;
  let lazyErr: unknown;
  try {
    eager = decodeTraces(body);
  } catch (err) {
    eagerErr = err;
  }
  try {
    const lazy = decodeTracesLazy(body);
    if (eagerErr === undefined && !isDeepStrictEqual(lazy.map(plainSpan), eager)) throw new Error('lazy spans differ from decodeTraces');
    if (eagerErr === undefined && !forwardedAlike(lazy, eager)) throw new Error('forwarded bytes decode differently');
  } catch (err) {
    lazyErr = err;
  }
  if (eagerErr !== undefined || lazyErr !== undefined) {
    if (describeOutcome(eagerErr) !== describeOutcome(lazyErr)) throw new Error(`the lazy decode disagrees: decodeTraces gave ${describeOutcome(eagerErr)}, decodeTracesLazy ${describeOutcome(lazyErr)}`);
    throw eagerErr;
  }
  return eager;
}

function sameLogs(t: ExecutionContext, body: Uint8Array, label: string): DecodedLogRecord[] {
  const expected = decodeLogsViaObjects(body);
  const actual = decodeLogs(body);
  t.deepEqual(actual, expected, label);
  t.deepEqual(sharing(actual), sharing(expected), `${label}: resource/scope sharing`);
  return actual;
}

/** Runs a decode that may fail; a failure must be an OtlpDecodeError (anything else fails the test). */
function onlyDecodeErrors(t: ExecutionContext, decode: () => unknown, label: string): 'ok' | 'error' {
  try {
    decode();
    return 'ok';
  } catch (err) {
    if (!(err instanceof OtlpDecodeError)) t.fail(`${label}: threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    return 'error';
  }
}

// ---- corpus: the OTel JS SDK ----

test('OTel SDK serializer output (spans with events, links, status, every attribute type; logs) decodes as before', async (t) => {
  const resource = resourceFromAttributes({ 'service.name': 'reader-test', 'host.cpus': 2, big: 2 ** 40, tags: ['x', 'y'] });
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('reader', '9.9.9');
  const kinds = [SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER];
  const root = tracer.startSpan('root ✓', { kind: SpanKind.SERVER, attributes: { s: 'é', n: -12, f: 1.5, b: true, arr: [1, 2, 3], strs: ['a', ''], bools: [false] } });
  for (let i = 0; i < 10; i++) {
    const child = tracer.startSpan(`child ${i}`, { kind: kinds[i % kinds.length]!, links: [{ context: root.spanContext(), attributes: { i } }] }, trace.setSpan(context.active(), root));
    child.addEvent('evt', { i, msg: '日本語' });
    child.recordException(new Error(`boom ${i}`));
    child.setStatus(i % 2 ? { code: SpanStatusCode.ERROR, message: `failed ${i}` } : { code: SpanStatusCode.OK });
    child.end();
  }
  root.end();
  const spans = sameTraces(t, ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans())!, 'SDK spans');
  t.is(spans.length, 11);

  const logExporter = new InMemoryLogRecordExporter();
  const logs = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: logExporter })] });
  const logger = logs.getLogger('reader-logs', '1.0.0');
  const bodies: unknown[] = ['text', 42, 1.25, true, { nested: { deep: [1, 'two'] } }, ['a', { b: null }], new Uint8Array([1, 2, 3]), undefined];
  bodies.forEach((body, i) =>
    logger.emit({ body: body as string, severityNumber: (i * 3) as SeverityNumber, severityText: i % 2 ? 'WARN' : undefined, attributes: { i, k: 'v' }, context: trace.setSpan(context.active(), root) }),
  );
  logger.emit({ body: 'no context', severityNumber: SeverityNumber.ERROR });
  await logs.forceFlush();
  const records = sameLogs(t, ProtobufLogsSerializer.serializeRequest(logExporter.getFinishedLogRecords())!, 'SDK logs');
  t.is(records.length, bodies.length + 1);
});

// ---- corpus: the official OTLP examples ----

test('the official OTLP examples (trace.json, logs.json), encoded to protobuf, decode as before', (t) => {
  const dir = new URL('./fixtures/otlp-examples/', import.meta.url);
  const spans = decodeTraces(readFileSync(new URL('trace.json', dir)), 'json');
  t.true(spans.length > 0);
  t.deepEqual(sameTraces(t, encodeTraces(spans), 'trace.json'), spans);
  const logs = decodeLogs(readFileSync(new URL('logs.json', dir)), 'json');
  t.true(logs.length > 0);
  t.deepEqual(sameLogs(t, encodeLogs(logs), 'logs.json'), logs);
});

// ---- corpus: random items through our encoder ----

const STRINGS = ['', 'GET', 'http.request.method', 'a', 'naïve — 日本語 🚀', 'x'.repeat(47), 'y'.repeat(48), 'z'.repeat(49), 'q'.repeat(300), '\u0000nul', 'é'.repeat(30), '𝄞'];
const NANOS = ['0', '1', '4294967295', '4294967296', '9007199254740991', '9007199254740992', '9007199254740993', '1760000000123456789', '9223372036854775807', '9223372036854775808', '18446744073709551615'];

function randString(r: Rand): string {
  switch (int(r, 4)) {
    case 0:
      return pick(r, STRINGS);
    case 1:
      return `k${int(r, 50)}`; // a small pool: the reader's string cache hits and evicts
    case 2:
      return Array.from({ length: int(r, 60) }, () => String.fromCharCode(32 + int(r, 95))).join('');
    default:
      return Array.from({ length: 1 + int(r, 12) }, () => String.fromCodePoint(pick(r, [0x41, 0xe9, 0x3b1, 0x65e5, 0x1f680, 0x10ffff, 0xfffd, 0x7f, 0x80, 0x7ff, 0x800, 0xffff]))).join('');
  }
}

function randNanos(r: Rand): string {
  if (r() < 0.5) return pick(r, NANOS);
  return ((BigInt(int(r, 2 ** 32)) << 32n) | BigInt(int(r, 2 ** 32))).toString();
}

function randValue(r: Rand, depth: number): OtlpValue {
  switch (int(r, depth > 3 ? 6 : 8)) {
    case 0:
      return randString(r);
    case 1:
      return pick(r, [0, 1, -1, 42, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, int(r, 1e9)]);
    case 2:
      return pick(r, ['9007199254740993', '-9007199254740993', '9223372036854775807', '-9223372036854775808', '12345678901234567890123']);
    case 3:
      return pick(r, [0.5, -1.5e-9, 1e300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MIN_VALUE, r() * 1e6]);
    case 4:
      return r() < 0.5;
    case 5:
      return null;
    case 6:
      return Array.from({ length: int(r, 4) }, () => randValue(r, depth + 1));
    default:
      return randAttributes(r, depth + 1, 4);
  }
}

function randAttributes(r: Rand, depth: number, max: number): Record<string, OtlpValue> {
  const out: Record<string, OtlpValue> = {};
  for (let i = int(r, max); i > 0; i--) out[randString(r)] = randValue(r, depth);
  return out;
}

const hex = (r: Rand, n: number) => bytes(r, n).toString('hex');
const KINDS: SpanKindName[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUSES: StatusCodeName[] = ['unset', 'ok', 'error'];

function randResources(r: Rand): { resources: ResourceInfo[]; scopes: Scope[] } {
  const resources = Array.from({ length: 1 + int(r, 3) }, (): ResourceInfo => {
    const res: ResourceInfo = { attributes: randAttributes(r, 0, 5) };
    if (r() < 0.3) res.schemaUrl = randString(r) || 'https://opentelemetry.io/schemas/1.26.0';
    return res;
  });
  const scopes = Array.from({ length: 1 + int(r, 3) }, (): Scope => {
    const sc: Scope = { name: randString(r), attributes: randAttributes(r, 0, 3) };
    if (r() < 0.5) sc.version = randString(r) || '1.0.0';
    return sc;
  });
  return { resources, scopes };
}

function randSpans(r: Rand): DecodedSpan[] {
  const { resources, scopes } = randResources(r);
  return Array.from({ length: int(r, 30) }, () => {
    const s: DecodedSpan = {
      traceId: hex(r, 16),
      spanId: hex(r, 8),
      flags: pick(r, [0, 1, 257, 0xffffffff]),
      name: randString(r),
      kind: pick(r, KINDS),
      startTimeUnixNano: randNanos(r),
      endTimeUnixNano: randNanos(r),
      attributes: randAttributes(r, 0, 12),
      droppedAttributesCount: pick(r, [0, 3, 0xffffffff]),
      events: Array.from({ length: int(r, 3) }, () => ({ name: randString(r), timeUnixNano: randNanos(r), attributes: randAttributes(r, 0, 3) })),
      links: Array.from({ length: int(r, 3) }, () => {
        const l: DecodedSpan['links'][number] = { traceId: hex(r, 16), spanId: hex(r, 8), attributes: randAttributes(r, 0, 3) };
        if (r() < 0.5) l.traceState = 'a=1,b=2';
        return l;
      }),
      status: r() < 0.3 ? { code: 'error', message: randString(r) || 'failed' } : { code: pick(r, STATUSES) },
      resource: pick(r, resources),
      scope: pick(r, scopes),
    };
    if (r() < 0.7) s.parentSpanId = r() < 0.1 ? '0'.repeat(16) : hex(r, 8);
    if (r() < 0.3) s.traceState = randString(r);
    return s;
  });
}

function randLogs(r: Rand): DecodedLogRecord[] {
  const { resources, scopes } = randResources(r);
  return Array.from({ length: int(r, 30) }, () => {
    const l: DecodedLogRecord = {
      timeUnixNano: randNanos(r),
      observedTimeUnixNano: randNanos(r),
      severityNumber: int(r, 25),
      body: randValue(r, 0),
      attributes: randAttributes(r, 0, 8),
      flags: pick(r, [0, 1, 0xffffffff]),
      resource: pick(r, resources),
      scope: pick(r, scopes),
    };
    if (r() < 0.5) l.traceId = hex(r, 16);
    if (r() < 0.5) l.spanId = hex(r, 8);
    if (r() < 0.5) l.severityText = pick(r, ['INFO', 'WARN', randString(r)]);
    if (r() < 0.3) l.eventName = randString(r);
    return l;
  });
}

test('400 random span requests of every value type, via encodeTraces, decode as before', (t) => {
  for (let seed = 1; seed <= 400; seed++) sameTraces(t, encodeTraces(randSpans(rng(seed))), `seed ${seed}`);
});

test('400 random log requests of every body and value type, via encodeLogs, decode as before', (t) => {
  for (let seed = 1; seed <= 400; seed++) sameLogs(t, encodeLogs(randLogs(rng(seed))), `seed ${seed}`);
});

// ---- corpus: random raw requests written by protobufjs (fields our encoder never writes) ----

type Raw = Record<string, unknown>;

function rawId(r: Rand, n: number): Buffer | undefined {
  return pick(r, [undefined, Buffer.alloc(0), Buffer.alloc(n), bytes(r, n), bytes(r, n), bytes(r, n), bytes(r, 5)]);
}

function rawValue(r: Rand, depth: number): Raw {
  switch (int(r, depth > 3 ? 6 : 8)) {
    case 0:
      return { stringValue: randString(r) };
    case 1:
      return { boolValue: r() < 0.5 };
    case 2:
      return { intValue: pick(r, ['0', '-1', '9007199254740991', '9007199254740992', '-9007199254740992', '9223372036854775807', '-9223372036854775808', String(int(r, 1e9))]) };
    case 3:
      return { doubleValue: pick(r, [0, -0, 0.1, Number.NaN, Number.NEGATIVE_INFINITY, 1e-300]) };
    case 4:
      return { bytesValue: bytes(r, int(r, 10)) };
    case 5:
      return {};
    case 6:
      return { arrayValue: { values: Array.from({ length: int(r, 4) }, () => rawValue(r, depth + 1)) } };
    default:
      return { kvlistValue: { values: rawKeyValues(r, depth + 1, 3) } };
  }
}

function rawKeyValues(r: Rand, depth: number, max: number): Raw[] {
  return Array.from({ length: int(r, max) }, () => {
    const kv: Raw = {};
    if (r() < 0.95) kv.key = r() < 0.1 ? '' : randString(r); // a KeyValue without a key is dropped
    if (r() < 0.95) kv.value = rawValue(r, depth);
    return kv;
  });
}

function rawBlocks(r: Rand, itemsKey: string, item: () => Raw): Raw[] {
  return Array.from({ length: int(r, 4) }, () => {
    const block: Raw = {
      [itemsKey === 'spans' ? 'scopeSpans' : 'scopeLogs']: Array.from({ length: int(r, 4) }, () => {
        const sb: Raw = { [itemsKey]: Array.from({ length: int(r, 6) }, item) };
        if (r() < 0.8) sb.scope = { name: randString(r), version: r() < 0.5 ? randString(r) : undefined, attributes: rawKeyValues(r, 0, 3), droppedAttributesCount: int(r, 3) };
        if (r() < 0.3) sb.schemaUrl = randString(r);
        return sb;
      }),
    };
    if (r() < 0.8) {
      block.resource = {
        attributes: rawKeyValues(r, 0, 5),
        droppedAttributesCount: int(r, 3),
        entityRefs: r() < 0.3 ? [{ schemaUrl: randString(r), type: 'service', idKeys: ['service.name'], descriptionKeys: [randString(r)] }] : [],
      };
    }
    if (r() < 0.3) block.schemaUrl = randString(r);
    return block;
  });
}

function rawSpan(r: Rand): Raw {
  return {
    traceId: rawId(r, 16),
    spanId: rawId(r, 8),
    parentSpanId: rawId(r, 8),
    traceState: r() < 0.3 ? randString(r) : undefined,
    flags: pick(r, [0, 1, 0xffffffff]),
    name: r() < 0.9 ? randString(r) : undefined,
    kind: pick(r, [0, 1, 2, 3, 4, 5, 9, -1]),
    startTimeUnixNano: r() < 0.9 ? randNanos(r) : undefined,
    endTimeUnixNano: r() < 0.9 ? randNanos(r) : undefined,
    attributes: rawKeyValues(r, 0, 8),
    droppedAttributesCount: int(r, 3),
    events: Array.from({ length: int(r, 3) }, () => ({ timeUnixNano: randNanos(r), name: randString(r), attributes: rawKeyValues(r, 0, 3), droppedAttributesCount: int(r, 2) })),
    droppedEventsCount: int(r, 3),
    links: Array.from({ length: int(r, 3) }, () => ({ traceId: rawId(r, 16), spanId: rawId(r, 8), traceState: randString(r), attributes: rawKeyValues(r, 0, 3), droppedAttributesCount: 1, flags: 257 })),
    droppedLinksCount: int(r, 3),
    status: r() < 0.7 ? { code: pick(r, [0, 1, 2, 7]), message: r() < 0.5 ? randString(r) : undefined } : undefined,
  };
}

function rawLog(r: Rand): Raw {
  return {
    timeUnixNano: r() < 0.9 ? randNanos(r) : undefined,
    observedTimeUnixNano: r() < 0.9 ? randNanos(r) : undefined,
    severityNumber: pick(r, [0, 1, 9, 17, 24, 30, -3]),
    severityText: r() < 0.5 ? randString(r) : undefined,
    body: r() < 0.8 ? rawValue(r, 0) : undefined,
    attributes: rawKeyValues(r, 0, 6),
    droppedAttributesCount: int(r, 3),
    flags: pick(r, [0, 1, 0xffffffff]),
    traceId: rawId(r, 16),
    spanId: rawId(r, 8),
    eventName: r() < 0.3 ? randString(r) : undefined,
  };
}

function encodeRaw(signal: 'traces' | 'logs', request: Raw): Uint8Array {
  const type = requestType(signal);
  return type.encode(type.fromObject(request)).finish();
}

test('300 random raw trace requests (odd id lengths, zero ids, missing keys, bytes values, dropped counts, entity refs) decode as before', (t) => {
  for (let seed = 1; seed <= 300; seed++) {
    const r = rng(seed * 7919);
    sameTraces(t, encodeRaw('traces', { resourceSpans: rawBlocks(r, 'spans', () => rawSpan(r)) }), `seed ${seed}`);
  }
});

test('300 random raw log requests decode as before', (t) => {
  for (let seed = 1; seed <= 300; seed++) {
    const r = rng(seed * 104_729);
    sameLogs(t, encodeRaw('logs', { resourceLogs: rawBlocks(r, 'logRecords', () => rawLog(r)) }), `seed ${seed}`);
  }
});

// ---- hand-written wire format ----

const w = () => protobuf.Writer.create();
const field = (n: number, b: Uint8Array) => w().uint32((n << 3) | 2).bytes(b).finish();
const cat = (...parts: Uint8Array[]) => Buffer.concat(parts);
/** ExportTraceServiceRequest holding one span with the given raw span fields. */
const spanRequest = (spanFields: Uint8Array) => field(1, field(2, field(2, spanFields)));
const ids = cat(field(1, Buffer.alloc(16, 0xab)), field(2, Buffer.alloc(8, 0xcd)));

test('unknown fields of every wire type (incl. groups) are skipped at every level; out-of-order and repeated fields as protobufjs reads them', (t) => {
  const unknown = cat(
    w().uint32((100 << 3) | 0).uint64(2 ** 40).finish(),
    w().uint32((101 << 3) | 1).fixed64(7).finish(),
    w().uint32((102 << 3) | 2).bytes(Buffer.from([0xff, 0xfe])).finish(), // not a string: not UTF-8 checked
    w().uint32((103 << 3) | 5).fixed32(9).finish(),
    w().uint32((104 << 3) | 3).uint32((1 << 3) | 0).uint32(5).uint32((105 << 3) | 3).uint32((105 << 3) | 4).uint32((104 << 3) | 4).finish(),
  );
  const kv = (k: string, v: Uint8Array) => field(9, cat(field(1, Buffer.from(k)), unknown, field(2, cat(v, unknown))));
  const str = (s: string) => field(1, Buffer.from(s));
  const span = cat(
    unknown,
    field(5, Buffer.from('first name')),
    kv('a', str('1')),
    w().uint32((7 << 3) | 1).fixed64('1760000000000000001').finish(),
    field(5, Buffer.from('second name')), // a repeated scalar: the last wins
    kv('b', str('2')),
    kv('a', str('3')), // a repeated key: the last value, first position
    field(15, cat(w().uint32((3 << 3) | 0).uint32(2).finish(), unknown)),
    ids,
    field(11, cat(unknown, field(2, Buffer.from('evt')))),
    field(13, cat(unknown, field(1, Buffer.alloc(16, 1)), field(2, Buffer.alloc(8, 2)))),
  );
  const scope = cat(field(1, Buffer.from('lib')), unknown);
  const resource = cat(field(1, cat(field(1, Buffer.from('service.name')), field(2, str('svc')))), unknown);
  // the items come before the resource and scope fields of their blocks, with unknown fields between
  const body = field(1, cat(field(2, cat(field(2, span), unknown, field(1, scope))), unknown, field(1, resource)));
  const [s] = sameTraces(t, cat(unknown, body, unknown), 'unknown fields');
  t.is(s?.name, 'second name');
  t.deepEqual(s?.attributes, { a: '3', b: '2' });
  t.is(s?.status.code, 'error');
  t.is(s?.resource.attributes['service.name'], 'svc');
  t.is(s?.scope.name, 'lib');
});

test('AnyValue: 32 levels of nesting decode as before; 33 (and 5,000) are an OtlpDecodeError, in traces and log bodies', (t) => {
  const nested = (levels: number, kv: boolean) => {
    let v: Uint8Array = field(1, Buffer.from('bottom'));
    for (let i = 0; i < levels; i++) v = kv ? field(6, field(1, cat(field(1, Buffer.from('k')), field(2, v)))) : field(5, field(1, v));
    return v;
  };
  const expected = (levels: number, kv: boolean): OtlpValue => (levels === 0 ? 'bottom' : kv ? { k: expected(levels - 1, kv) } : [expected(levels - 1, kv)]);
  for (const kv of [false, true]) {
    const ok = spanRequest(cat(ids, field(9, cat(field(1, Buffer.from('deep')), field(2, nested(32, kv))))));
    // protobufjs stops at 100 nested messages, which 32 kvlist levels (3 messages each) exceed: there only the new path is checked
    if (kv) t.throws(() => decodeTracesViaObjects(ok), { instanceOf: OtlpDecodeError, message: /maximum nesting depth/ });
    else sameTraces(t, ok, '32 array levels');
    t.deepEqual(decodeBoth(ok)[0]?.attributes, { deep: expected(32, kv) });
    for (const levels of [33, 5000]) {
      const deep = spanRequest(cat(ids, field(9, cat(field(1, Buffer.from('deep')), field(2, nested(levels, kv))))));
      t.throws(() => decodeBoth(deep), { instanceOf: OtlpDecodeError, message: /nested deeper than 32 levels/ });
      const log = field(1, field(2, field(2, field(5, nested(levels, kv)))));
      t.throws(() => decodeLogs(log), { instanceOf: OtlpDecodeError, message: /nested deeper than 32 levels/ });
    }
  }
});

test('int64 values: safe integers become numbers, the rest decimal strings, exactly', (t) => {
  const values = ['0', '1', '-1', '9007199254740991', '9007199254740992', '-9007199254740991', '-9007199254740992', '4294967296', '-4294967296', '9223372036854775807', '-9223372036854775808'];
  const kvs = values.map((v, i) => field(9, cat(field(1, Buffer.from(`v${i}`)), field(2, w().uint32((3 << 3) | 0).int64(v).finish()))));
  const [s] = sameTraces(t, spanRequest(cat(ids, ...kvs)), 'int64');
  t.deepEqual(Object.values(s!.attributes), [0, 1, -1, 9007199254740991, '9007199254740992', -9007199254740991, '-9007199254740992', 4294967296, -4294967296, '9223372036854775807', '-9223372036854775808']);
});

test('uint64Decimal is exact across the whole range', (t) => {
  const r = rng(42);
  const cases: bigint[] = [0n, 1n, (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n, (1n << 64n) - 1n, 1n << 63n, 10n ** 19n, 10n ** 19n - 1n, 10n ** 14n];
  for (let i = 0; i < 20_000; i++) cases.push((BigInt(int(r, 2 ** 32)) << 32n) | BigInt(int(r, 2 ** 32)), BigInt(int(r, 2 ** 21)) << 32n | BigInt(int(r, 2 ** 32)));
  for (const c of cases) {
    const got = uint64Decimal(Number(c & 0xffffffffn), Number(c >> 32n));
    if (got !== c.toString()) t.fail(`${c} → ${got}`);
  }
  t.pass();
});

test('many distinct short strings of equal length (colliding in the reader\'s string cache) decode exactly', (t) => {
  const r = rng(3);
  const word = (n: number) => Array.from({ length: n }, () => pick(r, ['a', 'b', 'c', 'd'])).join('');
  const attributes: Record<string, OtlpValue> = {};
  for (let i = 0; i < 40_000; i++) attributes[word(8)] = word(7);
  const s: DecodedSpan = {
    traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), flags: 0, name: 'many', kind: 'internal', startTimeUnixNano: '1', endTimeUnixNano: '2',
    attributes, droppedAttributesCount: 0, events: [], links: [], status: { code: 'unset' }, resource: { attributes: {} }, scope: { name: '', attributes: {} },
  };
  const [decoded] = sameTraces(t, encodeTraces([s]), 'many strings');
  t.deepEqual(decoded?.attributes, attributes);
});

test('bodies as a string, a Buffer and a plain Uint8Array view decode alike', (t) => {
  const body = encodeTraces(randSpans(rng(7)));
  const view = new Uint8Array(new Uint8Array([9, 9, ...body]).buffer, 2, body.length);
  t.deepEqual(decodeTraces(view), decodeTraces(Buffer.from(body)));
  t.deepEqual(decodeTraces(Buffer.from(body).toString('binary')), decodeTraces(body));
});

// ---- hostile input ----

test('random garbage: an OtlpDecodeError or a result, never another exception', (t) => {
  const r = rng(1234);
  let errors = 0;
  for (let i = 0; i < 3000; i++) {
    const junk = bytes(r, int(r, 300));
    if (onlyDecodeErrors(t, () => decodeBoth(junk), `traces #${i}`) === 'error') errors++;
    onlyDecodeErrors(t, () => decodeLogs(junk), `logs #${i}`);
  }
  t.true(errors > 2500, `${errors} of 3000 rejected`);
  // big junk too (ends quickly: nothing loops without consuming input)
  onlyDecodeErrors(t, () => decodeBoth(bytes(r, 1 << 20)), '1 MiB');
});

test('every truncation of a valid one-block request is an OtlpDecodeError', (t) => {
  const spans = randSpans(rng(99)).map((s) => ({ ...s, resource: { attributes: { 'service.name': 'one' } }, scope: { name: 's', attributes: {} } }));
  const one = { resource: spans[0]!.resource, scope: spans[0]!.scope };
  const body = encodeTraces(spans.map((s) => ({ ...s, ...one })));
  const records = randLogs(rng(98)).map((l) => ({ ...l, ...one }));
  const logBody = encodeLogs(records);
  t.true(body.length > 100 && logBody.length > 100);
  t.deepEqual(decodeBoth(body.subarray(0, 0)), []);
  for (let n = 1; n < body.length; n++) t.throws(() => decodeBoth(body.subarray(0, n)), { instanceOf: OtlpDecodeError }, `traces, ${n} of ${body.length} bytes`);
  for (let n = 1; n < logBody.length; n++) t.throws(() => decodeLogs(logBody.subarray(0, n)), { instanceOf: OtlpDecodeError }, `logs, ${n} of ${logBody.length} bytes`);
});

test('random mutations of valid requests: an OtlpDecodeError or a result, never another exception', (t) => {
  const r = rng(777);
  const bodies = [encodeTraces(randSpans(rng(5))), encodeLogs(randLogs(rng(6)))];
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(bodies[i % 2]!);
    for (let k = 1 + int(r, 4); k > 0; k--) b[int(r, b.length)] = int(r, 256);
    onlyDecodeErrors(t, () => (i % 2 ? decodeLogs(b) : decodeBoth(b)), `mutation #${i}`);
  }
  t.pass();
});

test('invalid UTF-8 in any string field is an OtlpDecodeError naming it', (t) => {
  const MARK = 'QQQQ';
  const base: DecodedSpan = {
    traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), flags: 0, name: 'n', kind: 'server', startTimeUnixNano: '1', endTimeUnixNano: '2',
    attributes: { k: 'v' }, droppedAttributesCount: 0, events: [{ name: 'e', timeUnixNano: '1', attributes: {} }],
    links: [{ traceId: 'ef'.repeat(16), spanId: '12'.repeat(8), traceState: 't=1', attributes: {} }], status: { code: 'error', message: 'm' },
    resource: { attributes: { r: 'r' }, schemaUrl: 'u' }, scope: { name: 's', version: 'v', attributes: {} },
  };
  const variants: DecodedSpan[] = [
    { ...base, name: MARK },
    { ...base, traceState: MARK },
    { ...base, attributes: { [MARK]: 'v' } },
    { ...base, attributes: { k: MARK } },
    { ...base, attributes: { k: [1, { deep: MARK }] } },
    { ...base, events: [{ name: MARK, timeUnixNano: '1', attributes: {} }] },
    { ...base, links: [{ ...base.links[0]!, traceState: MARK }] },
    { ...base, status: { code: 'error', message: MARK } },
    { ...base, resource: { attributes: { r: MARK } } },
    { ...base, resource: { attributes: {}, schemaUrl: MARK } },
    { ...base, scope: { name: MARK, attributes: {} } },
    { ...base, scope: { name: 's', version: MARK, attributes: { [MARK]: 1 } } },
  ];
  const BAD = [[0xff, 0xfe, 0x41, 0x41], [0xc0, 0x80, 0x41, 0x41], [0xed, 0xa0, 0x80, 0x41], [0x41, 0x41, 0x41, 0xe2], [0xf4, 0x90, 0x80, 0x80]];
  for (const [i, v] of variants.entries()) {
    const body = Buffer.from(encodeTraces([v]));
    const at = body.indexOf(MARK);
    t.true(at >= 0);
    t.notThrows(() => decodeBoth(body));
    for (const bad of BAD) {
      Buffer.from(bad).copy(body, at);
      t.throws(() => decodeBoth(body), { instanceOf: OtlpDecodeError, message: /not valid UTF-8/ }, `variant ${i}, bytes ${bad.join(',')}`);
      t.throws(() => decodeTracesViaObjects(body), { instanceOf: OtlpDecodeError, message: /not valid UTF-8/ }, `old path, variant ${i}`);
    }
  }
  const log: DecodedLogRecord = { timeUnixNano: '1', observedTimeUnixNano: '1', severityNumber: 9, severityText: MARK, body: { b: MARK }, attributes: {}, flags: 0, eventName: MARK, resource: base.resource, scope: base.scope };
  const body = Buffer.from(encodeLogs([log]));
  for (let at = body.indexOf(MARK); at >= 0; at = body.indexOf(MARK)) {
    const copy = Buffer.from(body);
    copy[at] = 0xff;
    t.throws(() => decodeLogs(copy), { instanceOf: OtlpDecodeError, message: /not valid UTF-8/ });
    body.write('okok', at); // move on to the next occurrence
  }
  // the scope block's schema_url and entity refs are not kept, but are strings: checked too
  const scopeSchema = field(1, field(2, cat(field(3, Buffer.from([0xff])))));
  t.throws(() => decodeBoth(scopeSchema), { instanceOf: OtlpDecodeError, message: /not valid UTF-8/ });
  const entityRef = field(1, field(1, field(3, field(2, Buffer.from([0xc3, 0x28])))));
  t.throws(() => decodeBoth(entityRef), { instanceOf: OtlpDecodeError, message: /not valid UTF-8/ });
});

test('malformed wire format: bad wire types, length overruns, over-long varints, field 0 → OtlpDecodeError naming the problem', (t) => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['span name as a varint', spanRequest(cat(ids, w().uint32((5 << 3) | 0).uint32(1).finish())), /field 5 of Span has wire type 0/],
    ['start time as fixed32', spanRequest(cat(ids, w().uint32((7 << 3) | 5).fixed32(1).finish())), /field 7 of Span has wire type 5/],
    ['resource_spans as a varint', w().uint32((1 << 3) | 0).uint32(1).finish(), /field 1 of the export request has wire type 0/],
    ['wire type 6', Buffer.from([(9 << 3) | 6, 0]), /invalid wire type 6/],
    ['wire type 7', spanRequest(cat(ids, w().uint32((99 << 3) | 7).finish())), /invalid wire type 7/],
    ['unmatched end group', Buffer.from([(9 << 3) | 4]), /invalid wire type 4/],
    ['unterminated group', Buffer.from([(9 << 3) | 3, (1 << 3) | 0, 1]), /truncated/],
    ['field number 0', Buffer.from([0, 1]), /invalid field number/],
    ['length past the end', Buffer.from([(1 << 3) | 2, 50, 1, 2, 3]), /runs past the end/],
    ['nested length past its parent', field(1, Buffer.from([(2 << 3) | 2, 10, 1])), /runs past the end/],
    ['huge length', Buffer.from([(1 << 3) | 2, 0xff, 0xff, 0xff, 0xff, 0x0f]), /runs past the end|out of range/],
    ['length beyond 32 bits', Buffer.from([(1 << 3) | 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), /out of range/],
    ['11-byte varint', spanRequest(cat(ids, Buffer.from([(6 << 3) | 0, ...Array<number>(10).fill(0x80), 1]))), /longer than 10 bytes/],
    ['fixed64 across the end of its message', field(1, field(2, field(2, Buffer.from([(7 << 3) | 1, 1, 2, 3])))), /truncated|runs past/],
    ['varint across the end of its message', cat(field(1, field(2, field(2, Buffer.from([(6 << 3) | 0, 0x80])))), Buffer.from([1])), /truncated/],
  ];
  for (const [label, body, message] of cases) {
    const err = t.throws(() => decodeBoth(body), { instanceOf: OtlpDecodeError }, label);
    t.regex(err?.message ?? '', message, label);
    t.regex(err?.message ?? '', /^OTLP protobuf traces request could not be decoded: /, label);
  }
});
