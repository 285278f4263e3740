import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import type { PaymentChannel } from '@lantern/shop-common';
import { failoverLookupsTotal, failoversTotal } from '../src/metrics.js';
import type { AttemptRow, PaymentRow } from '../src/payments/types.js';
import { admin, counterValue, startService, type TestService } from './helpers.js';

// A call that ends without an answer (timeout, dropped connection) may still have charged at its
// channel. Before failing over, the router asks that channel for the attempt's reference.
// Serial: the metric registry is shared by every test of this process.

const TWO = { PAYMENT_CHANNELS: 'card,wallet', CHANNEL_TIMEOUT_MS: '1000', ROUTING_LATENCY_PENALTY_PER_SECOND: '0' };

/** The provider's books of one channel, as reconciliation reads them: charges that moved (or may move) money. */
async function charges(s: TestService, channel: PaymentChannel): Promise<{ reference: string; status: string; channelRef: string }[]> {
  return (await s.svc.channels.get(channel)!.listTransactions(new Date(0))).filter((r) => r.kind === 'charge');
}

async function attemptsOf(s: TestService, paymentId: string): Promise<AttemptRow[]> {
  return s.svc.db.knex<AttemptRow>('payment_attempts').where({ payment_id: paymentId }).orderBy('seq');
}

async function lookups(channel: string, outcome: string): Promise<number> {
  return counterValue(failoverLookupsTotal, { channel, outcome });
}

/** Ledger and provider books agree: a reconciliation run over them finds nothing. */
async function reconciles(t: { like(actual: unknown, selector: Record<string, unknown>, message?: string): void }, s: TestService): Promise<void> {
  const run = await s.call('POST', '/payments/reconciliation/run', { user: admin });
  t.like(run.body.totals, { mismatches: 0 }, JSON.stringify(run.body.mismatches));
}

test.serial('(1) a charge that completes after our timeout: the lookup finds it, no second charge at another channel', async (t) => {
  const s = await startService(t, TWO);
  // card charges at once but answers 3 s later, after our 1 s timeout (set through the admin route)
  const put = await s.call('PUT', '/payments/channels/card/simulation', { user: admin, body: { lateAnswerMs: 3000 } });
  t.is(put.status, 200);
  t.like(put.body.simulation, { lateAnswerMs: 3000, lookupFailureRate: 0 });
  const before = { found: await lookups('card', 'succeeded'), failovers: await counterValue(failoversTotal, { channel: 'card' }) };

  const res = await s.pay({});
  t.is(res.status, 201);
  t.like(res.body, { status: 'succeeded', channel: 'card' });
  t.is((await charges(s, 'wallet')).length, 0, 'wallet never charged');
  const card = await charges(s, 'card');
  t.is(card.length, 1, 'charged once');

  // the ledger holds the channel's answer, found by the lookup
  const attempts = await attemptsOf(s, res.body.id);
  t.deepEqual(attempts.map((a) => [a.channel, a.outcome, a.channel_ref]), [['card', 'success', card[0]!.channelRef]]);
  t.is(card[0]!.reference, attempts[0]!.id);
  const [payment] = await s.rows<PaymentRow>('payments', { id: res.body.id });
  t.like(payment, { status: 'succeeded', channel: 'card', channel_ref: card[0]!.channelRef });
  t.is((await s.events('payment.succeeded')).length, 1);
  t.is((await s.events('payment.failed')).length, 0);
  t.is(await lookups('card', 'succeeded'), before.found + 1);
  t.is(await counterValue(failoversTotal, { channel: 'card' }), before.failovers, 'no failover');
  await reconciles(t, s);
});

test.serial('(2) a timeout with no charge at the channel: failover charges the next channel once, and the late card charge is refused', async (t) => {
  // card keeps working on the charge for 2.5 s after our 1 s timeout (its provider does not hear our client hang up)
  const s = await startService(t, { ...TWO, CHANNEL_CARD_LATENCY_MS: '2500', CHANNEL_CARD_JITTER_MS: '0', CHANNEL_CARD_LATE_ANSWER_MS: '1' });
  const before = { none: await lookups('card', 'none'), failovers: await counterValue(failoversTotal, { channel: 'card' }) };

  const started = Date.now();
  const res = await s.pay({});
  t.is(res.status, 201);
  t.like(res.body, { status: 'succeeded', channel: 'wallet' });
  // let card's slow charge reach its books (2.5 s after it began): the lookup closed the reference
  await sleep(Math.max(0, started + 3500 - Date.now()));

  t.is((await charges(s, 'wallet')).length, 1);
  t.deepEqual(await charges(s, 'card'), [], 'card never charged the reference it reported unknown');
  const attempts = await attemptsOf(s, res.body.id);
  t.deepEqual(attempts.map((a) => [a.channel, a.outcome]), [['card', 'error'], ['wallet', 'success']]);
  t.regex(attempts[0]!.error ?? '', /timed out/);
  t.is(await lookups('card', 'none'), before.none + 1);
  t.is(await counterValue(failoversTotal, { channel: 'card' }), before.failovers + 1);
  t.is((await s.events('payment.succeeded')).length, 1);
  await reconciles(t, s);
});

