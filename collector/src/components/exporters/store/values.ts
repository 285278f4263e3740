// Small conversions shared by the store, the Jaeger model and the pages: time units, ids, values as strings.
import type { OtlpValue, ResourceInfo } from '../../../otlp/types.js';

/** ns since the epoch (decimal string) → µs, truncated like Go's time.Duration / 1000. */
export function nsToUs(ns: string): number {
  if (!/^\d+$/.test(ns)) return 0;
  return ns.length <= 3 ? 0 : Number(ns.slice(0, -3));
}

/** (end − start) in µs, exact on the ns strings; never negative (Jaeger's duration is unsigned). */
export function durationUs(startNs: string, endNs: string): number {
  try {
    const d = (BigInt(endNs) - BigInt(startNs)) / 1000n;
    return d > 0n ? Number(d) : 0;
  } catch {
    return 0;
  }
}

/** RFC3339 with nanoseconds and trailing zeros trimmed, UTC: Go's time.RFC3339Nano. */
export function rfc3339Nano(ns: string | bigint): string {
  let n: bigint;
  try {
    n = typeof ns === 'bigint' ? ns : BigInt(ns);
  } catch {
    n = 0n;
  }
  const ms = n / 1_000_000n;
  const base = new Date(Number(ms)).toISOString().slice(0, 19);
  const frac = (n % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${frac ? `.${frac}` : ''}Z`;
}

/** The resource's service.name as Jaeger's memory store reads it ('' when absent or not a string). */
export function serviceOf(resource: ResourceInfo): string {
  const v = resource.attributes['service.name'];
  return typeof v === 'string' ? v : '';
}

/** pcommon.Value.AsString(): how Jaeger compares tag values in search. */
export function valueAsString(v: OtlpValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/**
 * The decoded model keeps an int64 beyond ±(2^53−1) as its decimal string (see otlp/types.ts), so a string of
 * digits outside the safe range but inside int64 is read back as such an integer.
 */
export function isBigInt64String(v: string): boolean {
  if (!/^-?\d{16,19}$/.test(v)) return false;
  const n = BigInt(v);
  return (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) && n <= INT64_MAX && n >= INT64_MIN && String(n) === v;
}

/** Jaeger's trace id text: `%016x` of the low half when the high half is zero, else 32 hex chars. */
export function jaegerTraceId(hex32: string): string {
  const id = hex32.padStart(32, '0');
  return id.startsWith('0000000000000000') ? id.slice(16) : id;
}
