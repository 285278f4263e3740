import test from 'ava';
import { admin, alice, startService } from './helpers.js';

test('partial then full refund through the payment channel; payment.refunded carries the running total; nothing left → 409', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card,wallet' });
  const paid = await s.pay({ amountCents: 10_000, method: 'wallet' });
  const partial = await s.call('POST', `/payments/${paid.body.id}/refunds`, { user: admin, body: { amountCents: 2_500, reason: 'one item returned' } });
  t.is(partial.status, 201);
  t.like(partial.body, { refund: { amountCents: 2_500, status: 'succeeded', channel: 'wallet', reason: 'one item returned' }, payment: { refundedCents: 2_500, status: 'succeeded' } });
  const rest = await s.call('POST', `/payments/${paid.body.id}/refunds`, { user: admin, body: { reason: 'order cancelled' } });
  t.is(rest.status, 201);
  t.like(rest.body, { refund: { amountCents: 7_500 }, payment: { refundedCents: 10_000 } });
  const more = await s.call('POST', `/payments/${paid.body.id}/refunds`, { user: admin, body: { amountCents: 1, reason: 'again' } });
  t.is(more.status, 409);
  t.is(more.body.error.code, 'refund_exceeds_paid');
  t.deepEqual(more.body.error.details.map((d: { path: string }) => d.path), ['body.amountCents']);

  const events = await s.events('payment.refunded');
  t.deepEqual(events.map((e) => [e.key, e.data.amountCents, e.data.refundedTotalCents]), [
    [paid.body.orderId, 2_500, 2_500],
    [paid.body.orderId, 7_500, 10_000],
  ]);
  // through the channel that took the money, which now holds two refunds of it
  t.deepEqual((await s.rows<{ kind: string }>('sim_provider_transactions', { channel: 'wallet' })).map((r) => r.kind).sort(), ['charge', 'refund', 'refund']);
  const listed = await s.call('GET', `/payments/${paid.body.id}/refunds`, { user: alice });
  t.is(listed.body.items.length, 2);
});

test('concurrent refunds never add up to more than was paid', async (t) => {
  const s = await startService(t, { CHANNEL_CARD_LATENCY_MS: '30' });
  const paid = await s.pay({ amountCents: 1_000 });
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => s.call('POST', `/payments/${paid.body.id}/refunds`, { user: admin, body: { amountCents: 300, reason: `r${i}` } })));
  const ok = answers.filter((a) => a.status === 201);
  t.is(ok.length, 3, JSON.stringify(answers.map((a) => a.status)));
  t.true(answers.filter((a) => a.status !== 201).every((a) => a.status === 409 && a.body.error.code === 'refund_exceeds_paid'));
  const [row] = await s.rows<{ refunded_cents: number; refund_pending_cents: number }>('payments', { id: paid.body.id });
  t.is(row!.refunded_cents, 900);
  t.is(row!.refund_pending_cents, 0);
  const providerRefunds = await s.rows<{ amount_cents: number; status: string }>('sim_provider_transactions', { kind: 'refund' });
  t.is(providerRefunds.reduce((n, r) => n + r.amount_cents, 0), 900);
  // and a concurrent burst of full refunds: exactly one gets the last 100
  const full = await Promise.all(Array.from({ length: 5 }, () => s.call('POST', `/payments/${paid.body.id}/refunds`, { user: admin, body: { reason: 'rest' } })));
  t.is(full.filter((a) => a.status === 201).length, 1);
  t.is((await s.call('GET', `/payments/${paid.body.id}`, { user: admin })).body.refundedCents, 1_000);
});

test('refunds: admin only; failed or unknown payments refused; Idempotency-Key replays; a channel outage releases the reservation', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card', BREAKER_FAILURE_THRESHOLD: '50' });
  const paid = await s.pay({ amountCents: 5_000 });
  const asCustomer = await s.call('POST', `/payments/${paid.body.id}/refunds`, { user: alice, body: { reason: 'mine' } });
  t.is(asCustomer.status, 403);
  t.is((await s.call('POST', '/payments/00000000-0000-4000-8000-000000000000/refunds', { user: admin, body: { reason: 'x' } })).status, 404);

  const first = await s.call('POST', `/payments/${paid.body.id}/refunds`, { user: admin, body: { amountCents: 1_000, reason: 'x' }, headers: { 'idempotency-key': 'refund-1' } });
  const again = await s.call('POST', `/payments/${paid.body.id}/refunds`, { user: admin, body: { amountCents: 1_000, reason: 'x' }, headers: { 'idempotency-key': 'refund-1' } });
  t.is(again.status, 201);
  t.is(again.headers.get('idempotent-replayed'), 'true');
  t.is(again.body.refund.id, first.body.refund.id);
  t.is(again.body.payment.refundedCents, 1_000);
  const otherAmount = await s.call('POST', `/payments/${paid.body.id}/refunds`, { user: admin, body: { amountCents: 7, reason: 'x' }, headers: { 'idempotency-key': 'refund-1' } });
  t.is(otherAmount.status, 409);

  s.svc.channels.get('card')!.configure({ failureRate: 1 });
  const outage = await s.call('POST', `/payments/${paid.body.id}/refunds`, { user: admin, body: { amountCents: 4_000, reason: 'x' } });
  t.is(outage.status, 502);
  t.is(outage.body.error.code, 'channel_unavailable');
  const [row] = await s.rows<{ refunded_cents: number; refund_pending_cents: number }>('payments', { id: paid.body.id });
  t.deepEqual([row!.refunded_cents, row!.refund_pending_cents], [1_000, 0], 'the failed refund reserved nothing');
  s.svc.channels.get('card')!.configure({ failureRate: 0 });
  t.is((await s.call('POST', `/payments/${paid.body.id}/refunds`, { user: admin, body: { amountCents: 4_000, reason: 'x' } })).status, 201);

  s.svc.channels.get('card')!.configure({ declineRate: 1 });
  const failed = await s.pay({});
  t.is(failed.body.status, 'failed');
  const notRefundable = await s.call('POST', `/payments/${failed.body.id}/refunds`, { user: admin, body: { reason: 'x' } });
  t.is(notRefundable.status, 409);
  t.is(notRefundable.body.error.code, 'payment_not_refundable');
});
