import { randomUUID } from 'node:crypto';
import test from 'ava';
import { reconciliationMismatchesTotal } from '../src/metrics.js';
import { admin, alice, counterValue, startService } from './helpers.js';

test('a clean ledger reconciles with no mismatches', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card,wallet' });
  for (let i = 0; i < 3; i++) await s.pay({});
  const paid = await s.pay({ method: 'wallet', amountCents: 800 });
  await s.call('POST', `/payments/${paid.body.id}/refunds`, { user: admin, body: { amountCents: 300, reason: 'x' } });
  const run = await s.call('POST', '/payments/reconciliation/run', { user: admin });
  t.is(run.status, 200);
  t.like(run.body.totals, { ledgerRecords: 5, channelRecords: 5, mismatches: 0, newMismatches: 0 });
  t.deepEqual(run.body.channels.map((c: { channel: string; mismatches: number }) => [c.channel, c.mismatches]), [['card', 0], ['wallet', 0]]);
  t.is((await s.rows('reconciliation_runs')).length, 1);
});

test('injected mismatches are found, counted, announced once as events, and still reported by later runs', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card' });
  const knex = s.svc.db.knex;
  const a = await s.pay({ amountCents: 1_000 });
  const b = await s.pay({ amountCents: 2_000 });
  const c = await s.pay({ amountCents: 3_000 });
  await s.pay({ amountCents: 4_000 }); // stays consistent
  const ref = async (paymentId: string) => (await s.rows<{ id: string }>('payment_attempts', { payment_id: paymentId }))[0]!.id;

  // the provider's books disagree with ours in each way
  await knex('sim_provider_transactions').where({ reference: await ref(a.body.id) }).update({ amount_cents: 999 });
  await knex('sim_provider_transactions').where({ reference: await ref(b.body.id) }).delete();
  await knex('sim_provider_transactions').where({ reference: await ref(c.body.id) }).update({ status: 'declined' });
  const stranger = randomUUID();
  await knex('sim_provider_transactions').insert({ channel: 'card', reference: stranger, provider_ref: 'card_ghost', kind: 'charge', amount_cents: 555, currency: 'USD', status: 'succeeded' });

  const before = await counterValue(reconciliationMismatchesTotal, { channel: 'card', kind: 'amount_differs' });
  const run = await s.call('POST', '/payments/reconciliation/run', { user: admin });
  t.is(run.status, 200);
  t.like(run.body.totals, { mismatches: 4, newMismatches: 4 });
  const found = Object.fromEntries(run.body.mismatches.map((m: { kind: string; paymentId?: string; reference: string }) => [m.kind, m]));
  t.like(found.amount_differs, { channel: 'card', paymentId: a.body.id, new: true });
  t.like(found.missing_in_channel, { channel: 'card', paymentId: b.body.id });
  t.like(found.status_differs, { channel: 'card', paymentId: c.body.id });
  t.like(found.missing_in_ledger, { channel: 'card', reference: stranger, channelRef: 'card_ghost' });
  t.is(await counterValue(reconciliationMismatchesTotal, { channel: 'card', kind: 'amount_differs' }), before + 1);

  const events = await s.events('payment.reconciliation_mismatch');
  t.is(events.length, 4);
  const amountEvent = events.find((e) => e.data.kind === 'amount_differs')!;
  t.is(amountEvent.key, a.body.orderId, 'keyed by order id');
  t.like(amountEvent.data, { channel: 'card', paymentId: a.body.id });
  t.regex(String(amountEvent.data.detail), /1000 USD.*999 USD/);

  // the next run sees them again but does not announce them twice
  const again = await s.call('POST', '/payments/reconciliation/run', { user: admin });
  t.like(again.body.totals, { mismatches: 4, newMismatches: 0 });
  t.is((await s.events('payment.reconciliation_mismatch')).length, 4);
  t.is(await counterValue(reconciliationMismatchesTotal, { channel: 'card', kind: 'amount_differs' }), before + 1);
});

test('a charge the channel made while our call failed is a status mismatch; a lost bank callback too', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card,bank', CHANNEL_BANK_SETTLE_DELAY_MS: '600000' });
  const knex = s.svc.db.knex;
  // our side saw an error (e.g. a timeout) but the provider charged
  s.svc.channels.get('card')!.configure({ failureRate: 1 });
  const failedOver = await s.pay({});
  t.is(failedOver.body.channel, 'bank');
  const [cardAttempt] = await s.rows<{ id: string }>('payment_attempts', { channel: 'card' });
  // (the simulated card keeps that promise: its lookup closed the reference; a provider breaking it is injected)
  await knex('sim_provider_transactions').where({ channel: 'card', reference: cardAttempt!.id, status: 'voided' }).delete();
  await knex('sim_provider_transactions').insert({ channel: 'card', reference: cardAttempt!.id, provider_ref: 'card_late', kind: 'charge', amount_cents: 1999, currency: 'USD', status: 'succeeded' });
  // the bank settled the pending charge but its callback never arrived
  await knex('sim_provider_transactions').where({ channel: 'bank' }).update({ status: 'succeeded' });

  const run = await s.call('POST', '/payments/reconciliation/run', { user: admin, body: { windowMinutes: 5 } });
  const kinds = run.body.mismatches.map((m: { channel: string; kind: string }) => `${m.channel}:${m.kind}`).sort();
  t.deepEqual(kinds, ['bank:status_differs', 'card:status_differs']);
  t.true(run.body.mismatches.every((m: { paymentId: string }) => m.paymentId === failedOver.body.id));
});

test('reconciliation is admin only; bad window → 400 naming the field', async (t) => {
  const s = await startService(t);
  t.is((await s.call('POST', '/payments/reconciliation/run', { user: alice })).status, 403);
  const bad = await s.call('POST', '/payments/reconciliation/run', { user: admin, body: { windowMinutes: 0 } });
  t.is(bad.status, 400);
  t.deepEqual(bad.body.error.details.map((d: { path: string }) => d.path), ['body.windowMinutes']);
});
