// ExportTraceServiceRequest / ExportLogsServiceRequest protobuf → DecodedSpan / DecodedLogRecord in one
// pass over the wire format. protobufjs decode + toObject + normalisation built three object trees per
// span (messages, plain objects with base64 ids and Long timestamps, then ours); this walks the bytes
// once and builds only the result: ids hex through a byte table, fixed64 times to decimal strings with
// doubles, short ASCII strings from a cache (attribute keys and common values repeat in every span).
//
// Same output as the protobufjs path (codec.ts keeps it for metrics; the tests compare both), and the
// same guarantees: strings must be valid UTF-8, AnyValue nests at most MAX_ANY_VALUE_DEPTH levels, any
// malformed input (truncated, a length past its message, a bad wire type, an over-long varint) is a
// WireError, unknown fields are skipped. Where protobufjs silently misread a known field sent with the
// wrong wire type, this rejects it.
import { isUtf8 } from 'node:buffer';
import { MAX_ANY_VALUE_DEPTH, tooDeep } from './errors.js';
import type { Attributes, DecodedLogRecord, DecodedSpan, OtlpValue, ResourceInfo, Scope, SpanKindName, StatusCodeName } from './types.js';

/** The bytes are not a well-formed message of the expected type (codec.ts wraps it in an OtlpDecodeError). */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

// wire types
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
const SGROUP = 3;
const EGROUP = 4;
export const I32 = 5;

/** Node's Buffer slicers, which Buffer#toString ends up in (called directly: no encoding lookup). */
interface Slicers {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** A byte's two hex digits as char codes. */
const HEX_HI = new Uint8Array(256);
const HEX_LO = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  HEX_HI[i] = '0123456789abcdef'.charCodeAt(i >> 4);
  HEX_LO[i] = '0123456789abcdef'.charCodeAt(i & 15);
}
const hx = (buf: Buffer, i: number) => HEX_HI[buf[i]!]!;
const lx = (buf: Buffer, i: number) => HEX_LO[buf[i]!]!;

/** 8 bytes (a span id) as hex, in one String.fromCharCode (a flat string, no native call). */
function hex8(b: Buffer, p: number): string {
  return String.fromCharCode(
    hx(b, p), lx(b, p), hx(b, p + 1), lx(b, p + 1), hx(b, p + 2), lx(b, p + 2), hx(b, p + 3), lx(b, p + 3),
    hx(b, p + 4), lx(b, p + 4), hx(b, p + 5), lx(b, p + 5), hx(b, p + 6), lx(b, p + 6), hx(b, p + 7), lx(b, p + 7),
  );
}

/** 16 bytes (a trace id) as hex (one call: two joined halves would make a rope). */
function hex16(b: Buffer, p: number): string {
  return String.fromCharCode(
    hx(b, p), lx(b, p), hx(b, p + 1), lx(b, p + 1), hx(b, p + 2), lx(b, p + 2), hx(b, p + 3), lx(b, p + 3),
    hx(b, p + 4), lx(b, p + 4), hx(b, p + 5), lx(b, p + 5), hx(b, p + 6), lx(b, p + 6), hx(b, p + 7), lx(b, p + 7),
    hx(b, p + 8), lx(b, p + 8), hx(b, p + 9), lx(b, p + 9), hx(b, p + 10), lx(b, p + 10), hx(b, p + 11), lx(b, p + 11),
    hx(b, p + 12), lx(b, p + 12), hx(b, p + 13), lx(b, p + 13), hx(b, p + 14), lx(b, p + 14), hx(b, p + 15), lx(b, p + 15),
  );
}

const TWO_32 = 4_294_967_296;

/** "0000000".slice(n) without a call per digit: zero-padding of a 7-digit group. */
const ZEROS = ['0000000', '000000', '00000', '0000', '000', '00', '0', ''];
function pad7(n: number): string {
  const s = String(n);
  return ZEROS[s.length]! + s;
}

/**
 * An unsigned 64-bit integer (two 32-bit halves) as a decimal string, exactly. Below 2^53 a double holds
 * it; above, it is split into 24-bit limbs and recombined in base 10^7, every product exact in a double
 * (the method of google-protobuf's joinUnsignedDecimalString). Nanosecond timestamps take the second path.
 */
