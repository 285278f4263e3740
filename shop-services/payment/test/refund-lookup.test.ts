import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { refundLookupsTotal } from '../src/metrics.js';
import type { PaymentRow, RefundRow } from '../src/payments/types.js';
import { admin, counterValue, startService, type Call, type TestService } from './helpers.js';

// A refund call that ends without an answer (timeout, error) may still have refunded at the channel
// (providers finish after the client gave up). Before releasing the reservation, the service asks the
// channel for the refund's reference, as the router does for a charge before failing over.
// Serial: the metric registry is shared by every test of this process.

const CARD = {
  PAYMENT_CHANNELS: 'card',
  CHANNEL_TIMEOUT_MS: '1000',
  CHANNEL_LOOKUP_TIMEOUT_MS: '1000',
  BREAKER_FAILURE_THRESHOLD: '50',
  // a refund left in progress is stale (recoverable) 2 s after it began: call + lookup + no margin
  RECOVERY_MARGIN_MS: '0',
};

/** The card provider's refunds, as reconciliation reads its books (references it closed are not transactions). */
async function providerRefunds(s: TestService): Promise<{ reference: string; status: string; channelRef: string; amountCents: number }[]> {
  return (await s.svc.channels.get('card')!.listTransactions(new Date(0))).filter((r) => r.kind === 'refund');
}

async function paymentRow(s: TestService, id: string): Promise<PaymentRow> {
  return (await s.rows<PaymentRow>('payments', { id }))[0]!;
}

async function refundRow(s: TestService, id: string): Promise<RefundRow> {
  return (await s.rows<RefundRow>('refunds', { id }))[0]!;
}

function refund(s: TestService, paymentId: string, body: { amountCents?: number; reason?: string } = {}, key?: string): Promise<Call> {
  return s.call('POST', `/payments/${paymentId}/refunds`, { user: admin, body: { reason: 'returned', ...body }, ...(key ? { headers: { 'idempotency-key': key } } : {}) });
}

async function simulate(t: { is(a: unknown, b: unknown): void }, s: TestService, body: Record<string, number>): Promise<void> {
  t.is((await s.call('PUT', '/payments/channels/card/simulation', { user: admin, body })).status, 200);
}

async function lookups(outcome: string): Promise<number> {
  return counterValue(refundLookupsTotal, { channel: 'card', outcome });
}

/** Ledger and provider books agree: a reconciliation run over them finds nothing. */
async function reconciles(t: { like(actual: unknown, selector: Record<string, unknown>, message?: string): void }, s: TestService): Promise<void> {
  const run = await s.call('POST', '/payments/reconciliation/run', { user: admin });
  t.like(run.body.totals, { mismatches: 0 }, JSON.stringify(run.body.mismatches));
}

test.serial('(1) a refund the channel completed but answered after our timeout: recorded succeeded once, and a retry refunds nothing more', async (t) => {
  const s = await startService(t, CARD);
  const paid = await s.pay({ amountCents: 5_000 });
  t.is(paid.body.status, 'succeeded');
  // card refunds at once but answers 3 s later, after our 1 s timeout
  await simulate(t, s, { lateAnswerMs: 3000 });
  const found = await lookups('succeeded');

  const res = await refund(s, paid.body.id, {}, 'late-refund');
  t.is(res.status, 201, JSON.stringify(res.body));
  t.like(res.body, { refund: { amountCents: 5_000, status: 'succeeded', channel: 'card' }, payment: { refundedCents: 5_000 } });
  const books = await providerRefunds(s);
  t.deepEqual(books.map((r) => [r.reference, r.status, r.amountCents]), [[res.body.refund.id, 'succeeded', 5_000]], 'refunded once, by our reference');
  t.like(await refundRow(s, res.body.refund.id), { status: 'succeeded', channel_ref: books[0]!.channelRef, error: null });
  t.like(await paymentRow(s, paid.body.id), { refunded_cents: 5_000, refund_pending_cents: 0 });
  t.is((await s.events('payment.refunded')).length, 1);
  t.is(await lookups('succeeded'), found + 1);

  // the same request again (same Idempotency-Key): the same refund, nothing more refunded
  const retry = await refund(s, paid.body.id, {}, 'late-refund');
  t.is(retry.status, 201);
  t.is(retry.headers.get('idempotent-replayed'), 'true');
  t.like(retry.body, { refund: { id: res.body.refund.id, status: 'succeeded' }, payment: { refundedCents: 5_000 } });
  // and any new refund finds nothing left
  const more = await refund(s, paid.body.id);
  t.is(more.status, 409);
  t.is(more.body.error.code, 'refund_exceeds_paid');
  t.is((await providerRefunds(s)).length, 1);
  t.is((await s.events('payment.refunded')).length, 1);
  await reconciles(t, s);
});

