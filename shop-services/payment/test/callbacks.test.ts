import { randomUUID } from 'node:crypto';
import test from 'ava';
import { waitFor } from '@lantern/testkit';
import { signCallback } from '../src/callbacks/signature.js';
import { alice, CALLBACK_SECRET, startService, type TestService } from './helpers.js';

const BANK_ONLY = { PAYMENT_CHANNELS: 'bank' };
/** The simulated bank never settles on its own during the test: the test plays the provider. */
const MANUAL_BANK = { ...BANK_ONLY, CHANNEL_BANK_SETTLE_DELAY_MS: '600000' };

async function pendingBankPayment(s: TestService): Promise<{ paymentId: string; orderId: string; reference: string; amountCents: number }> {
  const res = await s.pay({ method: 'bank', amountCents: 2500 });
  if (res.body.status !== 'pending') throw new Error(`expected pending, got ${JSON.stringify(res.body)}`);
  const [attempt] = await s.rows<{ id: string }>('payment_attempts', { payment_id: res.body.id });
  return { paymentId: res.body.id, orderId: res.body.orderId, reference: attempt!.id, amountCents: 2500 };
}

function providerEvent(p: { reference: string; amountCents: number }, over: Record<string, unknown> = {}) {
  return { eventId: `evt_${randomUUID().replaceAll('-', '')}`, type: 'charge.succeeded', reference: p.reference, providerRef: 'bank_abc', amountCents: p.amountCents, currency: 'USD', occurredAt: new Date().toISOString(), ...over };
}

/** Posts a callback the way the gateway forwards it: internal token without a user, raw body bytes, signature header. */
function postCallback(s: TestService, rawBody: string, signature: string | undefined, channel = 'bank') {
  return s.call('POST', `/payments/callbacks/${channel}`, { rawBody, ...(signature !== undefined ? { headers: { 'x-lantern-signature': signature } } : {}) });
}

test('bank settles asynchronously: pending, then a signed callback over loopback HTTP makes it succeeded (once)', async (t) => {
  const s = await startService(t, BANK_ONLY);
  const res = await s.pay({ method: 'bank' });
  t.is(res.status, 201);
  t.like(res.body, { status: 'pending', channel: 'bank' });
  t.is((await s.events()).length, 0, 'no event while pending');
  const settled = await waitFor(async () => {
    const r = await s.call('GET', `/payments/${res.body.id}`, { user: alice });
    return r.body.status !== 'pending' && r.body;
  }, { timeoutMs: 10_000, what: 'the bank callback' });
  t.like(settled, { status: 'succeeded', channel: 'bank' });
  const events = await s.events('payment.succeeded');
  t.is(events.length, 1);
  t.like(events[0], { key: res.body.orderId, data: { paymentId: res.body.id, channel: 'bank' } });
  t.deepEqual((await s.rows<{ outcome: string }>('processed_callbacks')).map((r) => r.outcome), ['applied']);
  t.deepEqual((await s.rows<{ outcome: string }>('payment_attempts')).map((r) => r.outcome), ['success']);
});

test('a bank decline arrives by callback: the payment fails with the reason and payment.failed is published', async (t) => {
  const s = await startService(t, { ...BANK_ONLY, CHANNEL_BANK_DECLINE_RATE: '1' });
  const res = await s.pay({ method: 'bank' });
  t.is(res.body.status, 'pending');
  const settled = await waitFor(async () => {
    const r = await s.call('GET', `/payments/${res.body.id}`, { user: alice });
    return r.body.status !== 'pending' && r.body;
  }, { timeoutMs: 10_000, what: 'the bank callback' });
  t.like(settled, { status: 'failed', channel: 'bank', failureReason: 'bank: declined by bank' });
  t.is((await s.events('payment.failed')).length, 1);
});

