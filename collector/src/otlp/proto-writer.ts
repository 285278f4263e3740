// A minimal protobuf writer for the encoder's hot paths (spans, log records). protobufjs builds a list
// of write operations and copies them out at finish(); writing straight into one reused buffer is
// several times faster. A nested message reserves room for its length prefix — one byte, or as many as
// a size hint needs — and its body is shifted only when the real length needs another number of bytes
// (without hints: messages of 128 bytes or more; the encoder hints the big resource and scope blocks,
// which would otherwise be moved whole, megabytes at a time).

const TWO_23 = 8_388_608;
const TWO_32 = 4_294_967_296;
/** Above this, hi·1953125 exceeds 2^53 (values past ~4.6e18, i.e. after the year 2116 as nanoseconds). */
const MAX_FAST_HI = Math.floor(Number.MAX_SAFE_INTEGER / 1_953_125);
const MASK_64 = (1n << 64n) - 1n;

/** Low and high 32 bits of the last longBitsInto() (module state, so the hot path allocates nothing). */
let LOW = 0;
let HIGH = 0;

/** Digits [from, to) of a decimal string as a number (the caller keeps it below 2^53). */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

/** Splits a 64-bit integer given as a decimal string (two's complement if negative) into LOW and HIGH. */
function longBitsInto(decimal: string): void {
  const len = decimal.length;
  if (len <= 15) {
    const n = digits(decimal, 0, len);
    if (n >= 0) {
      LOW = n % TWO_32;
      HIGH = Math.floor(n / TWO_32);
      return;
    }
  } else if (len <= 19) {
    // value = hi·10^9 + lo = (hi·1953125)·2^9 + lo, every product exact in a double (nanosecond times: no BigInt)
    const hi = digits(decimal, 0, len - 9);
    if (hi <= MAX_FAST_HI) {
      const lo = digits(decimal, len - 9, len);
      const x = hi * 1_953_125;
      const a = (x % TWO_23) * 512 + lo;
      if (a >= 0) {
        LOW = a % TWO_32;
        HIGH = Math.floor(x / TWO_23) + Math.floor(a / TWO_32);
        return;
      }
    }
  }
  const b = BigInt(decimal) & MASK_64; // negative, past the fast range, or not plain digits (BigInt throws on junk)
  LOW = Number(b & 0xffff_ffffn);
  HIGH = Number(b >> 32n);
}

/** An unsigned (or two's complement) 64-bit integer given as a decimal string → its low and high 32 bits. */
export function longBits(decimal: string): { low: number; high: number } {
  longBitsInto(decimal);
  return { low: LOW, high: HIGH };
}

/** '0'-'9', 'a'-'f', 'A'-'F' → 0-15; anything else → 16. */
const HEX = new Uint8Array(128).fill(16);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = HEX[65 + i] = 10 + i;

const MIN_SCRATCH = 64 * 1024;
/** A grown scratch buffer is kept up to this size (one encode at a time: encoding is synchronous). */
const MAX_KEPT_SCRATCH = 8 * 1024 * 1024;
let scratch: Buffer = Buffer.allocUnsafe(MIN_SCRATCH);

/** Bytes of a varint of n (n < 2^35). */
export function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : n < 268_435_456 ? 4 : 5;
}

/** From this size on, a message is written into a buffer of its own (sized by the caller's estimate) instead of the scratch buffer. */
const OWN_BUFFER_FROM = 256 * 1024;