export function uint64Decimal(lo: number, hi: number): string {
  if (hi <= 0x1f_ffff) return String(hi * TWO_32 + lo);
  const low = lo & 0xff_ffff;
  const mid = ((lo >>> 24) | (hi << 8)) & 0xff_ffff;
  const high = hi >>> 16;
  // 2^24 = 1·10^7 + 6777216; 2^48 = 2·10^14 + 8147497·10^7 + 6710656
  let a = low + mid * 6_777_216 + high * 6_710_656;
  let b = mid + high * 8_147_497;
  let c = high * 2;
  if (a >= 10_000_000) {
    b += Math.floor(a / 10_000_000);
    a %= 10_000_000;
  }
  if (b >= 10_000_000) {
    c += Math.floor(b / 10_000_000);
    b %= 10_000_000;
  }
  // c > 0: the value is at least 2^53. Nanosecond times of 2001-2286 have 19 digits: one flat string, no rope of pieces
  if (c >= 10_000 && c < 100_000) return digits19(c, b, a);
  return String(c) + pad7(b) + pad7(a);
}

const d = (n: number, div: number) => 48 + (Math.floor(n / div) % 10);

/** 5 + 7 + 7 decimal digits as one string. */
function digits19(c: number, b: number, a: number): string {
  return String.fromCharCode(
    d(c, 10_000), d(c, 1000), d(c, 100), d(c, 10), 48 + (c % 10),
    d(b, 1_000_000), d(b, 100_000), d(b, 10_000), d(b, 1000), d(b, 100), d(b, 10), 48 + (b % 10),
    d(a, 1_000_000), d(a, 100_000), d(a, 10_000), d(a, 1000), d(a, 100), d(a, 10), 48 + (a % 10),
  );
}

