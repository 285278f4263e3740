import type { Attributes, HrTime, Link, SpanContext } from '@opentelemetry/api';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

/**
 * OTLP/protobuf ExportTraceServiceRequest encoder, straight from ReadableSpans into one buffer in a
 * single pass. OpenTelemetry's own serializer walks every span twice (a size estimate, then the
 * write); here a nested message reserves one length byte and moves its content in the rare case
 * the length needs more. The resource and each scope are encoded once and their bytes reused for
 * every batch. Same wire format and the same field choices as @opentelemetry/otlp-transformer
 * (tested against it): ints within int64 as int_value, other numbers as double_value, empty
 * optional strings left out, span flags with the has-is-remote bit.
 */

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[97 + i] = 10 + i;
  HEX[65 + i] = 10 + i;
}

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;
const SPAN_FLAGS_HAS_IS_REMOTE = 0x100;
const SPAN_FLAGS_IS_REMOTE = 0x200;

class Writer {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varint(v: number): void {
    this.ensure(10);
    const buf = this.buf;
    if (v >= 0 && v < 0x80000000) {
      while (v > 0x7f) {
        buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[this.pos++] = v;
      return;
    }
    this.varint64(v);
  }

  /** Any integer in int64 range; negative ones as 10-byte two's complement, as protobuf does. */
  private varint64(v: number): void {
    let lo: number;
    let hi: number;
    if (v >= 0) {
      lo = v >>> 0;
      hi = Math.floor(v / 0x100000000) >>> 0;
    } else {
      const abs = -v;
      lo = ~(abs >>> 0) >>> 0;
      hi = ~(Math.floor(abs / 0x100000000) >>> 0) >>> 0;
      lo = (lo + 1) >>> 0;
      if (lo === 0) hi = (hi + 1) >>> 0;
    }
    const buf = this.buf;
    while (hi > 0 || lo > 0x7f) {
      buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[this.pos++] = lo;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  fixed64(lo: number, hi: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(lo >>> 0, this.pos);
    this.buf.writeUInt32LE(hi >>> 0, this.pos + 4);
    this.pos += 8;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  string(s: string): void {
    const n = s.length;
    // ASCII up to 127 characters (most keys and values): one length byte, one byte per character
    if (n < 128) {
      this.ensure(n + 1);
      const buf = this.buf;
      const start = this.pos;
      buf[start] = n;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + 1 + i] = c;
      }
      if (i === n) {
        this.pos = start + 1 + n;
        return;
      }
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.varint(len);
    this.ensure(len);
    this.buf.write(s, this.pos, len, 'utf8');
    this.pos += len;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A hex id (trace or span id) as its bytes, length-prefixed. */
  hexId(hex: string): void {
    const n = hex.length >> 1;
    this.ensure(n + 1);
    const buf = this.buf;
    buf[this.pos++] = n;
    for (let i = 0; i < n; i++) buf[this.pos++] = (HEX[hex.charCodeAt(2 * i) & 0x7f]! << 4) | HEX[hex.charCodeAt(2 * i + 1) & 0x7f]!;
  }

  /** Starts a length-delimited field: one byte is reserved for the length. */
  begin(field: number): number {
    this.tag(field, 2);
    this.ensure(1);
    return this.pos++;
  }

  /** Writes the length at `mark`, moving the content when the length needs more than one byte. */
  end(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 0x80) {
      this.buf[mark] = len;
      return;
    }
    let extra = 1;
    for (let v = len >>> 14; v > 0; v >>>= 7) extra++;
    this.ensure(extra);
    this.buf.copyWithin(mark + 1 + extra, mark + 1, this.pos);
    this.pos += extra;
    let v = len;
    let p = mark;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/** HrTime [seconds, nanoseconds] as fixed64 unix nanoseconds, exact (no float above 2^53). */
function hrTime(w: Writer, t: HrTime): void {
  const seconds = t[0];
  const lowSec = seconds & 0xffff;
  const highSec = Math.floor(seconds / 0x10000);
  const fromLow = lowSec * 1e9;
  const fromHigh = highSec * 1e9;
  const low = (fromLow >>> 0) + (((fromHigh & 0xffff) * 0x10000) >>> 0) + t[1];
  const high = Math.floor(fromLow / 0x100000000) + Math.floor(fromHigh / 0x10000) + Math.floor(low / 0x100000000);
  w.fixed64(low >>> 0, high >>> 0);
}

function anyValue(w: Writer, value: unknown): void {
  switch (typeof value) {
    case 'string':
      w.tag(1, 2);
      w.string(value);
      return;
    case 'boolean':
      w.tag(2, 0);
      w.varint(value ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        w.tag(3, 0);
        w.varint(value);
      } else {
        w.tag(4, 1);
        w.double(value);
      }
      return;
    default:
  }
  if (value instanceof Uint8Array) {
    w.tag(7, 2);
    w.bytes(value);
  } else if (Array.isArray(value)) {
    const array = w.begin(5);
    for (const item of value) {
      const m = w.begin(1);
      anyValue(w, item);
      w.end(m);
    }
    w.end(array);
  } else if (typeof value === 'object' && value !== null) {
    const list = w.begin(6);
    for (const [k, v] of Object.entries(value)) {
      const kv = w.begin(1);
      w.tag(1, 2);
      w.string(k);
      const m = w.begin(2);
      anyValue(w, v);
      w.end(m);
      w.end(kv);
    }
    w.end(list);
  }
}

function attributes(w: Writer, attrs: Attributes | undefined, field: number): void {
  if (attrs === undefined) return;
  for (const key in attrs) {
    if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
    const kv = w.begin(field);
    w.tag(1, 2);
    w.string(key);
    const m = w.begin(2);
    anyValue(w, attrs[key]);
    w.end(m);
    w.end(kv);
  }
}

function event(w: Writer, e: TimedEvent): void {
  const m = w.begin(11);
  w.tag(1, 1);
  hrTime(w, e.time);
  w.tag(2, 2);
  w.string(e.name);
  attributes(w, e.attributes, 3);
  if (e.droppedAttributesCount) {
    w.tag(4, 0);
    w.varint(e.droppedAttributesCount);
  }
  w.end(m);
}

function flags(sc: Pick<SpanContext, 'traceFlags'>, isRemote: boolean | undefined): number {
  return (sc.traceFlags & 0xff) | SPAN_FLAGS_HAS_IS_REMOTE | (isRemote ? SPAN_FLAGS_IS_REMOTE : 0);
}

function link(w: Writer, l: Link): void {
  const m = w.begin(13);
  w.tag(1, 2);
  w.hexId(l.context.traceId);
  w.tag(2, 2);
  w.hexId(l.context.spanId);
  const state = l.context.traceState?.serialize();
  if (state) {
    w.tag(3, 2);
    w.string(state);
  }
  attributes(w, l.attributes, 4);
  if (l.droppedAttributesCount) {
    w.tag(5, 0);
    w.varint(l.droppedAttributesCount);
  }
  w.tag(6, 5);
  w.fixed32(flags(l.context, l.context.isRemote));
  w.end(m);
}

function span(w: Writer, s: ReadableSpan): void {
  const m = w.begin(2);
  const sc = s.spanContext();
  w.tag(1, 2);
  w.hexId(sc.traceId);
  w.tag(2, 2);
  w.hexId(sc.spanId);
  const state = sc.traceState?.serialize();
  if (state) {
    w.tag(3, 2);
    w.string(state);
  }
  const parent = s.parentSpanContext;
  if (parent?.spanId) {
    w.tag(4, 2);
    w.hexId(parent.spanId);
  }
  w.tag(5, 2);
  w.string(s.name);
  // OTLP kinds are the API's plus one (0 = unspecified)
  w.tag(6, 0);
  w.varint(s.kind + 1);
  w.tag(7, 1);
  hrTime(w, s.startTime);
  w.tag(8, 1);
  hrTime(w, s.endTime);
  attributes(w, s.attributes, 9);
  w.tag(10, 0);
  w.varint(s.droppedAttributesCount);
  for (const e of s.events) event(w, e);
  w.tag(12, 0);
  w.varint(s.droppedEventsCount);
  for (const l of s.links) link(w, l);
  w.tag(14, 0);
  w.varint(s.droppedLinksCount);
  const status = w.begin(15);
  if (s.status.message) {
    w.tag(2, 2);
    w.string(s.status.message);
  }
  if (s.status.code) {
    w.tag(3, 0);
    w.varint(s.status.code);
  }
  w.end(status);
  w.tag(16, 5);
  w.fixed32(flags(sc, parent?.isRemote));
  w.end(m);
}

type Resource = ReadableSpan['resource'];
type Scope = ReadableSpan['instrumentationScope'];

/** Encoded once per resource and per scope: they are the same objects for every span of a process. */
const resourceBytes = new WeakMap<Resource, Uint8Array>();
const scopeBytes = new WeakMap<Scope, Uint8Array>();

function encodeOnce<K extends object>(cache: WeakMap<K, Uint8Array>, key: K, write: (w: Writer) => void): Uint8Array {
  let bytes = cache.get(key);
  if (bytes === undefined) {
    const w = new Writer(256);
    write(w);
    bytes = Buffer.from(w.buf.subarray(0, w.pos));
    cache.set(key, bytes);
  }
  return bytes;
}

function resource(w: Writer, r: Resource): void {
  w.raw(
    encodeOnce(resourceBytes, r, (rw) => {
      const m = rw.begin(1);
      attributes(rw, r.attributes, 1);
      rw.tag(2, 0);
      rw.varint(0);
      rw.end(m);
    }),
  );
}

function scope(w: Writer, s: Scope): void {
  w.raw(
    encodeOnce(scopeBytes, s, (sw) => {
      const m = sw.begin(1);
      sw.tag(1, 2);
      sw.string(s.name);
      if (s.version) {
        sw.tag(2, 2);
        sw.string(s.version);
      }
      sw.end(m);
    }),
  );
}

/** Spans grouped by resource, then by instrumentation scope (object identity, as OTel does). */
function group(spans: readonly ReadableSpan[]): Map<Resource, Map<Scope, ReadableSpan[]>> {
  const byResource = new Map<Resource, Map<Scope, ReadableSpan[]>>();
  for (const s of spans) {
    let byScope = byResource.get(s.resource);
    if (byScope === undefined) byResource.set(s.resource, (byScope = new Map()));
    let list = byScope.get(s.instrumentationScope);
    if (list === undefined) byScope.set(s.instrumentationScope, (list = []));
    list.push(s);
  }
  return byResource;
}

/** Encodes an OTLP ExportTraceServiceRequest holding `spans`. */
export function encodeTraceRequest(spans: readonly ReadableSpan[]): Uint8Array {
  const w = new Writer(Math.max(1024, spans.length * 400));
  for (const [res, byScope] of group(spans)) {
    const rs = w.begin(1);
    resource(w, res);
    for (const [sc, list] of byScope) {
      const ss = w.begin(2);
      scope(w, sc);
      for (const s of list) span(w, s);
      if (sc.schemaUrl) {
        w.tag(3, 2);
        w.string(sc.schemaUrl);
      }
      w.end(ss);
    }
    if (res.schemaUrl) {
      w.tag(3, 2);
      w.string(res.schemaUrl);
    }
    w.end(rs);
  }
  return w.buf.subarray(0, w.pos);
}
