// Decoded items → OTLP Export*ServiceRequest (protobuf, or OTLP/JSON), the inverse of codec.ts.
// Speed matters (every exported item passes through here): spans and log records are written straight
// to protobuf by ProtoWriter; metrics (far fewer) and OTLP/JSON are built as plain objects, handed to
// protobufjs's generated Type.encode (no fromObject, no verify) or JSON.stringify. Items are grouped by
// resource object, then scope object (the codec shares them by reference).
import { requestType, type OtlpFormat } from './codec.js';
import { longBits, ProtoWriter } from './proto-writer.js';
import { WireSpan } from './wire-span.js';
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

type Raw = Record<string, unknown>;

/**
 * How scalar fields are written: protobufjs wants bytes for ids and numbers or {low, high} for 64-bit
 * integers; OTLP/JSON wants hex ids and 64-bit integers as decimal strings.
 */
interface Flavour {
  json: boolean;
  /** A hex trace/span id; undefined when absent (the field is left out). */
  id(hex: string | undefined): unknown;
  /** A fixed64/int64 held as a decimal string (nanosecond times, int64 attribute values). */
  long(decimal: string): unknown;
  /** A 64-bit count held as a number (histogram counts). */
  count(n: number): unknown;
  double(n: number): unknown;
}

const PROTO: Flavour = {
  json: false,
  id: (hex) => (hex ? Buffer.from(hex, 'hex') : undefined),
  long: longBits,
  count: (n) => n,
  double: (n) => n,
};

const JSON_FLAVOUR: Flavour = {
  json: true,
  id: (hex) => hex || undefined,
  long: (decimal) => decimal,
  count: (n) => String(n),
  // proto3 JSON spells the non-finite doubles as strings
  double: (n) => (Number.isFinite(n) ? n : Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity'),
};

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * The codec decodes an int64 beyond 2^53 to its decimal string (a Number would lose digits), so a
 * canonical integer string that is not a safe integer but fits int64 is written back as intValue. Every
 * other string stays a string, and decode(encode(x)) returns x either way.
 */
function isInt64String(v: string): boolean {
  if (v.length < 16 || v.length > 20 || !/^-?[1-9]\d*$/.test(v)) return false;
  const b = BigInt(v);
  return (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)) && b >= INT64_MIN && b <= INT64_MAX;
}

function anyValue(v: OtlpValue | Uint8Array, f: Flavour): Raw {
  switch (typeof v) {
    case 'string':
      return isInt64String(v) ? { intValue: f.long(v) } : { stringValue: v };
    case 'number':
      if (Number.isSafeInteger(v)) return { intValue: f.json ? String(v) : v };
      return { doubleValue: f.double(v) };
    case 'boolean':
      return { boolValue: v };
    default:
      if (v === null) return {};
      if (Array.isArray(v)) return { arrayValue: { values: v.map((x) => anyValue(x, f)) } };
      // not produced by the codec (bytes decode to base64 strings), but a component may hold real bytes
      if (v instanceof Uint8Array) return { bytesValue: f.json ? Buffer.from(v).toString('base64') : v };
      return { kvlistValue: { values: keyValues(v, f) } };
  }
}

function keyValues(attrs: Attributes, f: Flavour): Raw[] {
  const out: Raw[] = [];
  for (const key in attrs) out.push({ key, value: anyValue(attrs[key]!, f) });
  return out;
}

function resourceBlock(r: ResourceInfo, f: Flavour): Raw {
  const block: Raw = { resource: { attributes: keyValues(r.attributes, f) } };
  if (r.schemaUrl) block.schemaUrl = r.schemaUrl;
  return block;
}

function scopeOf(s: Scope, f: Flavour): Raw {
  const out: Raw = { name: s.name, attributes: keyValues(s.attributes, f) };
  if (s.version) out.version = s.version;
  return out;
}

/** resource object → scope object → items, in first-seen order. */
function group<T extends { resource: ResourceInfo; scope: Scope }>(items: readonly T[]): Map<ResourceInfo, Map<Scope, T[]>> {
  const byResource = new Map<ResourceInfo, Map<Scope, T[]>>();
  let lastResource: ResourceInfo | undefined;
  let lastScope: Scope | undefined;
  let lastList: T[] = [];
  for (const item of items) {
    // consecutive items usually share resource and scope: skip the map lookups
    if (item.scope === lastScope && item.resource === lastResource) {
      lastList.push(item);
      continue;
    }
    let byScope = byResource.get(item.resource);
    if (!byScope) byResource.set(item.resource, (byScope = new Map()));
    let list = byScope.get(item.scope);
    if (!list) byScope.set(item.scope, (list = []));
    list.push(item);
    lastResource = item.resource;
    lastScope = item.scope;
    lastList = list;
  }
  return byResource;
}