/** A signed 64-bit integer (two's complement halves): a Number when safe, else its decimal string (as the codec keeps big int64s). */
function int64Value(lo: number, hi: number): number | string {
  if (hi <= 0x1f_ffff) return hi * TWO_32 + lo;
  if (hi >= 0xffe0_0000) {
    const n = (hi - TWO_32) * TWO_32 + lo;
    if (Number.isSafeInteger(n)) return n;
  }
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

// ---- short-string cache ----
// Attribute keys, service names, span names and common values repeat from span to span; returning the
// same string skips an allocation and a native call, and a key that was used before is already
// internalised, so storing it as a property is cheap. Only ASCII strings up to CACHE_MAX_LEN are cached.
const CACHE_BITS = 12;
const CACHE_MASK = (1 << CACHE_BITS) - 1;
const CACHE_MAX_LEN = 48;
const cache: string[] = new Array<string>(1 << CACHE_BITS).fill('');

// ---- id cache ----
// The spans of a trace share its trace id, and a child's parent_span_id is another span's span_id: spans
// stay in memory for the tail sampler's decision_wait, so one string per distinct id (not one per field)
// means fewer objects to allocate, promote and mark. Ids are random, so their last two bytes are the hash.
class IdCache {
  private readonly keys: Uint8Array;
  private readonly strings: string[];
  private readonly mask: number;

  constructor(
    private readonly width: 8 | 16,
    bits: number,
  ) {
    this.keys = new Uint8Array(width << bits);
    this.strings = new Array<string>(1 << bits).fill('');
    this.mask = (1 << bits) - 1;
  }

  /** The `width` bytes at p as lower-case hex: the cached string when the same id was seen last in its slot. */
  get(buf: Buffer, p: number): string {
    const w = this.width;
    const slot = (buf[p + w - 1]! | (buf[p + w - 2]! << 8)) & this.mask;
    const keys = this.keys;
    const k = slot * w;
    let i = 0;
    while (i < w && keys[k + i] === buf[p + i]) i++;
    if (i === w && this.strings[slot] !== '') return this.strings[slot]!;
    // one flat string: built by concatenation it would be a rope, flattened again by every Map lookup and regexp
    const s = w === 16 ? hex16(buf, p) : hex8(buf, p);
    for (let j = 0; j < w; j++) keys[k + j] = buf[p + j]!;
    this.strings[slot] = s;
    return s;
  }
}

const TRACE_IDS = new IdCache(16, 10);
const SPAN_IDS = new IdCache(8, 11);

/** Reads one message's fields; all positions are absolute offsets into buf. */
export class Reader {
  readonly buf: Buffer;
  pos = 0;
  // the last varint64(): low and high 32 bits (fields, so the hot path allocates nothing)
  lo = 0;
  hi = 0;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  truncated(): never {
    throw new WireError(`truncated message (at byte ${this.pos} of ${this.buf.length})`);
  }

  /** A varint's low 32 bits, unsigned (hi holds the rest: lengths and tags must have none). */
  varint(): number {
    const buf = this.buf;
    const pos = this.pos;
    if (pos < buf.length) {
      const b = buf[pos]!;
      if (b < 128) {
        this.pos = pos + 1;
        this.hi = 0;
        return b;
      }
    }
    this.varint64();
    return this.lo;
  }

  /** A varint of up to ten bytes into lo/hi. */
  varint64(): void {
    const buf = this.buf;
    const len = buf.length;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= len) this.truncated();
      b = buf[pos++]!;
      lo |= (b & 127) << shift;
      if (b < 128) {
        this.pos = pos;
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    // fifth byte: 4 bits of lo, 3 of hi
    if (pos >= len) this.truncated();
    b = buf[pos++]!;
    lo |= (b & 15) << 28;
    hi = (b & 127) >>> 4;
    if (b >= 128) {
      for (let shift = 3; ; shift += 7) {
        if (shift > 31) throw new WireError(`a varint is longer than 10 bytes (at byte ${pos})`);
        if (pos >= len) this.truncated();
        b = buf[pos++]!;
        hi |= (b & 127) << shift;
        if (b < 128) break;
      }
    }
    this.pos = pos;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** A length prefix; returns the absolute end of the delimited bytes, which must lie within `end`. */
  delimited(end: number): number {
    const start = this.pos;
    const n = this.varint();
    if (this.hi !== 0) throw new WireError(`a length at byte ${start} is out of range`);
    const stop = this.pos + n;
    if (stop > end) throw new WireError(`a length at byte ${start} runs past the end of its message (${n} bytes, ${end - this.pos} left)`);
    return stop;
  }

  fixed32(): number {
    const buf = this.buf;
    const pos = this.pos;
    if (pos + 4 > buf.length) this.truncated();
    this.pos = pos + 4;
    return (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24)) >>> 0;
  }

  /** fixed64 nanoseconds as a decimal string. */
  nanos(): string {
    const lo = this.fixed32();
    return uint64Decimal(lo, this.fixed32());
  }

  double(): number {
    if (this.pos + 8 > this.buf.length) this.truncated();
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A string field, UTF-8 checked (proto3 requires it; the Go collector rejects the request too). */
  string(end: number): string {
    const stop = this.delimited(end);
    const start = this.pos;
    this.pos = stop;
    const len = stop - start;
    if (len === 0) return '';
    const buf = this.buf;
    if (len > CACHE_MAX_LEN) return this.longString(start, stop);
    let h = len;
    for (let i = start; i < stop; i++) {
      const c = buf[i]!;
      if (c > 127) return this.utf8(start, stop);
      h = (Math.imul(h, 31) + c) | 0;
    }
    const slot = (h ^ (h >>> CACHE_BITS)) & CACHE_MASK;
    const hit = cache[slot]!;
    if (hit.length === len) {
      let i = 0;
      while (i < len && hit.charCodeAt(i) === buf[start + i]) i++;
      if (i === len) return hit;
    }
    const s = (buf as unknown as Slicers).latin1Slice(start, stop);
    cache[slot] = s;
    return s;
  }

  private longString(start: number, stop: number): string {
    const buf = this.buf;
    for (let i = start; i < stop; i++) if (buf[i]! > 127) return this.utf8(start, stop);
    return (buf as unknown as Slicers).latin1Slice(start, stop);
  }

  private utf8(start: number, stop: number): string {
    if (!isUtf8(this.buf.subarray(start, stop))) throw new WireError('a string field is not valid UTF-8');
    return (this.buf as unknown as Slicers).utf8Slice(start, stop);
  }

  /** A string field that is not kept, still checked for UTF-8. */
  skipString(end: number): void {
    const stop = this.delimited(end);
    const start = this.pos;
    this.pos = stop;
    const buf = this.buf;
    for (let i = start; i < stop; i++) {
      if (buf[i]! > 127) {
        if (!isUtf8(buf.subarray(start, stop))) throw new WireError('a string field is not valid UTF-8');
        return;
      }
    }
  }

  /** Bytes as lower-case hex; undefined when empty or all zero (trace/span ids: "not set"). */
  id(end: number): string | undefined {
    const stop = this.delimited(end);
    const start = this.pos;
    this.pos = stop;
    const buf = this.buf;
    let any = 0;
    for (let i = start; i < stop; i++) any |= buf[i]!;
    if (any === 0) return undefined;
    if (stop - start === 16) return TRACE_IDS.get(buf, start);
    if (stop - start === 8) return SPAN_IDS.get(buf, start);
    return buf.toString('hex', start, stop);
  }

  base64(end: number): string {
    const stop = this.delimited(end);
    const s = this.buf.toString('base64', this.pos, stop);
    this.pos = stop;
    return s;
  }

  /** Skips a field of an unknown (or unused, non-string) field number. */
  skip(tag: number, end: number): void {
    switch (tag & 7) {
      case VARINT:
        this.varint64();
        break;
      case I64:
        this.pos += 8;
        break;
      case LEN:
        this.pos = this.delimited(end);
        break;
      case I32:
        this.pos += 4;
        break;
      case SGROUP:
        this.skipGroup(tag, end);
        break;
      default:
        throw new WireError(`invalid wire type ${tag & 7} (field ${tag >>> 3}, at byte ${this.pos})`);
    }
    if (this.pos > end) this.truncated();
  }

  /** Skips a (proto2) group up to its matching end-group tag; nested groups are counted, not recursed. */
  private skipGroup(tag: number, end: number): void {
    let depth = 1;
    while (depth > 0) {
      if (this.pos >= end) this.truncated();
      const t = this.tag();
      const w = t & 7;
      if (w === SGROUP) depth++;
      else if (w === EGROUP) {
        depth--;
        if (depth === 0 && t >>> 3 !== tag >>> 3) throw new WireError(`group of field ${tag >>> 3} ends with field ${t >>> 3}`);
      } else this.skip(t, end);
    }
  }

  tag(): number {
    const start = this.pos;
    const t = this.varint();
    if (t >>> 3 === 0 || this.hi !== 0) throw new WireError(`invalid field number at byte ${start}`);
    return t;
  }
}

/** A known field arrived with another wire type than its schema's. */
export function wrongWire(tag: number, message: string): never {
  throw new WireError(`field ${tag >>> 3} of ${message} has wire type ${tag & 7}`);
}

// ---- common messages ----

function anyValue(r: Reader, end: number, depth: number): OtlpValue {
  let v: OtlpValue = null;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN:
        v = r.string(end);
        break;
      case (2 << 3) | VARINT:
        v = r.varint() !== 0;
        break;
      case (3 << 3) | VARINT:
        r.varint64();
        v = int64Value(r.lo, r.hi);
        break;
      case (4 << 3) | I64:
        v = r.double();
        break;
      case (5 << 3) | LEN: {
        if (depth >= MAX_ANY_VALUE_DEPTH) throw tooDeep();
        v = arrayValue(r, r.delimited(end), depth + 1);
        break;
      }
      case (6 << 3) | LEN: {
        if (depth >= MAX_ANY_VALUE_DEPTH) throw tooDeep();
        const stop = r.delimited(end);
        const kv: Attributes = {};
        while (r.pos < stop) {
          const t = r.tag();
          if (t === ((1 << 3) | LEN)) keyValue(r, r.delimited(stop), kv, depth + 1);
          else if (t >>> 3 === 1) wrongWire(t, 'KeyValueList');
          else r.skip(t, stop);
        }
        v = kv;
        break;
      }
      case (7 << 3) | LEN:
        v = r.base64(end);
        break;
      default:
        if (tag >>> 3 <= 7) wrongWire(tag, 'AnyValue');
        r.skip(tag, end);
    }
  }
  if (r.pos !== end) r.truncated();
  return v;
}

