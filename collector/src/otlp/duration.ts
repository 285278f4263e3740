// Durations from the decimal nanosecond strings spans carry, without BigInt: runs for every span.

/**
 * end − start of two decimal nanosecond timestamps, in nanoseconds, without BigInt or Number(): each
 * is read as a high part and its last 15 digits (both exact in a double), so the difference is exact
 * for any duration below 2^53 ns (104 days). Negative, unparsable or missing → 0. Runs per span.
 */
export function durationNs(startNs: string, endNs: string): number {
  const s = startNs.length > 15 ? startNs.length - 15 : 0;
  const e = endNs.length > 15 ? endNs.length - 15 : 0;
  const d = (digits(endNs, 0, e) - digits(startNs, 0, s)) * 1e15 + (digits(endNs, e, endNs.length) - digits(startNs, s, startNs.length));
  return d > 0 ? d : 0;
}

/** The decimal number in s[from, to); NaN if a character is not a digit. */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return n;
}
