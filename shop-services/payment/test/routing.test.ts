import test from 'ava';
import { admin, alice, startService, type TestService } from './helpers.js';

const TWO = { PAYMENT_CHANNELS: 'card,wallet' };

async function attempts(s: TestService, channel: string): Promise<{ outcome: string }[]> {
  return s.rows<{ outcome: string }>('payment_attempts', { channel });
}

test('an erroring channel fails over to the next, and later payments go to the healthy one first', async (t) => {
  const s = await startService(t, { ...TWO, CHANNEL_CARD_FAILURE_RATE: '1' });
  const first = await s.pay({});
  t.is(first.status, 201);
  t.like(first.body, { status: 'succeeded', channel: 'wallet' });
  t.deepEqual((await attempts(s, 'card')).map((a) => a.outcome), ['error']);

  for (let i = 0; i < 5; i++) t.like((await s.pay({})).body, { status: 'succeeded', channel: 'wallet' });
  t.is((await attempts(s, 'card')).length, 1, 'card was not tried again while its window shows errors');
  t.is((await attempts(s, 'wallet')).length, 6);
  // the provider's books: nothing at card (only the reference its lookup closed), every charge at wallet
  t.deepEqual((await s.rows<{ status: string }>('sim_provider_transactions', { channel: 'card' })).map((r) => r.status), ['voided']);
  t.is((await s.svc.channels.get('card')!.listTransactions(new Date(0))).length, 0);
  t.is((await s.rows('sim_provider_transactions', { channel: 'wallet' })).length, 6);
});

test('a decline does not fail over: the payment fails on the channel that declined', async (t) => {
  const s = await startService(t, { ...TWO, CHANNEL_CARD_DECLINE_RATE: '1' });
  const res = await s.pay({});
  t.is(res.status, 201);
  t.like(res.body, { status: 'failed', channel: 'card' });
  t.regex(res.body.failureReason, /card: declined/);
  t.is((await attempts(s, 'wallet')).length, 0, 'wallet never called');
  const failed = await s.events('payment.failed');
  t.is(failed.length, 1);
  t.like(failed[0]!.data, { orderId: res.body.orderId, channel: 'card' });
  // declines do not count against the channel: it keeps a full availability score
  const channels = await s.call('GET', '/payments/channels', { user: admin });
  const card = channels.body.channels.find((c: { channel: string }) => c.channel === 'card');
  t.like(card, { channel: 'card', state: 'closed', window: { calls: 1, declines: 1, errors: 0, availability: 1 } });
  t.true(card.score > 0.9, `score ${card.score}`);
});

test('routing prefers the faster channel once both have been measured', async (t) => {
  const s = await startService(t, { ...TWO, CHANNEL_CARD_LATENCY_MS: '400', CHANNEL_WALLET_LATENCY_MS: '1', ROUTING_LATENCY_PENALTY_PER_SECOND: '1' });
  t.is((await s.pay({})).body.channel, 'card', 'configured order breaks the first tie');
  // wallet has no calls yet, so it scores the optimistic prior and is measured next
  for (let i = 0; i < 4; i++) t.is((await s.pay({})).body.channel, 'wallet');
  const { body } = await s.call('GET', '/payments/channels', { user: admin });
  const byName = Object.fromEntries(body.channels.map((c: { channel: string }) => [c.channel, c]));
  t.true(byName.card.window.meanLatencyMs > byName.wallet.window.meanLatencyMs);
  t.true(byName.wallet.score > byName.card.score);
  t.is(byName.wallet.rank, 1);
});

test('a timeout is an error: fail over within the deadline', async (t) => {
  const s = await startService(t, { ...TWO, CHANNEL_CARD_LATENCY_MS: '60000', CHANNEL_TIMEOUT_MS: '1500' });
  const res = await s.pay({});
  t.like(res.body, { status: 'succeeded', channel: 'wallet' });
  const [card] = await attempts(s, 'card');
  t.like(card, { outcome: 'error' });
  t.regex((card as unknown as { error: string }).error, /timed out/);
});

test('every channel failing → the payment fails with the reasons, each channel tried once', async (t) => {
  const s = await startService(t, { CHANNEL_CARD_FAILURE_RATE: '1', CHANNEL_WALLET_FAILURE_RATE: '1', CHANNEL_BANK_FAILURE_RATE: '1' });
  const res = await s.pay({});
  t.is(res.status, 201);
  t.is(res.body.status, 'failed');
  t.false('channel' in res.body, 'no channel answered');
  t.regex(res.body.failureReason, /no payment channel answered.*card.*wallet.*bank/);
  t.is((await s.rows('payment_attempts')).length, 3);
  t.is((await s.events('payment.failed')).length, 1);
});

test('the breaker opens after consecutive errors: the channel is skipped without a call, and GET /payments/channels shows it', async (t) => {
  const s = await startService(t, { ...TWO, CHANNEL_CARD_FAILURE_RATE: '1', BREAKER_FAILURE_THRESHOLD: '2', BREAKER_HALF_OPEN_AFTER_MS: '60000' });
  for (let i = 0; i < 2; i++) t.like((await s.pay({ method: 'card' })).body, { status: 'failed' });
  t.is((await attempts(s, 'card')).length, 2);
  const shed = await s.pay({ method: 'card' });
  t.like(shed.body, { status: 'failed' });
  t.regex(shed.body.failureReason, /circuit open/);
  t.is((await attempts(s, 'card')).length, 2, 'no call while open');

  const res = await s.call('GET', '/payments/channels', { user: admin });
  t.is(res.status, 200);
  const card = res.body.channels.find((c: { channel: string }) => c.channel === 'card');
  t.like(card, { state: 'open', rank: 2, window: { calls: 2, errors: 2, availability: 0 } });
  t.like(card.simulation, { failureRate: 1, async: false });
  t.is((await s.call('GET', '/payments/channels', { user: alice })).status, 403);
});

test('fault injection through the admin API changes routing at once', async (t) => {
  const s = await startService(t, TWO);
  t.is((await s.pay({})).body.channel, 'card');
  const put = await s.call('PUT', '/payments/channels/card/simulation', { user: admin, body: { failureRate: 1 } });
  t.is(put.status, 200);
  t.like(put.body, { channel: 'card', simulation: { failureRate: 1 } });
  t.is((await s.pay({})).body.channel, 'wallet');
  const bad = await s.call('PUT', '/payments/channels/card/simulation', { user: admin, body: { failureRate: 0.7, declineRate: 0.7 } });
  t.is(bad.status, 400);
  t.deepEqual(bad.body.error.details.map((d: { path: string }) => d.path), ['body.declineRate']);
  t.is((await s.call('PUT', '/payments/channels/paypal/simulation', { user: admin, body: {} })).status, 400);
  t.is((await s.call('PUT', '/payments/channels/card/simulation', { user: alice, body: { failureRate: 0 } })).status, 403);
});
