// The alert fingerprint (model/labels.ts) after its rewrite from per-byte BigInt to 32-bit halves (a hot
// spot of rule evaluation and of alert ingestion in the bench): identical to the straightforward BigInt
// FNV-1a 64 over sorted names and values with 0xff separators, for ASCII, multi-byte UTF-8 and empty input.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { fingerprint, type LabelSet } from '../src/model/labels.js';

function reference(labels: LabelSet): string {
  let h = 0xcbf29ce484222325n;
  const enc = new TextEncoder();
  for (const name of Object.keys(labels).sort()) {
    for (const part of [name, labels[name]!]) {
      for (const b of [...enc.encode(part), 0xff]) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
    }
  }
  return h.toString(16).padStart(16, '0');
}

test('fingerprint equals the BigInt FNV-1a 64 reference', (t) => {
  const cases: LabelSet[] = [
    {},
    { alertname: 'A' },
    { alertname: 'HighLatency', service: 'checkout', severity: 'critical' },
    { z: '', a: 'x' },
    { alertname: 'Ünïcødé', team: '支付', emoji: '🔥 on fire', nul: '\u0000\u007f\u0080' },
  ];
  for (let i = 0; i < 500; i++) {
    const l: LabelSet = {};
    for (let j = 0; j < (i % 7) + 1; j++) l[`l${randomBytes(2).toString('hex')}`] = i % 3 === 0 ? randomBytes(12).toString('latin1') : randomBytes(9).toString('base64');
    cases.push(l);
  }
  for (const c of cases) t.is(fingerprint(c), reference(c), JSON.stringify(c));
  t.is(fingerprint({}), 'cbf29ce484222325');
  t.regex(fingerprint({ a: 'b' }), /^[0-9a-f]{16}$/);
});
