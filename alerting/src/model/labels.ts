// Label sets and their fingerprints, as Prometheus and Alertmanager compute them, so ids agree with theirs.
export type LabelSet = Record<string, string>;

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;
const SEP = 0xff;

/**
 * Alertmanager's fingerprint (prometheus/common model.LabelSet.Fingerprint): FNV-1a 64 over the label
 * names in sorted order, each name and value followed by the 0xff separator. 16 lower-case hex chars.
 */
export function fingerprint(labels: LabelSet): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return 'cbf29ce484222325';
  let h = FNV_OFFSET;
  const enc = new TextEncoder();
  for (const name of names) {
    for (const part of [name, labels[name]!]) {
      for (const b of enc.encode(part)) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK;
      h = ((h ^ BigInt(SEP)) * FNV_PRIME) & MASK;
    }
  }
  return h.toString(16).padStart(16, '0');
}

/** Valid label name (Prometheus): [a-zA-Z_][a-zA-Z0-9_]*. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A copy without empty values: Prometheus treats an empty label as absent. */
export function withoutEmpty(labels: LabelSet): LabelSet {
  const out: LabelSet = {};
  for (const [k, v] of Object.entries(labels)) if (v !== '') out[k] = v;
  return out;
}
