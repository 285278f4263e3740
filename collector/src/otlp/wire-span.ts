// Spans as the pipeline carries them from a protobuf request: the fields every processor reads (ids,
// name, kind, times, status, resource, scope) are decoded at once; attributes, events and links stay
// as bytes of the request until something asks for them, and a span that no processor changed is
// exported as the bytes it arrived as (encode.ts copies its range instead of re-encoding it).
//
// Why: decoding every attribute into objects and encoding them again was half the collector's CPU, and
// in most pipelines nothing reads them (span metrics without dimensions, status/latency/probabilistic
// sampling, OTLP and Kafka export). The request is still checked whole when it arrives — the skipped
// parts are walked with the same wire, UTF-8 and nesting checks as a full decode (the same errors, so
// the same 400s) — so nothing downstream can meet a malformed byte.
//
// Memory: a span keeps its request buffer alive until it is exported or changed. That is the request's
// size, about what the decoded objects took; the memory limiter sees it in RSS. Components that keep
// spans for long (the store) take plain copies (plainSpan), which release the buffer.
//
// The pipeline's contract holds: nobody mutates a span it was handed. Assigning attributes, events or
// links (the lazily decoded parts) is allowed here and detaches the span from its bytes, so it is
// encoded again; processors that change spans copy them (a copy is a plain object, always encoded).
import type { Attributes, DecodedSpan, ResourceInfo, Scope, SpanKindName } from './types.js';
import { MAX_ANY_VALUE_DEPTH, tooDeep } from './errors.js';
import { blocks, bufferOf, event, I32, I64, keyValue, KINDS, LEN, link, NO_EVENTS, NO_LINKS, Reader, STATUS, STATUS_OBJECTS, uint64Decimal, VARINT, wrongWire } from './proto-reader.js';
import { durationNs } from './duration.js';

type SpanEvent = DecodedSpan['events'][number];
type SpanLink = DecodedSpan['links'][number];

const HAS_ATTRIBUTES = 1;
const HAS_EVENTS = 2;
const HAS_LINKS = 4;
/** #layout: the HAS_* bits, and above them the length of the field's tag and length prefix. */
const HEADER_SHIFT = 3;

/** What was read from the bytes on demand, or set: one object, made only for spans that need it. */
interface Parts {
  attributes?: Attributes;
  events?: SpanEvent[];
  links?: SpanLink[];
  startTime?: string;
  endTime?: string;
}

/**
 * A span decoded from protobuf, with its attributes, events, links and times read from its bytes on first
 * use. It lives through tail sampling's decision_wait in great numbers, so it is kept small: 18 fields.
 */