function arrayValue(r: Reader, end: number, depth: number): OtlpValue[] {
  const out: OtlpValue[] = [];
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) out.push(anyValue(r, r.delimited(end), depth));
    else if (tag >>> 3 === 1) wrongWire(tag, 'ArrayValue');
    else r.skip(tag, end);
  }
  return out;
}

/** One KeyValue into `into`; one without a key field is dropped (as the protobufjs path did). */
export function keyValue(r: Reader, end: number, into: Attributes, depth: number): void {
  let key: string | undefined;
  let value: OtlpValue = null;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) key = r.string(end);
    else if (tag === ((2 << 3) | LEN)) value = anyValue(r, r.delimited(end), depth);
    else if (tag >>> 3 <= 2) wrongWire(tag, 'KeyValue');
    else r.skip(tag, end);
  }
  if (r.pos !== end) r.truncated();
  if (key === undefined) return;
  // a plain assignment to "__proto__" would replace the prototype instead of adding the attribute
  if (key === '__proto__') Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
  else into[key] = value;
}

/** Resource → its attributes (dropped_attributes_count is not kept; entity_refs are checked, not kept). */
export function resourceAttributes(r: Reader, end: number): Attributes {
  const attrs: Attributes = {};
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) keyValue(r, r.delimited(end), attrs, 0);
    else if (tag === ((3 << 3) | LEN)) entityRef(r, r.delimited(end));
    else if (tag === ((2 << 3) | VARINT)) r.varint64();
    else if (tag >>> 3 <= 3) wrongWire(tag, 'Resource');
    else r.skip(tag, end);
  }
  if (r.pos !== end) r.truncated();
  return attrs;
}

