import test from 'ava';
import { ConfigError } from '@lantern/shop-common';
import { signCallback, verifyCallbackSignature } from '../src/callbacks/signature.js';
import type { ChannelTransaction } from '../src/channels/types.js';
import { loadPaymentConfig } from '../src/config.js';
import { compareChannel, type LedgerAttempt } from '../src/reconciliation/compare.js';
import { channelScore, HealthWindow } from '../src/routing/health-window.js';

const SECRET = 'unit-test-callback-secret-0123456789abcdef';

test('signature: round trip, tolerance on both sides, constant-length hex, rotation with two v1 values', (t) => {
  const body = '{"eventId":"evt_1"}';
  const now = 1_800_000_000;
  const opts = { secret: SECRET, toleranceSeconds: 300, nowSeconds: now };
  t.deepEqual(verifyCallbackSignature(signCallback(SECRET, body, now), body, opts), { ok: true });
  t.deepEqual(verifyCallbackSignature(signCallback(SECRET, body, now - 300), body, opts), { ok: true });
  t.deepEqual(verifyCallbackSignature(signCallback(SECRET, body, now - 301), body, opts), { ok: false, reason: 'expired' });
  t.deepEqual(verifyCallbackSignature(signCallback(SECRET, body, now + 301), body, opts), { ok: false, reason: 'expired' });
  t.deepEqual(verifyCallbackSignature(signCallback(SECRET, body, now), `${body} `, opts), { ok: false, reason: 'mismatch' });
  t.deepEqual(verifyCallbackSignature(undefined, body, opts), { ok: false, reason: 'missing' });
  t.deepEqual(verifyCallbackSignature(`t=${now}`, body, opts), { ok: false, reason: 'malformed' });
  t.deepEqual(verifyCallbackSignature(`t=${now},t=${now},v1=${'0'.repeat(64)}`, body, opts), { ok: false, reason: 'malformed' });
  t.deepEqual(verifyCallbackSignature(`t=-1,v1=${'0'.repeat(64)}`, body, opts), { ok: false, reason: 'malformed' });
  // the old secret's value next to the new one (provider rotating): accepted
  const oldSig = signCallback('an-old-secret-that-is-long-enough-0123456789', body, now).split(',')[1];
  const newSig = signCallback(SECRET, body, now).split(',')[1];
  t.deepEqual(verifyCallbackSignature(`t=${now},${oldSig},${newSig}`, body, opts), { ok: true });
  t.deepEqual(verifyCallbackSignature(`t=${now},${oldSig}`, body, opts), { ok: false, reason: 'mismatch' });
  // unicode bodies are signed as their UTF-8 bytes
  const unicode = '{"reason":"déclinée ✓"}';
  t.deepEqual(verifyCallbackSignature(signCallback(SECRET, unicode, now), unicode, opts), { ok: true });
});

test('health window: answered ratio ignores declines, drops old samples and keeps at most maxCalls', (t) => {
  let now = 0;
  const w = new HealthWindow(1_000, 4, () => now);
  t.like(w.stats(), { calls: 0, availability: 1, successRate: null });
  w.record('success', 10);
  w.record('declined', 30);
  w.record('error', 500);
  t.like(w.stats(), { calls: 3, successes: 1, declines: 1, errors: 1, availability: 2 / 3, successRate: 1 / 3, meanLatencyMs: 180, p95LatencyMs: 500 });
  now = 1_500; // all expired
  t.like(w.stats(), { calls: 0 });
  for (let i = 0; i < 6; i++) w.record('error', 1);
  t.is(w.stats().calls, 4);
  // score: optimistic prior, latency penalty
  t.is(channelScore({ calls: 0, successes: 0, declines: 0, errors: 0, availability: 1, successRate: null, meanLatencyMs: null, p95LatencyMs: null }, 0.2), 1);
  t.is(channelScore({ calls: 3, successes: 0, declines: 0, errors: 3, availability: 0, successRate: 0, meanLatencyMs: 0, p95LatencyMs: 0 }, 0.2), 0.25);
  t.true(channelScore({ calls: 9, successes: 9, declines: 0, errors: 0, availability: 1, successRate: 1, meanLatencyMs: 500, p95LatencyMs: 500 }, 0.2) < 1);
});

