// Statement budgets: every SQL statement is a round trip (and a span, and Postgres work), the biggest
// cost per order in this service. Counted with knex 'query' events (BEGIN and COMMIT count too).
// Before the folding: a new event took 6 statements (BEGIN, claim, opt-in read, in-app row,
// deliveries, COMMIT), a redelivery or an event with nothing to send 3, each email 2 more (claim,
// outcome), and an idle dispatcher polled twice a second.
import test from 'ava';
import type { Knex } from 'knex';
import { waitFor } from '@lantern/testkit';
import { createSimulatedSmsProvider, loadNotificationConfig, notificationsSentTotal } from '../src/index.js';
import { counterValue, deliver, envelope, orderPlaced, SECRET, startService, startSmtp, statusChanged } from './helpers.js';

/** Records the statements issued on `knex` from now on (first words of each). */
function statements(t: { teardown(fn: () => void): void }, knex: Knex) {
  const sql: string[] = [];
  let lastAt = Date.now();
  const listener = (q: { sql: string }) => {
    sql.push(q.sql.trim().split(/\s+/).slice(0, 4).join(' '));
    lastAt = Date.now();
  };
  knex.on('query', listener);
  t.teardown(() => void knex.removeListener('query', listener));
  return {
    sql,
    /** Waits until no statement came for `quietMs` (what was under way is over). */
    quiet: (quietMs = 250) => waitFor(async () => Date.now() - lastAt >= quietMs, { what: 'no statements for a while', timeoutMs: 10_000, intervalMs: 25 }),
  };
}

const emailsSent = () => counterValue(notificationsSentTotal, { channel: 'email', outcome: 'sent' });

test.serial('a new event is 1 statement (was 6), a redelivery 1 (was 3), an event with nothing to send 1 (was 3); a polled send stays claim + outcome', async (t) => {
  const smtp = await startSmtp(t);
  const sms = createSimulatedSmsProvider({ sender: 'Lantern', latencyMs: 0, failureRate: 0 });
  const s = await startService(t, { SMTP_URL: smtp.url }, { sms });
  await s.call('PUT', '/notifications/preferences', { body: { smsPhone: '+4915112345678' } });
  await s.svc.dispatcher.stop(); // rows stay pending: the handler's statements alone
  const knex = s.svc.db.knex;
  const n = statements(t, knex);

  const env = envelope('order.placed', orderPlaced());
  await deliver(s.svc, env);
  t.deepEqual(n.sql, ['WITH claim AS (']);
  const rows = (await knex('deliveries').where({ event_id: env.id }).orderBy('channel')) as { channel: string; status: string; attempts: number; recipient: string | null; message: unknown }[];
  t.like(rows[0], { channel: 'email', status: 'pending', attempts: 0, recipient: env.data.email });
  t.like(rows[1], { channel: 'in_app', status: 'sent' });
  t.like(rows[2], { channel: 'sms', status: 'pending', attempts: 0, recipient: '+4915112345678' });
  t.regex((rows[2]!.message as { text: string }).text, /confirmed/);
  t.is((await knex('notifications').where({ event_id: env.id })).length, 1);
  t.is((await knex('processed_events').where({ event_id: env.id })).length, 1);

  n.sql.length = 0;
  await deliver(s.svc, env);
  t.is(n.sql.length, 1, 'a redelivery');
  n.sql.length = 0;
  await deliver(s.svc, envelope('order.cancelled', statusChanged('cancelled', 'payment_failed')));
  t.is(n.sql.length, 1, 'nothing to send: the claim alone');

  n.sql.length = 0;
  t.is(await s.svc.dispatcher.runOnce(), 2);
  t.is(n.sql.length, 3, `one claim for the batch, one outcome per send: ${n.sql.join(' | ')}`);
  t.is(smtp.mails.length, 1);
  t.is(sms.sent.length, 1);
});

test.serial('an email from event to recorded send is 2 statements in a running service (was 8): the event (written claimed) and the outcome', async (t) => {
  const smtp = await startSmtp(t);
  const s = await startService(t, { SMTP_URL: smtp.url, DELIVERY_POLL_MS: '60000' });
  const n = statements(t, s.svc.db.knex);
  await n.quiet(); // the dispatcher's first poll
  n.sql.length = 0;
  const sentBefore = await emailsSent();

  const env = envelope('order.paid', statusChanged('paid', 'reserved', { paymentId: 'pay-7' }));
  await deliver(s.svc, env);
  await waitFor(async () => (await emailsSent()) > sentBefore, { what: 'email recorded sent', timeoutMs: 10_000, intervalMs: 10 });
  await n.quiet();
  t.is(n.sql.length, 2, n.sql.join(' | '));
  t.is(smtp.mails.length, 1);
  const row = (await s.svc.db.knex('deliveries').where({ event_id: env.id, channel: 'email' }).first()) as { status: string; attempts: number; provider_message_id: string };
  t.like(row, { status: 'sent', attempts: 1, provider_message_id: smtp.mails[0]!.mail.messageId });
});

test.serial('a retry wakes the dispatcher when due, not at the next poll: 451 then OK is 4 statements with a one-minute poll', async (t) => {
  const smtp = await startSmtp(t, { script: [451] });
  const s = await startService(t, { SMTP_URL: smtp.url, DELIVERY_POLL_MS: '60000' });
  const n = statements(t, s.svc.db.knex);
  await n.quiet();
  n.sql.length = 0;
  const sentBefore = await emailsSent();

  await deliver(s.svc, envelope('order.shipped', statusChanged('shipped', 'paid')));
  await waitFor(async () => (await emailsSent()) > sentBefore, { what: 'email sent on the retry', timeoutMs: 5_000, intervalMs: 10 });
  await n.quiet();
  t.is(n.sql.length, 4, `event, outcome (retry), claim, outcome (sent): ${n.sql.join(' | ')}`);
  t.is(smtp.dataCommands, 2);
  t.is(smtp.mails.length, 1);
});

test('idle: the dispatcher polls every 5 s by default (was 0.5 s); nothing runs in between', async (t) => {
  t.is(loadNotificationConfig({ INTERNAL_AUTH_SECRET: SECRET }).DELIVERY_POLL_MS, 5000);
  const s = await startService(t, { DELIVERY_POLL_MS: '5000' });
  const n = statements(t, s.svc.db.knex);
  await n.quiet();
  n.sql.length = 0;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.deepEqual(n.sql, []);
});