test('a correctly signed callback is applied; the same event id again is answered 200 and ignored', async (t) => {
  const s = await startService(t, MANUAL_BANK);
  const p = await pendingBankPayment(s);
  const body = JSON.stringify(providerEvent(p));
  const first = await postCallback(s, body, signCallback(CALLBACK_SECRET, body));
  t.is(first.status, 200);
  t.deepEqual(first.body, { received: true, outcome: 'applied' });
  t.is((await s.call('GET', `/payments/${p.paymentId}`, { user: alice })).body.status, 'succeeded');

  // a replay: byte for byte, and re-signed later (the provider redelivering)
  const replay = await postCallback(s, body, signCallback(CALLBACK_SECRET, body));
  t.is(replay.status, 200);
  t.deepEqual(replay.body, { received: true, outcome: 'replayed' });
  const declineSameId = JSON.stringify({ ...JSON.parse(body), type: 'charge.declined' });
  t.is((await postCallback(s, declineSameId, signCallback(CALLBACK_SECRET, declineSameId))).body.outcome, 'replayed');
  t.is((await s.call('GET', `/payments/${p.paymentId}`, { user: alice })).body.status, 'succeeded');
  t.is((await s.events('payment.succeeded')).length, 1);
  t.is((await s.events('payment.failed')).length, 0);
});

test('bad, missing, malformed, tampered and expired signatures → 401 with one and the same answer', async (t) => {
  const s = await startService(t, MANUAL_BANK);
  const p = await pendingBankPayment(s);
  const body = JSON.stringify(providerEvent(p));
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, string | undefined, string][] = [
    ['wrong secret', signCallback('another-secret-of-sufficient-length-0123456789', body), body],
    ['missing header', undefined, body],
    ['empty header', '', body],
    ['no timestamp', `v1=${'a'.repeat(64)}`, body],
    ['short signature', `t=${now},v1=abc`, body],
    ['not hex', `t=${now},v1=${'z'.repeat(64)}`, body],
    ['tampered body', signCallback(CALLBACK_SECRET, body), body.replace('2500', '1')],
    ['6 minutes old', signCallback(CALLBACK_SECRET, body, now - 360), body],
    ['6 minutes ahead', signCallback(CALLBACK_SECRET, body, now + 360), body],
    ['huge header', `t=${now},${'v1=00,'.repeat(400)}`, body],
  ];
  const answers = new Set<string>();
  for (const [name, signature, raw] of cases) {
    const res = await postCallback(s, raw, signature);
    t.is(res.status, 401, name);
    answers.add(JSON.stringify(res.body.error));
  }
  t.deepEqual([...answers], [JSON.stringify({ code: 'invalid_signature', message: 'invalid callback signature' })], 'no detail leaks which check failed');
  t.is((await s.call('GET', `/payments/${p.paymentId}`, { user: alice })).body.status, 'pending');
  t.is((await s.rows('processed_callbacks')).length, 0);

  // within the tolerance (4 minutes old) it is accepted
  const ok = await postCallback(s, body, signCallback(CALLBACK_SECRET, body, now - 240));
  t.is(ok.status, 200);
});

test('behind the internal token; unknown channel 404; a signed but invalid body 400 naming the field; unknown reference ignored', async (t) => {
  const s = await startService(t, MANUAL_BANK);
  const p = await pendingBankPayment(s);
  const body = JSON.stringify(providerEvent(p));
  const noToken = await s.call('POST', '/payments/callbacks/bank', { caller: null, rawBody: body, headers: { 'x-lantern-signature': signCallback(CALLBACK_SECRET, body) } });
  t.is(noToken.status, 401);
  t.is(noToken.body.error.code, 'service_token_missing');
  t.is((await postCallback(s, body, signCallback(CALLBACK_SECRET, body), 'paypal')).status, 404);

  const badRef = JSON.stringify(providerEvent(p, { reference: 'not-a-uuid', extra: 1 }));
  const invalid = await postCallback(s, badRef, signCallback(CALLBACK_SECRET, badRef));
  t.is(invalid.status, 400);
  t.true(invalid.body.error.details.some((d: { path: string }) => d.path === 'body.reference'));
  t.true(invalid.body.error.details.some((d: { path: string }) => d.path === 'body'), 'unknown key refused');

  const stranger = JSON.stringify(providerEvent({ reference: randomUUID(), amountCents: 2500 }));
  const ignored = await postCallback(s, stranger, signCallback(CALLBACK_SECRET, stranger));
  t.deepEqual(ignored.body, { received: true, outcome: 'ignored' });
  const wrongAmount = JSON.stringify(providerEvent(p, { amountCents: 1 }));
  t.deepEqual((await postCallback(s, wrongAmount, signCallback(CALLBACK_SECRET, wrongAmount))).body, { received: true, outcome: 'ignored' });
  t.is((await s.call('GET', `/payments/${p.paymentId}`, { user: alice })).body.status, 'pending', 'a callback that disagrees with the charge changes nothing');
});