export class WireSpan implements DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  traceState: string | undefined;
  flags: number;
  name: string;
  kind: SpanKindName;
  droppedAttributesCount: number;
  status: DecodedSpan['status'];
  resource: ResourceInfo;
  scope: Scope;
  /** The request; undefined once the span was changed (then it is encoded from its fields). */
  #buf: Buffer | undefined;
  /** [from, end): the span's field in its ScopeSpans (tag, length prefix, message). */
  #from: number;
  #end: number;
  /** HAS_* bits | the prefix length << HEADER_SHIFT (the message starts at #from + prefix length). */
  #layout: number;
  /** Where the 8 bytes of start_time_unix_nano / end_time_unix_nano are in #buf (-1: absent, i.e. 0). */
  #startAt: number;
  #endAt: number;
  #parts: Parts | undefined = undefined;

  constructor(
    buf: Buffer,
    from: number,
    start: number,
    end: number,
    has: number,
    traceId: string,
    spanId: string,
    parentSpanId: string | undefined,
    traceState: string | undefined,
    flags: number,
    name: string,
    kind: SpanKindName,
    startAt: number,
    endAt: number,
    droppedAttributesCount: number,
    status: DecodedSpan['status'],
    resource: ResourceInfo,
    scope: Scope,
  ) {
    this.traceId = traceId;
    this.spanId = spanId;
    this.parentSpanId = parentSpanId;
    this.traceState = traceState;
    this.flags = flags;
    this.name = name;
    this.kind = kind;
    this.droppedAttributesCount = droppedAttributesCount;
    this.status = status;
    this.resource = resource;
    this.scope = scope;
    this.#buf = buf;
    this.#from = from;
    this.#end = end;
    this.#layout = has | ((start - from) << HEADER_SHIFT);
    this.#startAt = startAt;
    this.#endAt = endAt;
  }

  get attributes(): Attributes {
    const parts = (this.#parts ??= {});
    return (parts.attributes ??= this.#layout & HAS_ATTRIBUTES ? readAttributes(this.#buf!, this.#start(), this.#end) : {});
  }

  set attributes(v: Attributes) {
    this.detach();
    this.#parts!.attributes = v;
  }

  get events(): SpanEvent[] {
    if (!(this.#layout & HAS_EVENTS)) return this.#parts?.events ?? NO_EVENTS;
    const parts = (this.#parts ??= {});
    return (parts.events ??= readEvents(this.#buf!, this.#start(), this.#end));
  }

  set events(v: SpanEvent[]) {
    this.detach();
    this.#parts!.events = v;
  }

  get links(): SpanLink[] {
    if (!(this.#layout & HAS_LINKS)) return this.#parts?.links ?? NO_LINKS;
    const parts = (this.#parts ??= {});
    return (parts.links ??= readLinks(this.#buf!, this.#start(), this.#end));
  }

  set links(v: SpanLink[]) {
    this.detach();
    this.#parts!.links = v;
  }

  // Nanosecond times: two strings per span that most pipelines never read (span metrics and the service
  // graph take durationNs()), so they are made when asked for, not kept.
  get startTimeUnixNano(): string {
    return this.#parts?.startTime ?? nanosAt(this.#buf!, this.#startAt);
  }

  set startTimeUnixNano(v: string) {
    this.detach();
    this.#parts!.startTime = v;
  }

  get endTimeUnixNano(): string {
    return this.#parts?.endTime ?? nanosAt(this.#buf!, this.#endAt);
  }

  set endTimeUnixNano(v: string) {
    this.detach();
    this.#parts!.endTime = v;
  }

  /** end − start in nanoseconds (0 when negative), as durationNs() of the two strings, without making them. */
  durationNs(): number {
    const b = this.#buf;
    const s = this.#startAt;
    const e = this.#endAt;
    if (b === undefined || s < 0 || e < 0) return durationNs(this.startTimeUnixNano, this.endTimeUnixNano);
    const hi = b.readUInt32LE(e + 4) - b.readUInt32LE(s + 4);
    // beyond 2^53 ns (104 days) the decimal path decides, as for any other span
    if (hi >= 0x20_0000 || hi < -0x20_0000) return durationNs(this.startTimeUnixNano, this.endTimeUnixNano);
    const d = hi * 4_294_967_296 + (b.readUInt32LE(e) - b.readUInt32LE(s));
    return d > 0 ? d : 0;
  }

  /** The request holding this span's bytes; undefined once the span was changed (or detached). */
  wireBuffer(): Buffer | undefined {
    return this.#buf;
  }

  /** Where the span's field (tag, length, message) starts in wireBuffer(). */
  wireFrom(): number {
    return this.#from;
  }

  /** Where it ends. */
  wireEnd(): number {
    return this.#end;
  }

  /** Reads what is still undecoded and lets go of the request buffer: the span is encoded from its fields from now on. */
  detach(): void {
    const buf = this.#buf;
    if (buf === undefined) return;
    const parts = (this.#parts ??= {});
    parts.attributes = this.attributes;
    parts.events = this.events;
    parts.links = this.links;
    parts.startTime ??= nanosAt(buf, this.#startAt);
    parts.endTime ??= nanosAt(buf, this.#endAt);
    this.#buf = undefined;
  }

  /** The span as a plain DecodedSpan object (what decodeTraces returns for the same bytes). */
  toPlain(): DecodedSpan {
    const out: DecodedSpan = {
      traceId: this.traceId,
      spanId: this.spanId,
      flags: this.flags,
      name: this.name,
      kind: this.kind,
      startTimeUnixNano: this.startTimeUnixNano,
      endTimeUnixNano: this.endTimeUnixNano,
      attributes: this.attributes,
      droppedAttributesCount: this.droppedAttributesCount,
      events: this.events,
      links: this.links,
      status: this.status,
      resource: this.resource,
      scope: this.scope,
    };
    if (this.parentSpanId !== undefined) out.parentSpanId = this.parentSpanId;
    if (this.traceState !== undefined) out.traceState = this.traceState;
    return out;
  }

  /** JSON.stringify sees the accessors too (it reads own properties only). */
  toJSON(): DecodedSpan {
    return this.toPlain();
  }

  /** Where the Span message starts (after the field's tag and length prefix). */
  #start(): number {
    return this.#from + (this.#layout >>> HEADER_SHIFT);
  }
}

/** A plain object for any span: a WireSpan's copy (it does not pin the request), any other span as it is. */
export function plainSpan(s: DecodedSpan): DecodedSpan {
  return s instanceof WireSpan ? s.toPlain() : s;
}

// ---- lazy reads: the message is walked again for the fields asked for (it was checked on arrival) ----

/** The fixed64 at `at` as a decimal string ('0' when absent), as the reader's nanos(). */
function nanosAt(buf: Buffer, at: number): string {
  return at < 0 ? '0' : uint64Decimal(buf.readUInt32LE(at), buf.readUInt32LE(at + 4));
}

function readAttributes(buf: Buffer, start: number, end: number): Attributes {
  const attrs: Attributes = {};
  const r = new Reader(buf);
  r.pos = start;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === ((9 << 3) | LEN)) keyValue(r, r.delimited(end), attrs, 0);
    else r.skip(tag, end);
  }
  return attrs;
}

function readEvents(buf: Buffer, start: number, end: number): SpanEvent[] {
  const out: SpanEvent[] = [];
  const r = new Reader(buf);
  r.pos = start;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === ((11 << 3) | LEN)) out.push(event(r, r.delimited(end)));
    else r.skip(tag, end);
  }
  return out;
}

function readLinks(buf: Buffer, start: number, end: number): SpanLink[] {
  const out: SpanLink[] = [];
  const r = new Reader(buf);
  r.pos = start;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === ((13 << 3) | LEN)) out.push(link(r, r.delimited(end)));
    else r.skip(tag, end);
  }
  return out;
}

// ---- checks without decoding: each mirrors its decoding twin in proto-reader.ts, error for error ----

function checkAnyValue(r: Reader, end: number, depth: number): void {
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN:
        r.skipString(end);
        break;
      case (2 << 3) | VARINT:
        r.varint();
        break;
      case (3 << 3) | VARINT:
        r.varint64();
        break;
      case (4 << 3) | I64:
        r.double();
        break;
      case (5 << 3) | LEN: {
        if (depth >= MAX_ANY_VALUE_DEPTH) throw tooDeep();
        const stop = r.delimited(end);
        while (r.pos < stop) {
          const t = r.tag();
          if (t === ((1 << 3) | LEN)) checkAnyValue(r, r.delimited(stop), depth + 1);
          else if (t >>> 3 === 1) wrongWire(t, 'ArrayValue');
          else r.skip(t, stop);
        }
        break;
      }
      case (6 << 3) | LEN: {
        if (depth >= MAX_ANY_VALUE_DEPTH) throw tooDeep();
        const stop = r.delimited(end);
        while (r.pos < stop) {
          const t = r.tag();
          if (t === ((1 << 3) | LEN)) checkKeyValue(r, r.delimited(stop), depth + 1);
          else if (t >>> 3 === 1) wrongWire(t, 'KeyValueList');
          else r.skip(t, stop);
        }
        break;
      }
      case (7 << 3) | LEN:
        r.pos = r.delimited(end);
        break;
      default:
        if (tag >>> 3 <= 7) wrongWire(tag, 'AnyValue');
        r.skip(tag, end);
    }
  }
  if (r.pos !== end) r.truncated();
}

function checkKeyValue(r: Reader, end: number, depth: number): void {
  if (plainKeyValue(r.buf, r.pos, end)) {
    r.pos = end;
    return;
  }
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) r.skipString(end);
    else if (tag === ((2 << 3) | LEN)) checkAnyValue(r, r.delimited(end), depth);
    else if (tag >>> 3 <= 2) wrongWire(tag, 'KeyValue');
    else r.skip(tag, end);
  }
  if (r.pos !== end) r.truncated();
}

function checkEvent(r: Reader, end: number): void {
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | I64:
        r.fixed32();
        r.fixed32();
        break;
      case (2 << 3) | LEN:
        r.skipString(end);
        break;
      case (3 << 3) | LEN:
        checkKeyValue(r, r.delimited(end), 0);
        break;
      case (4 << 3) | VARINT:
        r.varint64();
        break;
      default:
        if (tag >>> 3 <= 4) wrongWire(tag, 'Span.Event');
        r.skip(tag, end);
    }
  }
  if (r.pos !== end) r.truncated();
}

function checkLink(r: Reader, end: number): void {
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN:
      case (2 << 3) | LEN:
        r.pos = r.delimited(end);
        break;
      case (3 << 3) | LEN:
        r.skipString(end);
        break;
      case (4 << 3) | LEN:
        checkKeyValue(r, r.delimited(end), 0);
        break;
      case (5 << 3) | VARINT:
        r.varint64();
        break;
      case (6 << 3) | I32:
        r.fixed32();
        break;
      default:
        if (tag >>> 3 <= 6) wrongWire(tag, 'Span.Link');
        r.skip(tag, end);
    }
  }
  if (r.pos !== end) r.truncated();
}