/** EntityRef: four string fields (two repeated), only validated. */
function entityRef(r: Reader, end: number): void {
  while (r.pos < end) {
    const tag = r.tag();
    const field = tag >>> 3;
    if (field >= 1 && field <= 4) {
      if ((tag & 7) !== LEN) wrongWire(tag, 'EntityRef');
      r.skipString(end);
    } else r.skip(tag, end);
  }
  if (r.pos !== end) r.truncated();
}

/** InstrumentationScope into `sc` (replacing what a previous scope field of the same block set). */
function scope(r: Reader, end: number, sc: Scope): void {
  let name = '';
  let version = '';
  const attrs: Attributes = {};
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN:
        name = r.string(end);
        break;
      case (2 << 3) | LEN:
        version = r.string(end);
        break;
      case (3 << 3) | LEN:
        keyValue(r, r.delimited(end), attrs, 0);
        break;
      case (4 << 3) | VARINT:
        r.varint64();
        break;
      default:
        if (tag >>> 3 <= 4) wrongWire(tag, 'InstrumentationScope');
        r.skip(tag, end);
    }
  }
  if (r.pos !== end) r.truncated();
  sc.name = name;
  sc.attributes = attrs;
  if (version) sc.version = version;
  else if (sc.version !== undefined) delete sc.version;
}

/**
 * The resource → scope → item nesting shared by traces and logs: Resource{Spans,Logs} holds resource (1),
 * scope blocks (2) and schema_url (3); each scope block holds scope (1), items (2) and schema_url (3).
 * Every item of a block gets the same resource and scope objects, filled in when the block ends (a
 * resource or scope field may come after the items).
 */
export type ItemReader<T> = (r: Reader, end: number, res: ResourceInfo, sc: Scope, from: number) => T;

export function blocks<T>(r: Reader, names: readonly [string, string], item: ItemReader<T>): T[] {
  const out: T[] = [];
  const end = r.buf.length;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) resourceBlock(r, r.delimited(end), names, item, out);
    else if (tag >>> 3 === 1) wrongWire(tag, 'the export request');
    else r.skip(tag, end);
  }
  return out;
}

