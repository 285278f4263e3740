import { isUtf8 } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import type {
  Attributes,
  DecodedLogRecord,
  DecodedMetric,
  DecodedSpan,
  Exemplar,
  ExponentialHistogramPoint,
  HistogramPoint,
  NumberPoint,
  OtlpValue,
  ResourceInfo,
  Scope,
  SpanKindName,
  StatusCodeName,
  SummaryPoint,
  Temporality,
} from './types.js';
import { MAX_ANY_VALUE_DEPTH, OtlpDecodeError, tooDeep } from './errors.js';
import { readLogs, readTraces } from './proto-reader.js';
import { readWireTraces } from './wire-span.js';

export type OtlpFormat = 'protobuf' | 'json';

export { OtlpDecodeError, MAX_ANY_VALUE_DEPTH } from './errors.js';

/** OTLP/HTTP content types: application/x-protobuf or application/json. undefined for anything else. */
export function otlpFormat(contentType: string | undefined): OtlpFormat | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return undefined;
}

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));
const SERVICES = {
  traces: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
  logs: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
  metrics: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
} as const;

let root: protobuf.Root | undefined;
/** The OTLP schema, loaded once and shared by decoder and encoder. */
function otlpRoot(): protobuf.Root {
  if (!root) {
    const r = new protobuf.Root();
    r.resolvePath = (_origin, target) => join(PROTO_DIR, target);
    r.loadSync(
      ['trace', 'logs', 'metrics'].map((s) => `opentelemetry/proto/collector/${s}/v1/${s}_service.proto`),
      { keepCase: false },
    );
    root = r;
  }
  return root;
}

/** The protobufjs type of an Export*ServiceRequest (the Root is loaded once, shared by decoder and encoder). */
export function requestType(signal: keyof typeof SERVICES): protobuf.Type {
  return otlpRoot().lookupType(SERVICES[signal]);
}

/** Any message type of the OTLP schema by its full name, e.g. `opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse`. */
export function otlpType(fullName: string): protobuf.Type {
  return otlpRoot().lookupType(fullName);
}

/**
 * protobufjs decodes string fields without checking them; proto3 requires valid UTF-8 (the Go
 * collector rejects it), so strings are checked here and a bad one fails the whole request.
 */
class Utf8CheckingReader extends protobuf.Reader {
  override string(): string {
    const bytes = this.bytes();
    if (!isUtf8(bytes)) throw new Error('a string field is not valid UTF-8');
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }
}

// ---- raw object access (protobufjs toObject output and OTLP/JSON have the same camelCase shape) ----

type Raw = Record<string, unknown>;
type IdEncoding = 'base64' | 'json';

const obj = (v: unknown): Raw => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown, fallback = 0): number => {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return fallback;
};
const optNum = (v: unknown): number | undefined => (v === undefined || v === null ? undefined : num(v));
const DECIMAL_U64 = /^\d{1,20}$/;
/** Nanosecond timestamps: fixed64, kept as decimal strings. Anything else is a decode error (later stages do BigInt arithmetic). */
function nanos(v: unknown): string {
  if (v === undefined || v === null || v === '') return '0';
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return BigInt(Math.trunc(v)).toString();
  if (typeof v === 'string' && DECIMAL_U64.test(v)) return v.replace(/^0+(?=\d)/, '');
  throw new OtlpDecodeError(`${describe(v)} is not a valid nanosecond timestamp (an unsigned integer, as a decimal string or number)`);
}

/** A short, safe rendering of a hostile value for an error message. */
function describe(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? (Array.isArray(v) ? 'an array' : 'an object') : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const HEX_ID = /^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{16})$/;

/** Trace and span ids: bytes (base64 in protobufjs objects), hex strings in OTLP/JSON. Empty/zero → undefined. */
function id(v: unknown, enc: IdEncoding): string | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  const hex = enc === 'json' && HEX_ID.test(s) ? s.toLowerCase() : Buffer.from(s, 'base64').toString('hex');
  return hex === '' || /^0+$/.test(hex) ? undefined : hex;
}

function int64(v: unknown): number | string {
  const n = num(v, Number.NaN);
  if (Number.isNaN(n)) return String(v);
  return Number.isSafeInteger(n) ? n : String(v);
}

function anyValue(v: unknown, depth = 0): OtlpValue {
  const a = obj(v);
  if ('stringValue' in a) return String(a.stringValue);
  if ('boolValue' in a) return Boolean(a.boolValue);
  if ('intValue' in a) return int64(a.intValue);
  if ('doubleValue' in a) return num(a.doubleValue);
  if ('arrayValue' in a || 'kvlistValue' in a) {
    if (depth >= MAX_ANY_VALUE_DEPTH) throw tooDeep();
    if ('arrayValue' in a) return arr(obj(a.arrayValue).values).map((x) => anyValue(x, depth + 1));
    return attributes(obj(a.kvlistValue).values, depth + 1);
  }
  if ('bytesValue' in a) return String(a.bytesValue);
  return null;
}

