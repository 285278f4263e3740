// Signed ack links and the silence form URL.
import test from 'ava';
import { signAckLink, silenceFormUrl, verifyAckLink, verifyAckUrl } from '../src/notify/links.js';

const secret = 'a-signing-key-of-32-bytes-length!';
const now = new Date('2030-01-01T00:00:00Z');
const key = '{}/{severity="critical"}:{alertname="HighLatency", service="checkout"}';

test('ack link: signed, verifies back to the group key, expires, and refuses tampering', (t) => {
  const url = signAckLink(key, { externalURL: 'https://alerts.example.com/', secret, now, ttlMs: 3600_000 });
  t.regex(url, /^https:\/\/alerts\.example\.com\/ack\/[A-Za-z0-9_-]+\?exp=\d+&sig=[0-9a-f]{64}$/);
  const ok = verifyAckUrl(url, secret, now);
  t.deepEqual(ok, { ok: true, groupKey: key, expiresAt: new Date(now.getTime() + 3600_000) });
  t.deepEqual(verifyAckUrl(url, secret, new Date(now.getTime() + 3600_000)), { ok: false, reason: 'expired' });
  t.deepEqual(verifyAckUrl(url, 'another-signing-key-of-32-bytes!!', now), { ok: false, reason: 'bad_signature' });
  const u = new URL(url);
  const exp = u.searchParams.get('exp')!;
  const sig = u.searchParams.get('sig')!;
  const otherKey = Buffer.from('{}:{alertname="Other"}').toString('base64url');
  t.deepEqual(verifyAckLink({ key: otherKey, exp, sig }, secret, now), { ok: false, reason: 'bad_signature' });
  t.deepEqual(verifyAckLink({ key: u.pathname.split('/').pop()!, exp: String(Number(exp) + 3600), sig }, secret, now), { ok: false, reason: 'bad_signature' });
  for (const bad of [{ exp: null, sig }, { exp, sig: 'zz' }, { exp: '-1', sig }, { exp, sig: sig.slice(2) }]) {
    t.deepEqual(verifyAckLink({ key: otherKey, ...bad }, secret, now), { ok: false, reason: 'malformed' });
  }
  t.deepEqual(verifyAckUrl('not a url', secret, now), { ok: false, reason: 'malformed' });
  t.throws(() => signAckLink(key, { externalURL: 'https://x', secret: 'short', now }), { instanceOf: RangeError });
});

test('silence form URL: Alertmanager UI route with the labels as a matcher filter', (t) => {
  const url = silenceFormUrl('https://alerts.example.com', { service: 'check"out', alertname: 'HighLatency' });
  t.is(url.split('?')[0], 'https://alerts.example.com/#/silences/new');
  t.is(decodeURIComponent(url.split('filter=')[1]!), '{alertname="HighLatency",service="check\\"out"}');
});