export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;
  /** Whether buf is the shared scratch buffer (its content is copied out at finish). */
  private readonly shared: boolean;
  /** Length-prefix bytes reserved by each open fork(), innermost last. */
  private readonly reserved: number[] = [];

  /** `sizeHint`: the expected size of the whole message; a big one gets a buffer of its own, returned without a copy. */
  constructor(sizeHint = 0) {
    this.shared = sizeHint < OWN_BUFFER_FROM;
    this.buf = this.shared ? scratch : Buffer.allocUnsafe(sizeHint);
  }

  /** The encoded message: copied out of the scratch buffer, or its own buffer when nearly all of it is used. */
  finish(): Uint8Array {
    if (!this.shared && this.pos >= this.buf.length - (this.buf.length >>> 4)) return this.buf.subarray(0, this.pos);
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    if (this.shared) scratch = this.buf.length <= MAX_KEPT_SCRATCH ? this.buf : Buffer.allocUnsafe(MIN_SCRATCH);
    return out;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A varint of a value below 2^32. */
  private varint32(v: number): void {
    this.ensure(5);
    const buf = this.buf;
    let pos = this.pos;
    while (v > 127) {
      buf[pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  private varint64(low: number, high: number): void {
    this.ensure(10);
    while (high > 0 || low > 127) {
      this.buf[this.pos++] = (low & 127) | 128;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    this.buf[this.pos++] = low;
  }

  private tag(field: number, wire: number): void {
    this.varint32((field << 3) | wire);
  }

  uint32(field: number, v: number): void {
    this.tag(field, 0);
    this.varint32(v >>> 0);
  }

  bool(field: number, v: boolean): void {
    this.tag(field, 0);
    this.varint32(v ? 1 : 0);
  }

  /** int64 from a safe integer (negative ones take ten bytes, as protobuf wants). */
  int64(field: number, v: number): void {
    this.tag(field, 0);
    if (v >= 0) this.varint64(v % TWO_32, Math.floor(v / TWO_32));
    else {
      const b = BigInt.asUintN(64, BigInt(v));
      this.varint64(Number(b & 0xffff_ffffn), Number(b >> 32n));
    }
  }

  int64Decimal(field: number, v: string): void {
    longBitsInto(v);
    this.tag(field, 0);
    this.varint64(LOW, HIGH);
  }

  fixed32(field: number, v: number): void {
    this.tag(field, 5);
    this.ensure(4);
    this.pos = this.buf.writeUInt32LE(v >>> 0, this.pos);
  }

  fixed64Decimal(field: number, v: string): void {
    longBitsInto(v);
    this.tag(field, 1);
    this.ensure(8);
    const buf = this.buf;
    let pos = this.pos;
    const low = LOW;
    const high = HIGH;
    buf[pos++] = low & 255;
    buf[pos++] = (low >>> 8) & 255;
    buf[pos++] = (low >>> 16) & 255;
    buf[pos++] = low >>> 24;
    buf[pos++] = high & 255;
    buf[pos++] = (high >>> 8) & 255;
    buf[pos++] = (high >>> 16) & 255;
    buf[pos++] = high >>> 24;
    this.pos = pos;
  }

  double(field: number, v: number): void {
    this.tag(field, 1);
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }

  string(field: number, s: string): void {
    this.tag(field, 2);
    const len = s.length;
    if (len < 43) {
      // at most 126 UTF-8 bytes: the length fits one byte; plain ASCII is copied by hand (cheaper than a native call)
      this.ensure(1 + len * 3);
      const buf = this.buf;
      const start = this.pos;
      let pos = start + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 127) break;
        buf[pos++] = c;
      }
      if (i < len) pos = start + 1 + buf.write(s, start + 1, 'utf8');
      buf[start] = pos - start - 1;
      this.pos = pos;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.varint32(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Bytes given as hex (trace and span ids), decoded by hand: cheaper than a native call for 8 or 16 bytes. */
  hexBytes(field: number, hex: string): void {
    const n = hex.length >>> 1;
    if (n > 127) return this.bytes(field, Buffer.from(hex, 'hex'));
    this.tag(field, 2);
    this.ensure(1 + n);
    const buf = this.buf;
    const start = this.pos;
    let pos = start + 1;
    for (let i = 0; i < 2 * n; i += 2) {
      const hi = HEX[hex.charCodeAt(i) & 127]!;
      const lo = HEX[hex.charCodeAt(i + 1) & 127]!;
      if (hi > 15 || lo > 15 || hex.charCodeAt(i) > 127 || hex.charCodeAt(i + 1) > 127) break; // as Buffer.from(hex): stop at junk
      buf[pos++] = (hi << 4) | lo;
    }
    buf[start] = pos - start - 1;
    this.pos = pos;
  }

  /** Bytes already encoded elsewhere (a span forwarded as it arrived), copied as they are. */
  raw(from: Buffer, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    from.copy(this.buf, this.pos, start, end);
    this.pos += n;
  }

  /** Starts an embedded message, reserving room for the length of `sizeHint` bytes; returns what join() needs. */
  fork(field: number, sizeHint = 0): number {
    this.tag(field, 2);
    const room = varintSize(sizeHint);
    this.ensure(room);
    this.reserved.push(room);
    const start = this.pos;
    this.pos += room;
    return start;
  }

  /** Ends the embedded message started at `start`, writing its length (moving the body if the room reserved was not its size). */
  join(start: number): void {
    const room = this.reserved.pop()!;
    const len = this.pos - start - room;
    if (room === 1 && len < 128) {
      this.buf[start] = len;
      return;
    }
    const size = varintSize(len);
    if (size !== room) {
      if (size > room) this.ensure(size - room);
      this.buf.copyWithin(start + size, start + room, this.pos);
    }
    const end = this.pos + size - room;
    this.pos = start;
    this.varint32(len);
    this.pos = end;
  }
}