function attributes(list: unknown, depth = 0): Attributes {
  const out: Attributes = {};
  for (const kv of arr(list)) {
    const { key, value } = obj(kv);
    if (typeof key !== 'string') continue;
    // a plain assignment to "__proto__" would replace the prototype instead of adding the attribute
    if (key === '__proto__') Object.defineProperty(out, key, { value: anyValue(value, depth), enumerable: true, writable: true, configurable: true });
    else out[key] = anyValue(value, depth);
  }
  return out;
}

function resource(block: Raw): ResourceInfo {
  const info: ResourceInfo = { attributes: attributes(obj(block.resource).attributes) };
  const schemaUrl = str(block.schemaUrl);
  if (schemaUrl) info.schemaUrl = schemaUrl;
  return info;
}

function scope(block: Raw): Scope {
  const s = obj(block.scope);
  const out: Scope = { name: str(s.name) ?? '', attributes: attributes(s.attributes) };
  const version = str(s.version);
  if (version) out.version = version;
  return out;
}

/** Walks resource blocks → scope blocks → items, handing each item its resource and scope. */
function* items(request: Raw, resourceKey: string, scopeKey: string, itemKey: string): Generator<[Raw, ResourceInfo, Scope]> {
  for (const rBlock of arr(request[resourceKey])) {
    const r = obj(rBlock);
    const res = resource(r);
    for (const sBlock of arr(r[scopeKey])) {
      const s = obj(sBlock);
      const sc = scope(s);
      for (const item of arr(s[itemKey])) yield [obj(item), res, sc];
    }
  }
}

// ---- enums (protobuf gives numbers; OTLP/JSON must use numbers too, but names are tolerated) ----