function request<T extends { resource: ResourceInfo; scope: Scope }>(
  items: readonly T[],
  keys: { resource: string; scope: string; item: string },
  f: Flavour,
  toItem: (item: T, f: Flavour) => Raw,
): Raw {
  const blocks: Raw[] = [];
  for (const [resource, byScope] of group(items)) {
    const block = resourceBlock(resource, f);
    const scopes: Raw[] = [];
    for (const [scope, list] of byScope) {
      const out = new Array<Raw>(list.length);
      for (let i = 0; i < list.length; i++) out[i] = toItem(list[i]!, f);
      scopes.push({ scope: scopeOf(scope, f), [keys.item]: out });
    }
    block[keys.scope] = scopes;
    blocks.push(block);
  }
  return { [keys.resource]: blocks };
}

function serialize(signal: 'traces' | 'logs' | 'metrics', req: Raw, format: OtlpFormat): Uint8Array {
  if (format === 'json') return Buffer.from(JSON.stringify(req), 'utf8');
  return requestType(signal).encode(req).finish();
}

// ---- direct protobuf (spans and log records) ----

function writeAnyValue(w: ProtoWriter, v: OtlpValue | Uint8Array): void {
  switch (typeof v) {
    case 'string':
      if (isInt64String(v)) w.int64Decimal(3, v);
      else w.string(1, v);
      return;
    case 'number':
      if (Number.isSafeInteger(v)) w.int64(3, v);
      else w.double(4, v);
      return;
    case 'boolean':
      w.bool(2, v);
      return;
    default: {
      if (v === null) return;
      if (v instanceof Uint8Array) return w.bytes(7, v);
      if (Array.isArray(v)) {
        const arr = w.fork(5);
        for (const x of v) {
          const item = w.fork(1);
          writeAnyValue(w, x);
          w.join(item);
        }
        return w.join(arr);
      }
      const kvlist = w.fork(6);
      writeKeyValues(w, 1, v);
      w.join(kvlist);
    }
  }
}

function writeKeyValues(w: ProtoWriter, field: number, attrs: Attributes): void {
  for (const key in attrs) {
    const kv = w.fork(field);
    w.string(1, key);
    const value = w.fork(2);
    writeAnyValue(w, attrs[key]!);
    w.join(value);
    w.join(kv);
  }
}

/** Items of one scope block, each as field 2. */
type WriteItems<T> = (w: ProtoWriter, list: readonly T[], writeItem: (w: ProtoWriter, item: T) => void) => void;

function writeItems<T>(w: ProtoWriter, list: readonly T[], writeItem: (w: ProtoWriter, item: T) => void): void {
  for (const item of list) {
    const it = w.fork(2);
    writeItem(w, item);
    w.join(it);
  }
}

/**
 * Spans: a WireSpan no processor changed is copied as the bytes it arrived as (its field of the request's
 * ScopeSpans is this field 2 too), and neighbours that were neighbours in their request too are copied in
 * one piece (a whole request's spans often travel together). Every other span is encoded from its fields.
 */
function writeSpans(w: ProtoWriter, list: readonly DecodedSpan[], writeItem: (w: ProtoWriter, item: DecodedSpan) => void): void {
  let buf: Buffer | undefined;
  let from = 0;
  let end = 0;
  for (const s of list) {
    const wire = s instanceof WireSpan ? s.wireBuffer() : undefined;
    if (wire !== undefined) {
      const f = (s as WireSpan).wireFrom();
      if (wire === buf && f === end) {
        end = (s as WireSpan).wireEnd();
        continue;
      }
      if (buf !== undefined) w.raw(buf, from, end);
      buf = wire;
      from = f;
      end = (s as WireSpan).wireEnd();
      continue;
    }
    if (buf !== undefined) {
      w.raw(buf, from, end);
      buf = undefined;
    }
    const it = w.fork(2);
    writeItem(w, s);
    w.join(it);
  }
  if (buf !== undefined) w.raw(buf, from, end);
}

