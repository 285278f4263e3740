// Label sets and their fingerprints, as Prometheus and Alertmanager compute them, so ids agree with theirs.
export type LabelSet = Record<string, string>;

const SEP = 0xff;
// FNV-1a 64 in two 32-bit halves (offset basis 0xcbf29ce484222325, prime 0x100000001b3 = 2^40 + 0x1b3):
// BigInt arithmetic per byte made this the hottest function of rule evaluation and alert ingestion.
const OFFSET_HI = 0xcbf29ce4;
const OFFSET_LO = 0x84222325;
const PRIME_LO = 0x1b3;
const utf8 = new TextEncoder();

/** Folds one byte into the hash state [hi, lo] (both unsigned 32-bit). */
function step(h: [number, number], byte: number): void {
  const lo = (h[1] ^ byte) >>> 0;
  // (hi·2^32 + lo) · (2^40 + 0x1b3) mod 2^64: lo·0x1b3 (< 2^41, exact), its carry, hi·0x1b3 and lo·2^40's high word
  const low = lo * PRIME_LO;
  const carry = Math.floor(low / 0x100000000);
  h[0] = (h[0] * PRIME_LO + ((lo << 8) >>> 0) + carry) >>> 0;
  h[1] = low >>> 0;
}

function hashString(h: [number, number], s: string): void {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) for (let i = 0; i < s.length; i++) step(h, s.charCodeAt(i));
  else for (const b of utf8.encode(s)) step(h, b);
  step(h, SEP);
}

/**
 * Alertmanager's fingerprint (prometheus/common model.LabelSet.Fingerprint): FNV-1a 64 over the label
 * names in sorted order, each name and value (UTF-8) followed by the 0xff separator. 16 lower-case hex chars.
 */
export function fingerprint(labels: LabelSet): string {
  const names = Object.keys(labels).sort();
  const h: [number, number] = [OFFSET_HI, OFFSET_LO];
  for (const name of names) {
    hashString(h, name);
    hashString(h, labels[name]!);
  }
  return h[0].toString(16).padStart(8, '0') + h[1].toString(16).padStart(8, '0');
}

/** Valid label name (Prometheus): [a-zA-Z_][a-zA-Z0-9_]*. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A copy without empty values: Prometheus treats an empty label as absent. */
export function withoutEmpty(labels: LabelSet): LabelSet {
  const out: LabelSet = {};
  for (const [k, v] of Object.entries(labels)) if (v !== '') out[k] = v;
  return out;
}