/**
 * The shape nearly every attribute has, accepted in one pass over its bytes: the key (field 1, ASCII, under
 * 128 bytes), then the value (field 2, under 128 bytes) holding at most one scalar — an ASCII string under 128
 * bytes, a bool, an int or a double — and nothing else. It only ever says yes to bytes the general check
 * accepts; for anything else it says no, and the general check runs (and names what is wrong).
 */
function plainKeyValue(buf: Buffer, p: number, end: number): boolean {
  if (p + 4 > end || buf[p] !== 0x0a) return false;
  const keyEnd = p + 2 + buf[p + 1]!;
  if (buf[p + 1]! > 127 || keyEnd + 2 > end) return false;
  for (let i = p + 2; i < keyEnd; i++) if (buf[i]! > 127) return false;
  if (buf[keyEnd] !== 0x12 || buf[keyEnd + 1]! > 127 || keyEnd + 2 + buf[keyEnd + 1]! !== end) return false;
  const v = keyEnd + 2;
  if (v === end) return true; // an empty AnyValue: null
  switch (buf[v]) {
    case (1 << 3) | LEN: {
      if (buf[v + 1]! > 127 || v + 2 + buf[v + 1]! !== end) return false;
      for (let i = v + 2; i < end; i++) if (buf[i]! > 127) return false;
      return true;
    }
    case (2 << 3) | VARINT:
    case (3 << 3) | VARINT: {
      // a varint of at most 10 bytes that ends exactly at the end
      if (end - v - 1 < 1 || end - v - 1 > 10) return false;
      for (let i = v + 1; i < end - 1; i++) if (buf[i]! < 128) return false;
      return buf[end - 1]! < 128;
    }
    case (4 << 3) | I64:
      return v + 9 === end;
    default:
      return false;
  }
}