/** Resource blocks (field 1 of the request) → scope blocks (field 2) → items (field 2), as all three signals nest them. */
function writeRequest<T extends { resource: ResourceInfo; scope: Scope }>(
  items: readonly T[],
  writeItem: (w: ProtoWriter, item: T) => void,
  writeList: WriteItems<T> = writeItems,
  sizeOf?: (item: T) => number,
): Uint8Array {
  const groups = group(items);
  // expected block sizes, so the writer reserves their length prefixes and never moves a block (see proto-writer.ts)
  const hints = new Map<ResourceInfo | Scope, number>();
  let total = 0;
  if (sizeOf) {
    for (const [resource, byScope] of groups) {
      let blockSize = 0;
      for (const [scope, list] of byScope) {
        let n = 0;
        for (const item of list) n += sizeOf(item);
        hints.set(scope, n);
        blockSize += n + 16;
      }
      hints.set(resource, blockSize);
      total += blockSize + 16;
    }
  }
  const w = new ProtoWriter(total + 4096);
  for (const [resource, byScope] of groups) {
    const block = w.fork(1, hints.get(resource));
    const res = w.fork(1);
    writeKeyValues(w, 1, resource.attributes);
    w.join(res);
    for (const [scope, list] of byScope) {
      const scopeBlock = w.fork(2, hints.get(scope));
      const sc = w.fork(1);
      if (scope.name) w.string(1, scope.name);
      if (scope.version) w.string(2, scope.version);
      writeKeyValues(w, 3, scope.attributes);
      w.join(sc);
      writeList(w, list, writeItem);
      w.join(scopeBlock);
    }
    if (resource.schemaUrl) w.string(3, resource.schemaUrl);
    w.join(block);
  }
  return w.finish();
}

/** A span's encoded size: exact for one forwarded as it arrived, a typical size for the others. */
function spanSize(s: DecodedSpan): number {
  if (s instanceof WireSpan && s.wireBuffer() !== undefined) return s.wireEnd() - s.wireFrom();
  return 256;
}

function writeSpan(w: ProtoWriter, s: DecodedSpan): void {
  if (s.traceId) w.hexBytes(1, s.traceId);
  if (s.spanId) w.hexBytes(2, s.spanId);
  if (s.traceState) w.string(3, s.traceState);
  if (s.parentSpanId) w.hexBytes(4, s.parentSpanId);
  if (s.name) w.string(5, s.name);
  const kind = KIND[s.kind] ?? 0;
  if (kind) w.uint32(6, kind);
  if (s.startTimeUnixNano !== '0') w.fixed64Decimal(7, s.startTimeUnixNano);
  if (s.endTimeUnixNano !== '0') w.fixed64Decimal(8, s.endTimeUnixNano);
  writeKeyValues(w, 9, s.attributes);
  if (s.droppedAttributesCount) w.uint32(10, s.droppedAttributesCount);
  for (const e of s.events) {
    const ev = w.fork(11);
    if (e.timeUnixNano !== '0') w.fixed64Decimal(1, e.timeUnixNano);
    if (e.name) w.string(2, e.name);
    writeKeyValues(w, 3, e.attributes);
    w.join(ev);
  }
  for (const l of s.links) {
    const link = w.fork(13);
    if (l.traceId) w.hexBytes(1, l.traceId);
    if (l.spanId) w.hexBytes(2, l.spanId);
    if (l.traceState) w.string(3, l.traceState);
    writeKeyValues(w, 4, l.attributes);
    w.join(link);
  }
  const status = w.fork(15);
  if (s.status.message) w.string(2, s.status.message);
  const code = STATUS[s.status.code] ?? 0;
  if (code) w.uint32(3, code);
  w.join(status);
  if (s.flags) w.fixed32(16, s.flags);
}

function writeLogRecord(w: ProtoWriter, l: DecodedLogRecord): void {
  if (l.timeUnixNano !== '0') w.fixed64Decimal(1, l.timeUnixNano);
  if (l.severityNumber) w.uint32(2, l.severityNumber);
  if (l.severityText) w.string(3, l.severityText);
  if (l.body !== null && l.body !== undefined) {
    const body = w.fork(5);
    writeAnyValue(w, l.body);
    w.join(body);
  }
  writeKeyValues(w, 6, l.attributes);
  if (l.flags) w.fixed32(8, l.flags);
  if (l.traceId) w.hexBytes(9, l.traceId);
  if (l.spanId) w.hexBytes(10, l.spanId);
  if (l.observedTimeUnixNano !== '0') w.fixed64Decimal(11, l.observedTimeUnixNano);
  if (l.eventName) w.string(12, l.eventName);
}