test.serial('(3) the lookup fails: no failover, the payment stays undecided (pending), then recovery settles it from the channel', async (t) => {
  const s = await startService(t, {
    ...TWO,
    CHANNEL_CARD_LATE_ANSWER_MS: '3000',
    CHANNEL_CARD_LOOKUP_FAILURE_RATE: '1',
    // stale (recoverable) 2 s after it began
    PAYMENT_DEADLINE_MS: '2000',
    RECOVERY_MARGIN_MS: '0',
  });
  const before = { errors: await lookups('card', 'error'), failovers: await counterValue(failoversTotal, { channel: 'card' }) };

  const res = await s.pay({});
  t.is(res.status, 201);
  t.is(res.body.status, 'pending', 'what the service answers for a charge not decided yet');
  t.false('channel' in res.body);
  t.is((await charges(s, 'wallet')).length, 0, 'no failover while the outcome is unknown');
  t.is((await charges(s, 'card')).length, 1, 'card did charge');
  // exactly what a crash mid-charge leaves: the payment processing, its attempt in flight, no event
  t.like((await s.rows<PaymentRow>('payments', { id: res.body.id }))[0], { status: 'processing', channel: null });
  const [attempt] = await attemptsOf(s, res.body.id);
  t.like(attempt, { channel: 'card', outcome: 'in_flight', finished_at: null });
  t.regex(attempt!.error ?? '', /timed out.*lookup failed/);
  t.is((await s.events()).length, 0);
  t.is(await lookups('card', 'error'), before.errors + 1);
  t.is(await counterValue(failoversTotal, { channel: 'card' }), before.failovers);

  // card's lookups work again; once the charge is stale, recovery reads card's records
  t.is((await s.call('PUT', '/payments/channels/card/simulation', { user: admin, body: { lookupFailureRate: 0 } })).status, 200);
  await sleep(Math.max(0, Date.parse(res.body.createdAt) + 2100 - Date.now()));
  t.deepEqual(await s.svc.recovery.run(), { payments: 1, refunds: 0 });
  const after = await s.call('GET', `/payments/${res.body.id}`, { user: admin });
  t.like(after.body, { status: 'succeeded', channel: 'card' });
  t.like((await attemptsOf(s, res.body.id))[0], { outcome: 'success', channel_ref: (await charges(s, 'card'))[0]!.channelRef });
  const succeeded = await s.events('payment.succeeded');
  t.is(succeeded.length, 1);
  t.like(succeeded[0], { key: res.body.orderId, data: { paymentId: res.body.id, channel: 'card' } });
  t.is((await charges(s, 'wallet')).length + (await charges(s, 'card')).length, 1, 'charged once in all');
  await reconciles(t, s);
});

test.serial('(3b) the lookup fails and the channel never charged: recovery fails the payment, and the channel can no longer charge it', async (t) => {
  const s = await startService(t, {
    ...TWO,
    CHANNEL_CARD_LATENCY_MS: '60000',
    CHANNEL_CARD_LOOKUP_FAILURE_RATE: '1',
    PAYMENT_DEADLINE_MS: '2000',
    RECOVERY_MARGIN_MS: '0',
  });
  const res = await s.pay({});
  t.like(res.body, { status: 'pending' });
  t.is((await charges(s, 'wallet')).length, 0);
  s.svc.channels.get('card')!.configure({ lookupFailureRate: 0 });
  await sleep(Math.max(0, Date.parse(res.body.createdAt) + 2100 - Date.now()));
  t.deepEqual(await s.svc.recovery.run(), { payments: 1, refunds: 0 });
  const after = await s.call('GET', `/payments/${res.body.id}`, { user: admin });
  t.like(after.body, { status: 'failed' });
  t.regex(after.body.failureReason, /interrupted/);
  t.is((await s.events('payment.failed')).length, 1);
  // recovery's lookup closed the reference too: a charge arriving now is refused, nothing recorded
  const [attempt] = await attemptsOf(s, res.body.id);
  const card = s.svc.channels.get('card')!;
  card.configure({ latencyMs: 0, jitterMs: 0 });
  await t.throwsAsync(card.charge({ reference: attempt!.id, paymentId: res.body.id, amountCents: 1999, currency: 'USD', signal: new AbortController().signal }));
  t.deepEqual(await charges(s, 'card'), []);
});

test.serial('the simulated lookup: a recorded charge is its answer; an unknown reference is closed for good', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card,bank', CHANNEL_BANK_SETTLE_DELAY_MS: '600000' });
  const card = s.svc.channels.get('card')!;
  const signal = new AbortController().signal;
  const charge = (reference: string) => card.charge({ reference, paymentId: randomUUID(), amountCents: 500, currency: 'USD', signal });

  const paid = randomUUID();
  const answer = await charge(paid);
  t.deepEqual(await card.lookup({ reference: paid, signal }), answer);
  const pending = randomUUID();
  const bank = s.svc.channels.get('bank')!;
  const bankAnswer = await bank.charge({ reference: pending, paymentId: randomUUID(), amountCents: 500, currency: 'USD', signal });
  t.is(bankAnswer.status, 'pending');
  t.deepEqual(await bank.lookup({ reference: pending, signal }), bankAnswer);
  card.configure({ declineRate: 1 });
  const declined = randomUUID();
  t.like(await charge(declined), { status: 'declined' });
  t.like(await card.lookup({ reference: declined, signal }), { status: 'declined', reason: 'declined by issuer' });

  const unknown = randomUUID();
  t.is(await card.lookup({ reference: unknown, signal }), undefined);
  t.is(await card.lookup({ reference: unknown, signal }), undefined, 'asked again: still no charge');
  card.configure({ declineRate: 0 });
  await t.throwsAsync(charge(unknown), { message: /closed/ });
  t.is(await card.lookup({ reference: unknown, signal }), undefined);
  t.deepEqual((await charges(s, 'card')).map((c) => c.reference).sort(), [paid, declined].sort(), 'the closed reference is no transaction');

  card.configure({ lookupFailureRate: 1 });
  await t.throwsAsync(card.lookup({ reference: paid, signal }));
  t.like(card.settings, { lookupFailureRate: 1, lateAnswerMs: 0 });
});