function resourceBlock<T>(r: Reader, end: number, names: readonly [string, string], item: ItemReader<T>, out: T[]): void {
  const res: ResourceInfo = { attributes: {} };
  let schemaUrl = '';
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN:
        res.attributes = resourceAttributes(r, r.delimited(end));
        break;
      case (2 << 3) | LEN:
        scopeBlock(r, r.delimited(end), names[1], item, res, out);
        break;
      case (3 << 3) | LEN:
        schemaUrl = r.string(end);
        break;
      default:
        if (tag >>> 3 <= 3) wrongWire(tag, names[0]);
        r.skip(tag, end);
    }
  }
  if (r.pos !== end) r.truncated();
  if (schemaUrl) res.schemaUrl = schemaUrl;
}

function scopeBlock<T>(r: Reader, end: number, name: string, item: ItemReader<T>, res: ResourceInfo, out: T[]): void {
  const sc: Scope = { name: '', attributes: {} };
  while (r.pos < end) {
    const from = r.pos;
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN:
        scope(r, r.delimited(end), sc);
        break;
      case (2 << 3) | LEN:
        out.push(item(r, r.delimited(end), res, sc, from));
        break;
      case (3 << 3) | LEN:
        r.skipString(end); // the scope block's schema_url is not kept
        break;
      default:
        if (tag >>> 3 <= 3) wrongWire(tag, name);
        r.skip(tag, end);
    }
  }
  if (r.pos !== end) r.truncated();
}

// ---- traces ----

export const KINDS: readonly SpanKindName[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
export const STATUS: readonly StatusCodeName[] = ['unset', 'ok', 'error'];

type SpanEvent = DecodedSpan['events'][number];
type SpanLink = DecodedSpan['links'][number];

// Most spans have no events, no links and a status without message: they share these (frozen, so a
// component that mutated a span it received, which the pipeline forbids, fails loudly instead of
// changing every other span). Three objects fewer per span to allocate and keep through decision_wait.
export const NO_EVENTS = Object.freeze([]) as unknown as SpanEvent[];
export const NO_LINKS = Object.freeze([]) as unknown as SpanLink[];
export const STATUS_OBJECTS: readonly DecodedSpan['status'][] = STATUS.map((code) => Object.freeze({ code }));

function span(r: Reader, end: number, res: ResourceInfo, sc: Scope): DecodedSpan {
  let traceId: string | undefined;
  let spanId: string | undefined;
  let parentSpanId: string | undefined;
  let traceState = '';
  let flags = 0;
  let name = '';
  let kind = 0;
  let start = '0';
  let stop = '0';
  const attributes: Attributes = {};
  let dropped = 0;
  let events = NO_EVENTS;
  let links = NO_LINKS;
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
        start = r.nanos();
        break;
      case (8 << 3) | I64:
        stop = r.nanos();
        break;
      case (9 << 3) | LEN:
        keyValue(r, r.delimited(end), attributes, 0);
        break;
      case (10 << 3) | VARINT:
        dropped = r.varint();
        break;
      case (11 << 3) | LEN:
        if (events === NO_EVENTS) events = [];
        events.push(event(r, r.delimited(end)));
        break;
      case (12 << 3) | VARINT:
      case (14 << 3) | VARINT:
        r.varint64(); // dropped events/links counts are not kept
        break;
      case (13 << 3) | LEN:
        if (links === NO_LINKS) links = [];
        links.push(link(r, r.delimited(end)));
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
  // parentSpanId is last, as when it was added after the fact, but in the literal: no map transition, no property array
  if (parentSpanId && !traceState) {
    return {
      traceId: traceId ?? '',
      spanId: spanId ?? '',
      flags,
      name,
      kind: KINDS[kind] ?? 'unspecified',
      startTimeUnixNano: start,
      endTimeUnixNano: stop,
      attributes,
      droppedAttributesCount: dropped,
      events,
      links,
      status,
      resource: res,
      scope: sc,
      parentSpanId,
    };
  }
  const out: DecodedSpan = {
    traceId: traceId ?? '',
    spanId: spanId ?? '',
    flags,
    name,
    kind: KINDS[kind] ?? 'unspecified',
    startTimeUnixNano: start,
    endTimeUnixNano: stop,
    attributes,
    droppedAttributesCount: dropped,
    events,
    links,
    status,
    resource: res,
    scope: sc,
  };
  if (parentSpanId) out.parentSpanId = parentSpanId;
  if (traceState) out.traceState = traceState;
  return out;
}

export function event(r: Reader, end: number): SpanEvent {
  let time = '0';
  let name = '';
  const attributes: Attributes = {};
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | I64:
        time = r.nanos();
        break;
      case (2 << 3) | LEN:
        name = r.string(end);
        break;
      case (3 << 3) | LEN:
        keyValue(r, r.delimited(end), attributes, 0);
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
  return { name, timeUnixNano: time, attributes };
}

export function link(r: Reader, end: number): SpanLink {
  let traceId: string | undefined;
  let spanId: string | undefined;
  let traceState = '';
  const attributes: Attributes = {};
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
        keyValue(r, r.delimited(end), attributes, 0);
        break;
      case (5 << 3) | VARINT:
        r.varint64();
        break;
      case (6 << 3) | I32:
        r.fixed32(); // link flags are not kept
        break;
      default:
        if (tag >>> 3 <= 6) wrongWire(tag, 'Span.Link');
        r.skip(tag, end);
    }
  }
  if (r.pos !== end) r.truncated();
  const out: SpanLink = { traceId: traceId ?? '', spanId: spanId ?? '', attributes };
  if (traceState) out.traceState = traceState;
  return out;
}