// ---- traces ----

const KIND: Record<SpanKindName, number> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const STATUS: Record<StatusCodeName, number> = { unset: 0, ok: 1, error: 2 };

function spanOf(s: DecodedSpan, f: Flavour): Raw {
  const out: Raw = {
    traceId: f.id(s.traceId),
    spanId: f.id(s.spanId),
    flags: s.flags,
    name: s.name,
    kind: KIND[s.kind] ?? 0,
    startTimeUnixNano: f.long(s.startTimeUnixNano),
    endTimeUnixNano: f.long(s.endTimeUnixNano),
    attributes: keyValues(s.attributes, f),
    droppedAttributesCount: s.droppedAttributesCount,
    status: s.status.message ? { code: STATUS[s.status.code] ?? 0, message: s.status.message } : { code: STATUS[s.status.code] ?? 0 },
  };
  if (s.parentSpanId) out.parentSpanId = f.id(s.parentSpanId);
  if (s.traceState) out.traceState = s.traceState;
  if (s.events.length > 0) {
    out.events = s.events.map((e) => ({ name: e.name, timeUnixNano: f.long(e.timeUnixNano), attributes: keyValues(e.attributes, f) }));
  }
  if (s.links.length > 0) {
    out.links = s.links.map((l) => {
      const link: Raw = { traceId: f.id(l.traceId), spanId: f.id(l.spanId), attributes: keyValues(l.attributes, f) };
      if (l.traceState) link.traceState = l.traceState;
      return link;
    });
  }
  return out;
}

/** Spans → ExportTraceServiceRequest (protobuf by default, or OTLP/JSON with hex ids and integer enums). */
export function encodeTraces(spans: readonly DecodedSpan[], format: OtlpFormat = 'protobuf'): Uint8Array {
  if (format === 'protobuf') return writeRequest(spans, writeSpan, writeSpans, spanSize);
  return serialize('traces', traceRequestObject(spans, format), format);
}

/** The request as the plain object protobufjs encodes (format protobuf) or OTLP/JSON spells (format json). */
export function traceRequestObject(spans: readonly DecodedSpan[], format: OtlpFormat): Record<string, unknown> {
  return request(spans, { resource: 'resourceSpans', scope: 'scopeSpans', item: 'spans' }, format === 'json' ? JSON_FLAVOUR : PROTO, spanOf);
}

// ---- logs ----

function logOf(l: DecodedLogRecord, f: Flavour): Raw {
  const out: Raw = {
    timeUnixNano: f.long(l.timeUnixNano),
    observedTimeUnixNano: f.long(l.observedTimeUnixNano),
    severityNumber: l.severityNumber,
    attributes: keyValues(l.attributes, f),
    flags: l.flags,
  };
  if (l.body !== null && l.body !== undefined) out.body = anyValue(l.body, f);
  if (l.severityText) out.severityText = l.severityText;
  if (l.traceId) out.traceId = f.id(l.traceId);
  if (l.spanId) out.spanId = f.id(l.spanId);
  if (l.eventName) out.eventName = l.eventName;
  return out;
}

/** Log records → ExportLogsServiceRequest. */
export function encodeLogs(records: readonly DecodedLogRecord[], format: OtlpFormat = 'protobuf'): Uint8Array {
  if (format === 'protobuf') return writeRequest(records, writeLogRecord);
  return serialize('logs', logsRequestObject(records, format), format);
}

/** The request as the plain object protobufjs encodes (format protobuf) or OTLP/JSON spells (format json). */
export function logsRequestObject(records: readonly DecodedLogRecord[], format: OtlpFormat): Record<string, unknown> {
  return request(records, { resource: 'resourceLogs', scope: 'scopeLogs', item: 'logRecords' }, format === 'json' ? JSON_FLAVOUR : PROTO, logOf);
}

// ---- metrics ----

const TEMPORALITY: Record<Temporality, number> = { unspecified: 0, delta: 1, cumulative: 2 };

function exemplarsOf(list: readonly Exemplar[], f: Flavour): Raw[] {
  return list.map((e) => {
    const out: Raw = { timeUnixNano: f.long(e.timeUnixNano), asDouble: f.double(e.value), filteredAttributes: keyValues(e.filteredAttributes, f) };
    if (e.traceId) out.traceId = f.id(e.traceId);
    if (e.spanId) out.spanId = f.id(e.spanId);
    return out;
  });
}

