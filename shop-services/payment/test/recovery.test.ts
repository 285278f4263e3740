import { randomUUID } from 'node:crypto';
import test from 'ava';
import { admin, alice, startService, type TestService } from './helpers.js';

/** A payment as a process that died mid-charge leaves it: processing, an attempt in flight, an hour old. */
async function interruptedPayment(s: TestService, providerStatus?: 'succeeded' | 'declined'): Promise<{ paymentId: string; orderId: string; attemptId: string }> {
  const knex = s.svc.db.knex;
  const paymentId = randomUUID();
  const orderId = randomUUID();
  const attemptId = randomUUID();
  const hourAgo = new Date(Date.now() - 3_600_000);
  await knex('payments').insert({ id: paymentId, order_id: orderId, idempotency_key: orderId, user_id: 'alice', amount_cents: 1999, currency: 'USD', status: 'processing', created_at: hourAgo, updated_at: hourAgo });
  await knex('payment_attempts').insert({ id: attemptId, payment_id: paymentId, seq: 1, channel: 'card', amount_cents: 1999, currency: 'USD', created_at: hourAgo });
  if (providerStatus) {
    await knex('sim_provider_transactions').insert({ channel: 'card', reference: attemptId, provider_ref: 'card_before_crash', kind: 'charge', amount_cents: 1999, currency: 'USD', status: providerStatus, created_at: hourAgo });
  }
  return { paymentId, orderId, attemptId };
}

test('a retried request for a charge a crash interrupted is settled from the channel records, never charged again', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card' });
  const charged = await interruptedPayment(s, 'succeeded');
  const retry = await s.pay({ orderId: charged.orderId, amountCents: 1999 }, { key: charged.orderId });
  t.is(retry.status, 201);
  t.like(retry.body, { id: charged.paymentId, status: 'succeeded', channel: 'card' });
  t.is((await s.rows('sim_provider_transactions')).length, 1, 'no second charge');
  t.deepEqual((await s.rows<{ outcome: string }>('payment_attempts')).map((a) => a.outcome), ['success']);
  t.like((await s.events('payment.succeeded'))[0], { key: charged.orderId, data: { paymentId: charged.paymentId } });

  const never = await interruptedPayment(s);
  const retry2 = await s.pay({ orderId: never.orderId, amountCents: 1999 });
  t.like(retry2.body, { id: never.paymentId, status: 'failed' });
  t.regex(retry2.body.failureReason, /interrupted/);
  t.is((await s.events('payment.failed')).length, 1);
});

test('the recovery job settles interrupted payments and releases refunds a crash left reserved', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card' });
  const knex = s.svc.db.knex;
  const declined = await interruptedPayment(s, 'declined');
  const paid = await s.pay({ amountCents: 1000 });
  // a refund reserved, then the process died before the channel answered
  const hourAgo = new Date(Date.now() - 3_600_000);
  await knex('refunds').insert({ id: randomUUID(), payment_id: paid.body.id, channel: 'card', amount_cents: 600, currency: 'USD', reason: 'x', status: 'processing', created_at: hourAgo });
  await knex('payments').where({ id: paid.body.id }).update({ refund_pending_cents: 600 });

  t.deepEqual(await s.svc.recovery.run(), { payments: 1, refunds: 1 });
  t.like((await s.call('GET', `/payments/${declined.paymentId}`, { user: alice })).body, { status: 'failed', channel: 'card', failureReason: 'card: declined' });
  const [row] = await s.rows<{ refund_pending_cents: number; refunded_cents: number }>('payments', { id: paid.body.id });
  t.deepEqual([row!.refund_pending_cents, row!.refunded_cents], [0, 0]);
  // the released amount can be refunded for real now
  t.is((await s.call('POST', `/payments/${paid.body.id}/refunds`, { user: admin, body: { reason: 'again' } })).body.refund.amountCents, 1000);
  t.deepEqual(await s.svc.recovery.run(), { payments: 0, refunds: 0 });
});