// ---- logs ----

function logRecord(r: Reader, end: number, res: ResourceInfo, sc: Scope): DecodedLogRecord {
  let time = '0';
  let observed = '0';
  let severityNumber = 0;
  let severityText = '';
  let body: OtlpValue = null;
  const attributes: Attributes = {};
  let flags = 0;
  let traceId: string | undefined;
  let spanId: string | undefined;
  let eventName = '';
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | I64:
        time = r.nanos();
        break;
      case (2 << 3) | VARINT:
        severityNumber = r.varint() | 0;
        break;
      case (3 << 3) | LEN:
        severityText = r.string(end);
        break;
      case (5 << 3) | LEN:
        body = anyValue(r, r.delimited(end), 0);
        break;
      case (6 << 3) | LEN:
        keyValue(r, r.delimited(end), attributes, 0);
        break;
      case (7 << 3) | VARINT:
        r.varint64();
        break;
      case (8 << 3) | I32:
        flags = r.fixed32();
        break;
      case (9 << 3) | LEN:
        traceId = r.id(end);
        break;
      case (10 << 3) | LEN:
        spanId = r.id(end);
        break;
      case (11 << 3) | I64:
        observed = r.nanos();
        break;
      case (12 << 3) | LEN:
        eventName = r.string(end);
        break;
      default:
        if (tag >>> 3 <= 12 && tag >>> 3 !== 4) wrongWire(tag, 'LogRecord');
        r.skip(tag, end);
    }
  }
  if (r.pos !== end) r.truncated();
  const out: DecodedLogRecord = { timeUnixNano: time, observedTimeUnixNano: observed, severityNumber, body, attributes, flags, resource: res, scope: sc };
  if (traceId) out.traceId = traceId;
  if (spanId) out.spanId = spanId;
  if (severityText) out.severityText = severityText;
  if (eventName) out.eventName = eventName;
  return out;
}

// ---- entry points ----

export function bufferOf(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** ExportTraceServiceRequest → spans. Throws WireError, or OtlpDecodeError for AnyValue nesting. */
export function readTraces(body: Uint8Array): DecodedSpan[] {
  return blocks(new Reader(bufferOf(body)), ['ResourceSpans', 'ScopeSpans'], span);
}

/** ExportLogsServiceRequest → log records. Throws WireError, or OtlpDecodeError for AnyValue nesting. */
export function readLogs(body: Uint8Array): DecodedLogRecord[] {
  return blocks(new Reader(bufferOf(body)), ['ResourceLogs', 'ScopeLogs'], logRecord);
}