function pointBase(p: NumberPoint | HistogramPoint | ExponentialHistogramPoint | SummaryPoint, f: Flavour): Raw {
  return { attributes: keyValues(p.attributes, f), startTimeUnixNano: f.long(p.startTimeUnixNano), timeUnixNano: f.long(p.timeUnixNano), flags: p.flags };
}

/** Values are written as doubles: the decoded form keeps no int/double distinction, and a double holds both. */
function numberPoint(p: NumberPoint, f: Flavour): Raw {
  const out = pointBase(p, f);
  out.asDouble = f.double(p.value);
  if (p.exemplars.length > 0) out.exemplars = exemplarsOf(p.exemplars, f);
  return out;
}

function optionalStats(out: Raw, p: { sum?: number; min?: number; max?: number }, f: Flavour): Raw {
  if (p.sum !== undefined) out.sum = f.double(p.sum);
  if (p.min !== undefined) out.min = f.double(p.min);
  if (p.max !== undefined) out.max = f.double(p.max);
  return out;
}

function histogramPoint(p: HistogramPoint, f: Flavour): Raw {
  const out = pointBase(p, f);
  out.count = f.count(p.count);
  out.bucketCounts = p.bucketCounts.map((c) => f.count(c));
  out.explicitBounds = p.explicitBounds.map((b) => f.double(b));
  if (p.exemplars.length > 0) out.exemplars = exemplarsOf(p.exemplars, f);
  return optionalStats(out, p, f);
}

function expHistogramPoint(p: ExponentialHistogramPoint, f: Flavour): Raw {
  const out = pointBase(p, f);
  out.count = f.count(p.count);
  out.scale = p.scale;
  out.zeroCount = f.count(p.zeroCount);
  out.zeroThreshold = f.double(p.zeroThreshold);
  out.positive = { offset: p.positive.offset, bucketCounts: p.positive.bucketCounts.map((c) => f.count(c)) };
  out.negative = { offset: p.negative.offset, bucketCounts: p.negative.bucketCounts.map((c) => f.count(c)) };
  if (p.exemplars.length > 0) out.exemplars = exemplarsOf(p.exemplars, f);
  return optionalStats(out, p, f);
}

function summaryPoint(p: SummaryPoint, f: Flavour): Raw {
  const out = pointBase(p, f);
  out.count = f.count(p.count);
  out.sum = f.double(p.sum);
  out.quantileValues = p.quantileValues.map((q) => ({ quantile: f.double(q.quantile), value: f.double(q.value) }));
  return out;
}

function metricOf(m: DecodedMetric, f: Flavour): Raw {
  const out: Raw = { name: m.name };
  if (m.description) out.description = m.description;
  if (m.unit) out.unit = m.unit;
  switch (m.type) {
    case 'gauge':
      out.gauge = { dataPoints: m.dataPoints.map((p) => numberPoint(p, f)) };
      break;
    case 'sum':
      out.sum = { dataPoints: m.dataPoints.map((p) => numberPoint(p, f)), aggregationTemporality: TEMPORALITY[m.temporality] ?? 0, isMonotonic: m.isMonotonic };
      break;
    case 'histogram':
      out.histogram = { dataPoints: m.dataPoints.map((p) => histogramPoint(p, f)), aggregationTemporality: TEMPORALITY[m.temporality] ?? 0 };
      break;
    case 'exponentialHistogram':
      out.exponentialHistogram = { dataPoints: m.dataPoints.map((p) => expHistogramPoint(p, f)), aggregationTemporality: TEMPORALITY[m.temporality] ?? 0 };
      break;
    case 'summary':
      out.summary = { dataPoints: m.dataPoints.map((p) => summaryPoint(p, f)) };
      break;
    case 'empty':
      break;
  }
  return out;
}

/** Metrics → ExportMetricsServiceRequest. */
export function encodeMetrics(metrics: readonly DecodedMetric[], format: OtlpFormat = 'protobuf'): Uint8Array {
  const f = format === 'json' ? JSON_FLAVOUR : PROTO;
  return serialize('metrics', request(metrics, { resource: 'resourceMetrics', scope: 'scopeMetrics', item: 'metrics' }, f, metricOf), format);
}