test.serial('(2) a timeout with nothing refunded: 502, the amount is refundable again, and the refund can no longer land at the channel', async (t) => {
  const s = await startService(t, CARD);
  const paid = await s.pay({ amountCents: 5_000 });
  // card works on the refund for 2.5 s, on after our 1 s timeout (its provider does not hear our client hang up)
  await simulate(t, s, { latencyMs: 2500, jitterMs: 0, lateAnswerMs: 1 });
  const none = await lookups('none');

  const started = Date.now();
  const res = await refund(s, paid.body.id, { amountCents: 3_000 });
  t.is(res.status, 502);
  t.like(res.body.error, { code: 'channel_unavailable' });
  t.regex(res.body.error.message, /nothing was refunded/);
  t.is(await lookups('none'), none + 1);
  const [failed] = await s.rows<RefundRow>('refunds', { payment_id: paid.body.id });
  t.like(failed, { status: 'failed', amount_cents: 3_000 });
  t.regex(failed!.error ?? '', /timed out/);
  t.like(await paymentRow(s, paid.body.id), { refunded_cents: 0, refund_pending_cents: 0 });

  // the provider's refund reaches its books 2.5 s after it began: the lookup closed the reference
  await sleep(Math.max(0, started + 3000 - Date.now()));
  t.deepEqual(await providerRefunds(s), [], 'the late refund was refused');
  // and a refund by that reference sent now is refused as well
  const card = s.svc.channels.get('card')!;
  card.configure({ latencyMs: 2, lateAnswerMs: 0 });
  await t.throwsAsync(card.refund({ reference: failed!.id, chargeRef: (await paymentRow(s, paid.body.id)).channel_ref!, amountCents: 3_000, currency: 'USD', signal: new AbortController().signal }), { message: /closed by a lookup/ });
  t.deepEqual(await providerRefunds(s), []);
  t.is((await s.events('payment.refunded')).length, 0);

  // the whole amount is refundable again, once
  const again = await refund(s, paid.body.id);
  t.is(again.status, 201);
  t.like(again.body, { refund: { amountCents: 5_000, status: 'succeeded' }, payment: { refundedCents: 5_000 } });
  t.deepEqual((await providerRefunds(s)).map((r) => r.amountCents), [5_000]);
  await reconciles(t, s);
});

test.serial('(3) the lookup fails too: the refund stays undecided with its amount reserved, then recovery settles it from the channel', async (t) => {
  const s = await startService(t, CARD);
  const paid = await s.pay({ amountCents: 5_000 });
  // card refunds but answers after our timeout, and cannot be asked
  await simulate(t, s, { lateAnswerMs: 3000, lookupFailureRate: 1 });
  const errors = await lookups('error');

  const res = await refund(s, paid.body.id, {}, 'undecided');
  t.is(res.status, 201, JSON.stringify(res.body));
  t.like(res.body, { refund: { amountCents: 5_000, status: 'processing' }, payment: { refundedCents: 0, status: 'succeeded' } });
  t.false('failureReason' in res.body.refund);
  t.is(await lookups('error'), errors + 1);
  t.is((await providerRefunds(s)).length, 1, 'card did refund');
  // what a crash mid-call leaves: processing, the amount still reserved, no event
  t.like(await refundRow(s, res.body.refund.id), { status: 'processing', finished_at: null });
  t.like(await paymentRow(s, paid.body.id), { refunded_cents: 0, refund_pending_cents: 5_000 });
  t.is((await s.events('payment.refunded')).length, 0);

  // nothing can over-refund meanwhile: a second full refund is refused, the same request replays it
  const second = await refund(s, paid.body.id, { amountCents: 5_000 });
  t.is(second.status, 409);
  t.is(second.body.error.code, 'refund_exceeds_paid');
  const replay = await refund(s, paid.body.id, {}, 'undecided');
  t.is(replay.status, 201);
  t.like(replay.body, { refund: { id: res.body.refund.id, status: 'processing' } });
  t.like((await s.call('GET', `/payments/${paid.body.id}/refunds`, { user: admin })).body, { items: [{ id: res.body.refund.id, status: 'processing' }] });

  // once stale: recovery cannot tell while lookups fail (the refund stays reserved), then can
  await sleep(Math.max(0, Date.parse(res.body.refund.createdAt) + 2100 - Date.now()));
  await t.throwsAsync(s.svc.recovery.run(), { message: /lookup unavailable/ });
  t.like(await paymentRow(s, paid.body.id), { refunded_cents: 0, refund_pending_cents: 5_000 });
  await simulate(t, s, { lookupFailureRate: 0 });
  t.deepEqual(await s.svc.recovery.run(), { payments: 0, refunds: 1 });

  const [book] = await providerRefunds(s);
  t.like(await refundRow(s, res.body.refund.id), { status: 'succeeded', channel_ref: book!.channelRef });
  t.like(await paymentRow(s, paid.body.id), { refunded_cents: 5_000, refund_pending_cents: 0 });
  const refunded = await s.events('payment.refunded');
  t.is(refunded.length, 1);
  t.like(refunded[0], { key: paid.body.orderId, data: { refundId: res.body.refund.id, amountCents: 5_000, refundedTotalCents: 5_000 } });
  t.is((await providerRefunds(s)).length, 1, 'refunded once in all');
  t.deepEqual(await s.svc.recovery.run(), { payments: 0, refunds: 0 });
  await reconciles(t, s);
});

