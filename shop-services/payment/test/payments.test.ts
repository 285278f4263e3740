import { randomUUID } from 'node:crypto';
import test from 'ava';
import { alice, bob, startService } from './helpers.js';

test('a payment is charged, answered 201 with the contract shape, and payment.succeeded is in the outbox keyed by order id', async (t) => {
  const s = await startService(t);
  const orderId = randomUUID();
  const res = await s.pay({ orderId, amountCents: 4250, currency: 'EUR' });
  t.is(res.status, 201);
  t.like(res.body, { orderId, userId: 'alice', status: 'succeeded', channel: 'card', amountCents: 4250, currency: 'EUR', refundedCents: 0 });
  t.regex(res.body.id, /^[0-9a-f-]{36}$/);
  t.is(res.body.failureReason, undefined);

  const events = await s.events('payment.succeeded');
  t.is(events.length, 1);
  t.is(events[0]!.key, orderId);
  t.like(events[0]!.data, { paymentId: res.body.id, orderId, userId: 'alice', email: 'alice@example.com', amountCents: 4250, currency: 'EUR', channel: 'card' });
  const provider = await s.rows('sim_provider_transactions', { channel: 'card' });
  t.is(provider.length, 1);
  t.like(provider[0], { amount_cents: 4250, status: 'succeeded' });
});

test('20 concurrent identical requests → one payment, one charge at the channel, the same answer for all', async (t) => {
  // a slow channel, so the duplicates arrive while the first charge is in flight
  const s = await startService(t, { CHANNEL_CARD_LATENCY_MS: '150' });
  const orderId = randomUUID();
  const answers = await Promise.all(Array.from({ length: 20 }, () => s.pay({ orderId, amountCents: 1500 }, { key: orderId })));
  t.deepEqual(new Set(answers.map((a) => a.status)), new Set([201]));
  t.is(new Set(answers.map((a) => a.body.id)).size, 1);
  t.true(answers.every((a) => a.body.status === 'succeeded'), JSON.stringify(answers.map((a) => a.body.status)));
  t.is(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true').length, 19);

  t.is((await s.rows('payments', { order_id: orderId })).length, 1);
  t.is((await s.rows('payment_attempts')).length, 1);
  t.is((await s.rows('sim_provider_transactions')).length, 1);
  t.is(s.svc.channels.get('card')!.chargeCalls, 1, 'the channel was called once');
  t.is((await s.events('payment.succeeded')).length, 1);

  // a retry much later gets the same payment, still without charging
  const later = await s.pay({ orderId, amountCents: 1500 }, { key: orderId });
  t.is(later.body.id, answers[0]!.body.id);
  t.is((await s.rows('sim_provider_transactions')).length, 1);
});

test('same order or key with another body → 409; a key reused for another order → 409', async (t) => {
  const s = await startService(t);
  const orderId = randomUUID();
  t.is((await s.pay({ orderId, amountCents: 1000 }, { key: 'k-1' })).status, 201);
  const otherAmount = await s.pay({ orderId, amountCents: 1001 }, { key: 'k-1' });
  t.is(otherAmount.status, 409);
  t.is(otherAmount.body.error.code, 'idempotency_conflict');
  t.regex(otherAmount.body.error.message, /amountCents/);
  const otherCurrency = await s.pay({ orderId, amountCents: 1000, currency: 'GBP' });
  t.is(otherCurrency.status, 409);
  const reusedKey = await s.pay({ orderId: randomUUID(), amountCents: 1000 }, { key: 'k-1' });
  t.is(reusedKey.status, 409);
  t.is(reusedKey.body.error.code, 'idempotency_key_reused');
  t.is((await s.rows('sim_provider_transactions')).length, 1);
});

test('only the order service creates payments, and a customer only for themself', async (t) => {
  const s = await startService(t);
  const body = { orderId: randomUUID(), userId: 'alice', amountCents: 100, currency: 'USD' };
  // the gateway forwards end users' requests: POST /api/payments must not charge anything
  const viaGateway = await s.call('POST', '/payments', { caller: 'gateway', user: alice, body });
  t.is(viaGateway.status, 403);
  t.is(viaGateway.body.error.code, 'caller_not_allowed');
  const noToken = await s.call('POST', '/payments', { caller: null, body });
  t.is(noToken.status, 401);
  const forSomeoneElse = await s.call('POST', '/payments', { caller: 'order', user: bob, body });
  t.is(forSomeoneElse.status, 403);
  t.is(forSomeoneElse.body.error.code, 'user_mismatch');
  t.is((await s.rows('payments')).length, 0);
  // the order service acting for no user (e.g. a background job) may pay for the order's user
  t.is((await s.call('POST', '/payments', { caller: 'order', user: null, body })).status, 201);
});

test('a method restricts the channel; a disabled one is a 400 naming body.method', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card,wallet' });
  const wallet = await s.pay({ method: 'wallet' });
  t.is(wallet.status, 201);
  t.like(wallet.body, { channel: 'wallet', method: 'wallet', status: 'succeeded' });
  const bank = await s.pay({ method: 'bank' });
  t.is(bank.status, 400);
  t.deepEqual(bank.body.error.details.map((d: { path: string }) => d.path), ['body.method']);
});