test('compare: each kind of disagreement, and records still in the grace period left alone', (t) => {
  const to = new Date('2026-01-01T00:10:00Z');
  const at = (min: number) => new Date(to.getTime() - min * 60_000);
  const attempt = (id: string, outcome: LedgerAttempt['outcome'], paymentStatus: LedgerAttempt['paymentStatus'] = 'succeeded'): LedgerAttempt => ({ id, paymentId: `p-${id}`, orderId: `o-${id}`, amountCents: 100, currency: 'USD', outcome, paymentStatus });
  const tx = (reference: string, status: ChannelTransaction['status'], over: Partial<ChannelTransaction> = {}): ChannelTransaction => ({ reference, channelRef: `ch-${reference}`, kind: 'charge', amountCents: 100, currency: 'USD', status, createdAt: at(5), updatedAt: at(5), ...over });
  const mismatches = compareChannel({
    channel: 'card',
    to,
    knownElsewhere: new Set(['old']),
    refunds: [{ id: 'r1', paymentId: 'p-ok', orderId: 'o-ok', amountCents: 50, currency: 'USD', status: 'succeeded' }],
    attempts: [
      attempt('ok', 'success'),
      attempt('gone', 'success'),
      attempt('amount', 'success'),
      attempt('declined-ok', 'declined', 'failed'),
      attempt('declined-charged', 'declined', 'failed'),
      attempt('error-charged', 'error', 'failed'),
      attempt('error-nothing', 'error', 'failed'),
      attempt('pending-lost', 'pending', 'pending'),
      attempt('pending-fresh', 'pending', 'pending'),
    ],
    transactions: [
      tx('ok', 'succeeded'),
      tx('amount', 'succeeded', { amountCents: 90 }),
      tx('declined-ok', 'declined'),
      tx('declined-charged', 'succeeded'),
      tx('error-charged', 'succeeded'),
      tx('pending-lost', 'succeeded'),
      tx('pending-fresh', 'succeeded', { updatedAt: at(-0.1) }),
      tx('r1', 'succeeded', { kind: 'refund', amountCents: 50 }),
      tx('ghost', 'succeeded'),
      tx('old', 'succeeded'),
      tx('too-new', 'succeeded', { createdAt: at(-0.1) }),
    ],
  });
  t.deepEqual(
    mismatches.map((m) => `${m.kind}:${m.reference}`).sort(),
    ['amount_differs:amount', 'missing_in_channel:gone', 'missing_in_ledger:ghost', 'status_differs:declined-charged', 'status_differs:error-charged', 'status_differs:pending-lost'],
  );
});

test('config: every bad key is named, secrets never echoed', (t) => {
  const err = t.throws(() =>
    loadPaymentConfig({ INTERNAL_AUTH_SECRET: 'short-secret-value', PAYMENT_CHANNELS: 'card,paypal', CHANNEL_CARD_FAILURE_RATE: '1.5', PAYMENT_DEADLINE_MS: 'soon', PAYMENT_CALLBACK_SECRET: 'tiny' }),
  ) as ConfigError;
  t.true(err instanceof ConfigError);
  t.deepEqual(err.issues.map((i) => i.key).sort(), ['CHANNEL_CARD_FAILURE_RATE', 'INTERNAL_AUTH_SECRET', 'PAYMENT_CALLBACK_SECRET', 'PAYMENT_CHANNELS.1', 'PAYMENT_DEADLINE_MS']);
  t.false(err.message.includes('short-secret-value'));
  const config = loadPaymentConfig({ INTERNAL_AUTH_SECRET: 'a-long-enough-internal-secret-0123456789' });
  t.like(config, { PORT: 8085, DB_SCHEMA: 'shop_payment', PAYMENTS_TOPIC: 'payments', PAYMENT_CHANNELS: ['card', 'wallet', 'bank'], CHANNEL_BANK_ASYNC: true });
  t.is(config.PAYMENT_CALLBACK_SECRET.length, 64, 'derived from the internal secret when unset');
  t.throws(() => loadPaymentConfig({ INTERNAL_AUTH_SECRET: 'a-long-enough-internal-secret-0123456789', PAYMENT_CHANNELS: 'card,card' }), { message: /PAYMENT_CHANNELS/ });
});