test.serial('(3b) the lookup fails and the channel had not refunded: recovery releases the amount, and the late refund is refused', async (t) => {
  const s = await startService(t, CARD);
  const paid = await s.pay({ amountCents: 5_000 });
  // card works on the refund for 5 s after our 1 s timeout; its lookups fail
  await simulate(t, s, { latencyMs: 5000, jitterMs: 0, lateAnswerMs: 1, lookupFailureRate: 1 });
  const started = Date.now();
  const res = await refund(s, paid.body.id);
  t.like(res.body, { refund: { status: 'processing' } });
  t.like(await paymentRow(s, paid.body.id), { refund_pending_cents: 5_000 });

  await simulate(t, s, { lookupFailureRate: 0 });
  await sleep(Math.max(0, Date.parse(res.body.refund.createdAt) + 2100 - Date.now()));
  t.deepEqual(await s.svc.recovery.run(), { payments: 0, refunds: 1 });
  const settled = await refundRow(s, res.body.refund.id);
  t.like(settled, { status: 'failed' });
  t.regex(settled.error ?? '', /no record/);
  t.like(await paymentRow(s, paid.body.id), { refunded_cents: 0, refund_pending_cents: 0 });

  // the provider's refund reaches its books 5 s after it began: recovery's lookup closed the reference
  await sleep(Math.max(0, started + 5500 - Date.now()));
  t.deepEqual(await providerRefunds(s), []);
  await simulate(t, s, { latencyMs: 2, lateAnswerMs: 0 });
  const again = await refund(s, paid.body.id);
  t.like(again.body, { refund: { amountCents: 5_000, status: 'succeeded' }, payment: { refundedCents: 5_000 } });
  t.is((await providerRefunds(s)).length, 1);
  await reconciles(t, s);
});

test.serial('the simulated refund lookup: a recorded refund is its answer; an unknown reference is closed for good', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card' });
  const card = s.svc.channels.get('card')!;
  const signal = new AbortController().signal;
  const charge = await card.charge({ reference: randomUUID(), paymentId: randomUUID(), amountCents: 1_000, currency: 'USD', signal });
  const send = (reference: string, amountCents: number) => card.refund({ reference, chargeRef: charge.channelRef, amountCents, currency: 'USD', signal });

  const done = randomUUID();
  const answer = await send(done, 600);
  t.is(answer.status, 'succeeded');
  t.deepEqual(await card.lookupRefund({ reference: done, signal }), answer);
  const tooMuch = randomUUID();
  t.like(await send(tooMuch, 600), { status: 'rejected' });
  t.like(await card.lookupRefund({ reference: tooMuch, signal }), { status: 'rejected', reason: 'refund exceeds the captured amount' });

  const unknown = randomUUID();
  t.is(await card.lookupRefund({ reference: unknown, signal }), undefined);
  t.is(await card.lookupRefund({ reference: unknown, signal }), undefined, 'asked again: still no refund');
  await t.throwsAsync(send(unknown, 100), { message: /closed/ });
  t.deepEqual((await providerRefunds(s)).map((r) => r.reference).sort(), [done, tooMuch].sort(), 'the closed reference is no transaction');

  card.configure({ lookupFailureRate: 1 });
  await t.throwsAsync(card.lookupRefund({ reference: done, signal }));
});
