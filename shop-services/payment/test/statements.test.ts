import { randomUUID } from 'node:crypto';
import test from 'ava';
import { countStatements } from '@lantern/testkit';
import { chargeLedger } from '../src/db/charge-ledger.js';
import { AttemptLog } from '../src/payments/attempt-log.js';
import type { AttemptRow, PaymentRow } from '../src/payments/types.js';
import { startService, type TestService } from './helpers.js';

// Statement budgets of one POST /payments (knex 'query' events, BEGIN and COMMIT included). Every
// statement is a round trip, a span and a socket write: a higher count here is a regression.

/** The SQL statements the service sends while `fn` runs (shortened, for the failure message). */
async function statements(s: TestService, fn: () => Promise<unknown>): Promise<string[]> {
  return (await countStatements(s.svc.db.knex, fn)).statements.map((sql) => sql.replace(/\s+/g, ' ').slice(0, 120));
}

/** One payment first, so the startup recovery and connection setup are done before counting. */
async function warm(s: TestService): Promise<void> {
  await s.pay({ amountCents: 1 });
}

async function attemptsOf(s: TestService, paymentId: string): Promise<AttemptRow[]> {
  return s.svc.db.knex<AttemptRow>('payment_attempts').where({ payment_id: paymentId }).orderBy('seq');
}

test('a card payment that succeeds: 6 statements (claim + attempt, provider, BEGIN, attempt + payment, outbox, COMMIT); was 8', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card' });
  await warm(s);
  const orderId = randomUUID();
  let res: Awaited<ReturnType<TestService['pay']>> | undefined;
  const sql = await statements(s, async () => (res = await s.pay({ orderId, method: 'card' }, { key: orderId })));
  t.is(sql.length, 6, sql.join('\n'));
  t.like(res!.body, { orderId, status: 'succeeded', channel: 'card' });
  // the attempt's answer went in with the payment's state
  const [attempt] = await attemptsOf(s, res!.body.id);
  t.like(attempt, { seq: 1, channel: 'card', outcome: 'success', error: null });
  t.truthy(attempt!.channel_ref);
  t.not(attempt!.latency_ms, null);
  t.not(attempt!.finished_at, null);
  t.is((await s.events('payment.succeeded')).filter((e) => e.key === orderId).length, 1);
});

test('a declined card payment: 6 statements; was 8', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card', CHANNEL_CARD_DECLINE_RATE: '1' });
  await warm(s);
  let res: Awaited<ReturnType<TestService['pay']>> | undefined;
  const sql = await statements(s, async () => (res = await s.pay({ method: 'card' })));
  t.is(sql.length, 6, sql.join('\n'));
  t.like(res!.body, { status: 'failed', channel: 'card', failureReason: 'card: declined by issuer' });
  t.like((await attemptsOf(s, res!.body.id))[0], { outcome: 'declined' });
  t.is((await s.events('payment.failed')).length, 2);
});

test('a failover (card errors, wallet charges): 8 statements (7 + the simulated card\'s lookup of the reference before failing over); was 10', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card,wallet', CHANNEL_CARD_FAILURE_RATE: '1', BREAKER_FAILURE_THRESHOLD: '100', ROUTING_LATENCY_PENALTY_PER_SECOND: '0' });
  await s.pay({ method: 'wallet' });
  let res: Awaited<ReturnType<TestService['pay']>> | undefined;
  // card's window is empty (score 1, first in the configured order): it is tried first and errors
  const sql = await statements(s, async () => (res = await s.pay({})));
  // the lookup stands for a call to the provider; the ledger's own statements stay at 7
  t.is(sql.length, 8, sql.join('\n'));
  t.is(sql.filter((q) => q.includes('sim_provider_transactions')).length, 2, 'the providers: card lookup, wallet charge');
  t.like(res!.body, { status: 'succeeded', channel: 'wallet' });
  t.deepEqual((await attemptsOf(s, res!.body.id)).map((a) => [a.seq, a.channel, a.outcome]), [
    [1, 'card', 'error'],
    [2, 'wallet', 'success'],
  ]);
});

test('a bank payment left pending: 3 statements, no transaction (no event yet); was 7', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'bank', CHANNEL_BANK_SETTLE_DELAY_MS: '60000' });
  await warm(s);
  let res: Awaited<ReturnType<TestService['pay']>> | undefined;
  const sql = await statements(s, async () => (res = await s.pay({})));
  t.is(sql.length, 3, sql.join('\n'));
  t.like(res!.body, { status: 'pending', channel: 'bank' });
  t.like((await attemptsOf(s, res!.body.id))[0], { outcome: 'pending' });
});

/** A processing payment with the first attempt written by the claim, as create() does it. */
async function claimed(s: TestService, channel: 'card' | 'wallet'): Promise<{ row: PaymentRow; log: AttemptLog; firstId: string }> {
  const knex = s.svc.db.knex;
  const orderId = randomUUID();
  const first = { id: randomUUID(), channel };
  const row = await chargeLedger.claim(knex, { id: randomUUID(), orderId, idempotencyKey: orderId, userId: 'alice', email: null, amountCents: 500, currency: 'USD', method: null }, first);
  if (!row) throw new Error('the claim inserted nothing');
  return { row, log: new AttemptLog(knex, row, first), firstId: first.id };
}

test('the attempt written with the claim: reused as is, moved when the router chose another channel, removed when never used', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card,wallet' });
  const knex = s.svc.db.knex;

  const same = await claimed(s, 'card');
  t.is(await same.log.start('card', 1), same.firstId);
  t.like((await attemptsOf(s, same.row.id))[0], { id: same.firstId, channel: 'card', outcome: 'in_flight' });

  // a breaker opened between the plan and the call: the row follows the router's choice before any call
  const moved = await claimed(s, 'card');
  t.is(await moved.log.start('wallet', 1), moved.firstId);
  await moved.log.finish(moved.firstId, { outcome: 'error', error: 'boom', latencyMs: 3 });
  const secondId = await moved.log.start('card', 2);
  t.deepEqual((await attemptsOf(s, moved.row.id)).map((a) => [a.id, a.seq, a.channel, a.outcome]), [
    [moved.firstId, 1, 'wallet', 'error'],
    [secondId, 2, 'card', 'in_flight'],
  ]);

  // every channel open or out of time: no channel was called, so no attempt stays
  const unused = await claimed(s, 'card');
  await unused.log.dropUnused();
  t.deepEqual(await attemptsOf(s, unused.row.id), []);

  // a second claim for the same order writes neither payment nor attempt
  const again = await chargeLedger.claim(knex, { id: randomUUID(), orderId: same.row.order_id, idempotencyKey: null, userId: 'alice', email: null, amountCents: 500, currency: 'USD', method: null }, { id: randomUUID(), channel: 'card' });
  t.is(again, undefined);
  t.is((await attemptsOf(s, same.row.id)).length, 1);
});
