// The probabilistic policy, bit-for-bit as contrib's internal/sampling/probabilistic.go: FNV-1a-64 over the salt
// then the 16 trace id bytes; sampled when the hash ≤ ratio·MaxUint64, the threshold computed the way Go's
// big.Float does it. Same salt and percentage → the same traces kept as a Go collector would keep.

export const DEFAULT_HASH_SALT = 'default-hash-seed';
export const MAX_UINT64 = (1n << 64n) - 1n;

const TWO_32 = 4294967296;
// FNV-64 prime 0x100000001b3 = 2^40 + 0x1b3; offset basis 0xcbf29ce484222325. Kept as two 32-bit halves so the
// per-byte step is plain double arithmetic (every intermediate < 2^53) rather than a BigInt per byte.
const PRIME_LOW = 0x1b3;
const OFFSET_HI = 0xcbf29ce4;
const OFFSET_LO = 0x84222325;

/** A 64-bit hash state as two unsigned 32-bit halves. */
interface Fnv {
  hi: number;
  lo: number;
}

function fnvByte(h: Fnv, byte: number): void {
  const lo = (h.lo ^ byte) >>> 0;
  // (hi·2^32 + lo)·(2^40 + 0x1b3) mod 2^64 = lo·0x1b3 + 2^32·(hi·0x1b3 + lo·2^8) mod 2^64
  const low = lo * PRIME_LOW;
  const carry = Math.floor(low / TWO_32);
  h.lo = low % TWO_32;
  h.hi = (h.hi * PRIME_LOW + lo * 256 + carry) % TWO_32;
}

function hexNibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return 0;
}

/** FNV-1a-64 of arbitrary bytes (exported for the reference vectors). */
export function fnv1a64(bytes: Uint8Array): bigint {
  const h: Fnv = { hi: OFFSET_HI, lo: OFFSET_LO };
  for (const b of bytes) fnvByte(h, b);
  return toBigInt(h);
}

function toBigInt(h: Fnv): bigint {
  return (BigInt(h.hi) << 32n) | BigInt(h.lo);
}

/**
 * ratio·MaxUint64 as Go computes it: big.Float of MaxUint64 (64-bit precision) times the float64 ratio, rounded
 * to 64 significant bits (nearest, ties to even), then truncated to an integer; negative → 0, overflow → MaxUint64.
 */
export function calculateThreshold(ratio: number): bigint {
  if (!(ratio > 0)) return 0n;
  if (ratio >= 1) return MAX_UINT64;
  const { mantissa, exponent } = decompose(ratio);
  const exact = MAX_UINT64 * mantissa; // × 2^exponent
  const rounded = roundToBits(exact, 64);
  return exponent >= 0 ? rounded << BigInt(exponent) : rounded >> BigInt(-exponent);
}

/** A finite positive double as mantissa·2^exponent, both exact. */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  if (biased === 0) return { mantissa: fraction, exponent: -1074 }; // subnormal
  return { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

/** n rounded to `bits` significant bits, nearest with ties to even (big.Float's default mode). */
function roundToBits(n: bigint, bits: number): bigint {
  const shift = n.toString(2).length - bits;
  if (shift <= 0) return n;
  const s = BigInt(shift);
  let q = n >> s;
  const rest = n & ((1n << s) - 1n);
  const half = 1n << (s - 1n);
  if (rest > half || (rest === half && (q & 1n) === 1n)) q += 1n;
  return q << s;
}

/** The hash of a trace id (32 hex chars) under `salt`, exactly as contrib's hashTraceID. */
export function hashTraceId(salt: string, traceIdHex: string): bigint {
  return toBigInt(hashWith(saltState(salt), traceIdHex));
}

function saltState(salt: string): Fnv {
  const h: Fnv = { hi: OFFSET_HI, lo: OFFSET_LO };
  for (const b of new TextEncoder().encode(salt)) fnvByte(h, b);
  return h;
}

function hashWith(prefix: Fnv, traceIdHex: string): Fnv {
  const h: Fnv = { hi: prefix.hi, lo: prefix.lo };
  for (let i = 0; i < 32; i += 2) {
    fnvByte(h, (hexNibble(traceIdHex.charCodeAt(i)) << 4) | hexNibble(traceIdHex.charCodeAt(i + 1)));
  }
  return h;
}

/** Decides trace ids for one (salt, percentage): the salt's hash state and the threshold are computed once. */
export function probabilisticSampler(samplingPercentage: number, hashSalt: string): (traceIdHex: string) => boolean {
  const prefix = saltState(hashSalt === '' ? DEFAULT_HASH_SALT : hashSalt);
  const threshold = calculateThreshold(samplingPercentage / 100);
  const tHi = Number(threshold >> 32n);
  const tLo = Number(threshold & 0xffffffffn);
  return (traceIdHex) => {
    const h = hashWith(prefix, traceIdHex);
    return h.hi < tHi || (h.hi === tHi && h.lo <= tLo);
  };
}