// ---- the span: proto-reader.ts's span() with attributes, events and links checked, not decoded ----

function wireSpan(r: Reader, end: number, res: ResourceInfo, sc: Scope, from: number): WireSpan {
  const start = r.pos;
  let traceId: string | undefined;
  let spanId: string | undefined;
  let parentSpanId: string | undefined;
  let traceState = '';
  let flags = 0;
  let name = '';
  let kind = 0;
  let startAt = -1;
  let endAt = -1;
  let dropped = 0;
  let has = 0;
  let statusCode = 0;
  let statusMessage = '';
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN:
        traceId = r.id(end);
        break;
      case (2 << 3) | LEN:
        spanId = r.id(end);
        break;
      case (3 << 3) | LEN:
        traceState = r.string(end);
        break;
      case (4 << 3) | LEN:
        parentSpanId = r.id(end);
        break;
      case (5 << 3) | LEN:
        name = r.string(end);
        break;
      case (6 << 3) | VARINT:
        kind = r.varint() | 0;
        break;
      case (7 << 3) | I64:
        startAt = r.pos;
        r.fixed32();
        r.fixed32();
        break;
      case (8 << 3) | I64:
        endAt = r.pos;
        r.fixed32();
        r.fixed32();
        break;
      case (9 << 3) | LEN:
        checkKeyValue(r, r.delimited(end), 0);
        has |= HAS_ATTRIBUTES;
        break;
      case (10 << 3) | VARINT:
        dropped = r.varint();
        break;
      case (11 << 3) | LEN:
        checkEvent(r, r.delimited(end));
        has |= HAS_EVENTS;
        break;
      case (12 << 3) | VARINT:
      case (14 << 3) | VARINT:
        r.varint64();
        break;
      case (13 << 3) | LEN:
        checkLink(r, r.delimited(end));
        has |= HAS_LINKS;
        break;
      case (15 << 3) | LEN: {
        const stop = r.delimited(end);
        statusCode = 0;
        statusMessage = '';
        while (r.pos < stop) {
          const t = r.tag();
          if (t === ((3 << 3) | VARINT)) statusCode = r.varint() | 0;
          else if (t === ((2 << 3) | LEN)) statusMessage = r.string(stop);
          else if (t >>> 3 === 2 || t >>> 3 === 3) wrongWire(t, 'Status');
          else r.skip(t, stop);
        }
        if (r.pos !== stop) r.truncated();
        break;
      }
      case (16 << 3) | I32:
        flags = r.fixed32();
        break;
      default:
        if (tag >>> 3 <= 16) wrongWire(tag, 'Span');
        r.skip(tag, end);
    }
  }
  if (r.pos !== end) r.truncated();
  const status = statusMessage ? { code: STATUS[statusCode] ?? 'unset', message: statusMessage } : (STATUS_OBJECTS[statusCode] ?? STATUS_OBJECTS[0]!);
  return new WireSpan(
    r.buf,
    from,
    start,
    end,
    has,
    traceId ?? '',
    spanId ?? '',
    parentSpanId,
    traceState || undefined,
    flags,
    name,
    KINDS[kind] ?? 'unspecified',
    startAt,
    endAt,
    dropped,
    status,
    res,
    sc,
  );
}

/** ExportTraceServiceRequest → WireSpans. Throws WireError, or OtlpDecodeError for AnyValue nesting (as readTraces). */
export function readWireTraces(body: Uint8Array): WireSpan[] {
  return blocks(new Reader(bufferOf(body)), ['ResourceSpans', 'ScopeSpans'], wireSpan);
}