const KINDS: SpanKindName[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS: StatusCodeName[] = ['unset', 'ok', 'error'];
const TEMPORALITY: Temporality[] = ['unspecified', 'delta', 'cumulative'];

function enumOf<T extends string>(names: T[], v: unknown, prefix: string): T {
  if (typeof v === 'string' && v.startsWith(prefix)) {
    const name = v.slice(prefix.length).toLowerCase() as T;
    if (names.includes(name)) return name;
  }
  return names[num(v)] ?? names[0]!;
}

// ---- signals ----

function toSpan(s: Raw, res: ResourceInfo, sc: Scope, enc: IdEncoding): DecodedSpan {
  const span: DecodedSpan = {
    traceId: id(s.traceId, enc) ?? '',
    spanId: id(s.spanId, enc) ?? '',
    flags: num(s.flags),
    name: String(s.name ?? ''),
    kind: enumOf(KINDS, s.kind, 'SPAN_KIND_'),
    startTimeUnixNano: nanos(s.startTimeUnixNano),
    endTimeUnixNano: nanos(s.endTimeUnixNano),
    attributes: attributes(s.attributes),
    droppedAttributesCount: num(s.droppedAttributesCount),
    events: arr(s.events).map((e) => {
      const ev = obj(e);
      return { name: String(ev.name ?? ''), timeUnixNano: nanos(ev.timeUnixNano), attributes: attributes(ev.attributes) };
    }),
    links: arr(s.links).map((l) => {
      const link = obj(l);
      const out: DecodedSpan['links'][number] = { traceId: id(link.traceId, enc) ?? '', spanId: id(link.spanId, enc) ?? '', attributes: attributes(link.attributes) };
      const ts = str(link.traceState);
      if (ts) out.traceState = ts;
      return out;
    }),
    status: { code: enumOf(STATUS, obj(s.status).code, 'STATUS_CODE_') },
    resource: res,
    scope: sc,
  };
  const parent = id(s.parentSpanId, enc);
  if (parent) span.parentSpanId = parent;
  const ts = str(s.traceState);
  if (ts) span.traceState = ts;
  const message = str(obj(s.status).message);
  if (message) span.status.message = message;
  return span;
}

function toLogRecord(l: Raw, res: ResourceInfo, sc: Scope, enc: IdEncoding): DecodedLogRecord {
  const rec: DecodedLogRecord = {
    timeUnixNano: nanos(l.timeUnixNano),
    observedTimeUnixNano: nanos(l.observedTimeUnixNano),
    severityNumber: typeof l.severityNumber === 'string' && !/^\d+$/.test(l.severityNumber) ? 0 : num(l.severityNumber),
    body: l.body === undefined ? null : anyValue(l.body),
    attributes: attributes(l.attributes),
    flags: num(l.flags),
    resource: res,
    scope: sc,
  };
  const traceId = id(l.traceId, enc);
  if (traceId) rec.traceId = traceId;
  const spanId = id(l.spanId, enc);
  if (spanId) rec.spanId = spanId;
  const text = str(l.severityText);
  if (text) rec.severityText = text;
  const eventName = str(l.eventName);
  if (eventName) rec.eventName = eventName;
  return rec;
}

function exemplars(list: unknown, enc: IdEncoding): Exemplar[] {
  return arr(list).map((e) => {
    const x = obj(e);
    const out: Exemplar = { timeUnixNano: nanos(x.timeUnixNano), value: num(x.asDouble ?? x.asInt), filteredAttributes: attributes(x.filteredAttributes) };
    const traceId = id(x.traceId, enc);
    if (traceId) out.traceId = traceId;
    const spanId = id(x.spanId, enc);
    if (spanId) out.spanId = spanId;
    return out;
  });
}

function pointBase(p: Raw) {
  return { attributes: attributes(p.attributes), startTimeUnixNano: nanos(p.startTimeUnixNano), timeUnixNano: nanos(p.timeUnixNano), flags: num(p.flags) };
}

function numberPoints(data: Raw, enc: IdEncoding): NumberPoint[] {
  return arr(data.dataPoints).map((d) => {
    const p = obj(d);
    return { ...pointBase(p), value: num(p.asDouble ?? p.asInt), exemplars: exemplars(p.exemplars, enc) };
  });
}

/** sum, min and max are optional in OTLP histograms: set only the ones the point carries. */
function withOptionalStats<T extends { sum?: number; min?: number; max?: number }>(out: T, p: Raw): T {
  const sum = optNum(p.sum);
  if (sum !== undefined) out.sum = sum;
  const min = optNum(p.min);
  if (min !== undefined) out.min = min;
  const max = optNum(p.max);
  if (max !== undefined) out.max = max;
  return out;
}

function histogramPoints(data: Raw, enc: IdEncoding): HistogramPoint[] {
  return arr(data.dataPoints).map((d) => {
    const p = obj(d);
    const out: HistogramPoint = {
      ...pointBase(p),
      count: num(p.count),
      bucketCounts: arr(p.bucketCounts).map((c) => num(c)),
      explicitBounds: arr(p.explicitBounds).map((b) => num(b)),
      exemplars: exemplars(p.exemplars, enc),
    };
    return withOptionalStats(out, p);
  });
}

function buckets(v: unknown) {
  const b = obj(v);
  return { offset: num(b.offset), bucketCounts: arr(b.bucketCounts).map((c) => num(c)) };
}

function expHistogramPoints(data: Raw, enc: IdEncoding): ExponentialHistogramPoint[] {
  return arr(data.dataPoints).map((d) => {
    const p = obj(d);
    const out: ExponentialHistogramPoint = {
      ...pointBase(p),
      count: num(p.count),
      scale: num(p.scale),
      zeroCount: num(p.zeroCount),
      zeroThreshold: num(p.zeroThreshold),
      positive: buckets(p.positive),
      negative: buckets(p.negative),
      exemplars: exemplars(p.exemplars, enc),
    };
    return withOptionalStats(out, p);
  });
}

function summaryPoints(data: Raw): SummaryPoint[] {
  return arr(data.dataPoints).map((d) => {
    const p = obj(d);
    return {
      ...pointBase(p),
      count: num(p.count),
      sum: num(p.sum),
      quantileValues: arr(p.quantileValues).map((q) => ({ quantile: num(obj(q).quantile), value: num(obj(q).value) })),
    };
  });
}

function toMetric(m: Raw, res: ResourceInfo, sc: Scope, enc: IdEncoding): DecodedMetric {
  const base = { name: String(m.name ?? ''), resource: res, scope: sc } as { name: string; description?: string; unit?: string; resource: ResourceInfo; scope: Scope };
  const description = str(m.description);
  if (description) base.description = description;
  const unit = str(m.unit);
  if (unit) base.unit = unit;
  const temporality = (d: Raw) => enumOf(TEMPORALITY, d.aggregationTemporality, 'AGGREGATION_TEMPORALITY_');
  if (m.gauge) return { ...base, type: 'gauge', dataPoints: numberPoints(obj(m.gauge), enc) };
  if (m.sum) {
    const d = obj(m.sum);
    return { ...base, type: 'sum', temporality: temporality(d), isMonotonic: Boolean(d.isMonotonic), dataPoints: numberPoints(d, enc) };
  }
  if (m.histogram) {
    const d = obj(m.histogram);
    return { ...base, type: 'histogram', temporality: temporality(d), dataPoints: histogramPoints(d, enc) };
  }
  if (m.exponentialHistogram) {
    const d = obj(m.exponentialHistogram);
    return { ...base, type: 'exponentialHistogram', temporality: temporality(d), dataPoints: expHistogramPoints(d, enc) };
  }
  if (m.summary) return { ...base, type: 'summary', dataPoints: summaryPoints(obj(m.summary)) };
  return { ...base, type: 'empty', dataPoints: [] };
}

// ---- entry points ----

function toRaw(signal: keyof typeof SERVICES, body: Uint8Array | string, format: OtlpFormat): { raw: Raw; enc: IdEncoding } {
  if (format === 'json') {
    let text: string;
    if (typeof body === 'string') text = body;
    else if (isUtf8(body)) text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    else throw new OtlpDecodeError(`OTLP/JSON ${signal} request body is not valid UTF-8`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch (err) {
      throw new OtlpDecodeError(`OTLP/JSON ${signal} request body is not valid JSON`, { cause: err });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new OtlpDecodeError(`OTLP/JSON ${signal} request body must be a JSON object`);
    }
    return { raw: parsed as Raw, enc: 'json' };
  }
  const type = requestType(signal);
  try {
    const message = type.decode(new Utf8CheckingReader(typeof body === 'string' ? Buffer.from(body, 'binary') : body));
    // longs as decimal strings (nanosecond times exceed 2^53), bytes as base64 (ids converted to hex later)
    const raw = type.toObject(message, { longs: String, enums: Number, bytes: String, defaults: false });
    return { raw, enc: 'base64' };
  } catch (err) {
    throw new OtlpDecodeError(`OTLP protobuf ${signal} request could not be decoded: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * Protobuf traces and logs take the direct wire reader (proto-reader.ts); its errors become
 * OtlpDecodeErrors worded as the protobufjs path's were. Whatever else it throws is a decode failure
 * too: hostile bytes must never surface as another kind of error.
 */
function readProtobuf<T>(signal: 'traces' | 'logs', body: Uint8Array | string, read: (b: Uint8Array) => T[]): T[] {
  try {
    return read(typeof body === 'string' ? Buffer.from(body, 'binary') : body);
  } catch (err) {
    if (err instanceof OtlpDecodeError) throw err;
    throw new OtlpDecodeError(`OTLP protobuf ${signal} request could not be decoded: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** ExportTraceServiceRequest (protobuf bytes or OTLP/JSON) → flat spans with hex ids. Throws OtlpDecodeError. */
export function decodeTraces(body: Uint8Array | string, format: OtlpFormat = 'protobuf'): DecodedSpan[] {
  if (format === 'protobuf') return readProtobuf('traces', body, readTraces);
  return decodeTracesViaObjects(body, format);
}

/**
 * What receivers hand the pipeline: from protobuf, WireSpans (wire-span.ts: attributes, events and links
 * read on first use, and an unchanged span exported as the bytes it came in); from OTLP/JSON, plain spans.
 * The whole request is checked either way (the same OtlpDecodeErrors as decodeTraces).
 */
export function decodeTracesLazy(body: Uint8Array | string, format: OtlpFormat = 'protobuf'): DecodedSpan[] {
  if (format === 'protobuf') return readProtobuf('traces', body, readWireTraces);
  return decodeTracesViaObjects(body, format);
}

/**
 * The generic path: protobufjs (or JSON.parse) into plain objects, then normalised. OTLP/JSON always
 * takes it; for protobuf it is the reference the direct reader is tested against.
 */
export function decodeTracesViaObjects(body: Uint8Array | string, format: OtlpFormat = 'protobuf'): DecodedSpan[] {
  const { raw, enc } = toRaw('traces', body, format);
  return [...items(raw, 'resourceSpans', 'scopeSpans', 'spans')].map(([s, r, sc]) => toSpan(s, r, sc, enc));
}

/** ExportLogsServiceRequest → flat log records with hex ids. Throws OtlpDecodeError. */
export function decodeLogs(body: Uint8Array | string, format: OtlpFormat = 'protobuf'): DecodedLogRecord[] {
  if (format === 'protobuf') return readProtobuf('logs', body, readLogs);
  return decodeLogsViaObjects(body, format);
}

/** decodeLogs through protobufjs objects (see decodeTracesViaObjects). */
export function decodeLogsViaObjects(body: Uint8Array | string, format: OtlpFormat = 'protobuf'): DecodedLogRecord[] {
  const { raw, enc } = toRaw('logs', body, format);
  return [...items(raw, 'resourceLogs', 'scopeLogs', 'logRecords')].map(([l, r, sc]) => toLogRecord(l, r, sc, enc));
}

/** ExportMetricsServiceRequest → flat metrics, one entry per metric with its data points. Throws OtlpDecodeError. */
export function decodeMetrics(body: Uint8Array | string, format: OtlpFormat = 'protobuf'): DecodedMetric[] {
  const { raw, enc } = toRaw('metrics', body, format);
  return [...items(raw, 'resourceMetrics', 'scopeMetrics', 'metrics')].map(([m, r, sc]) => toMetric(m, r, sc, enc));
}
