// Label sets and their fingerprints, as Prometheus and Alertmanager compute them, so ids agree with theirs.
export type LabelSet = Record<string, string>;

const SEP = 0xff;
const utf8 = new TextEncoder();

/**
 * Alertmanager's fingerprint (prometheus/common model.LabelSet.Fingerprint): FNV-1a 64 over the label
 * names in sorted order, each name and value (UTF-8) followed by the 0xff separator. 16 lower-case hex chars.
 * The 64-bit state is four 16-bit limbs, so every step is small-integer arithmetic (no BigInt, no floats):
 * this runs for every alert received and every rule result.
 */
export function fingerprint(labels: LabelSet): string {
  const names = Object.keys(labels).sort();
  // offset basis 0xcbf29ce484222325, low limb first
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let n = 0; n < names.length * 2; n++) {
    const name = names[n >> 1]!;
    const s = n & 1 ? labels[name]! : name;
    let bytes: Uint8Array | undefined;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        bytes = utf8.encode(s);
        break;
      }
    }
    const len = bytes ? bytes.length : s.length;
    for (let i = 0; i <= len; i++) {
      h0 ^= i === len ? SEP : bytes ? bytes[i]! : s.charCodeAt(i);
      // × prime 0x100000001b3 = 2^40 + 0x1b3, mod 2^64: each limb × 0x1b3, plus limbs 0 and 1 shifted by 2^40
      // (8 bits into limbs 2 and 3), carries carried up
      const t0 = h0 * 0x1b3;
      const t1 = h1 * 0x1b3 + (t0 >>> 16);
      const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
      h3 = (h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16)) & 0xffff;
      h0 = t0 & 0xffff;
      h1 = t1 & 0xffff;
      h2 = t2 & 0xffff;
    }
  }
  return (((h3 << 16) | h2) >>> 0).toString(16).padStart(8, '0') + (((h1 << 16) | h0) >>> 0).toString(16).padStart(8, '0');
}

/** Valid label name (Prometheus): [a-zA-Z_][a-zA-Z0-9_]*. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A copy without empty values: Prometheus treats an empty label as absent. */
export function withoutEmpty(labels: LabelSet): LabelSet {
  const out: LabelSet = {};
  for (const [k, v] of Object.entries(labels)) if (v !== '') out[k] = v;
  return out;
}
