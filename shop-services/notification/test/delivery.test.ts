// From event to delivered notification without Kafka: the handler as the consumer calls it, the
// dispatcher, Postgres and a real SMTP server on loopback. Tests asserting metric deltas run serially
// (before the concurrent ones): the counters are process-wide.
import test from 'ava';
import { waitFor } from '@lantern/testkit';
import { createSimulatedSmsProvider, ingestEvent, type SimulatedSmsProvider, messageIdFor, notificationEventsTotal, notificationsSentTotal, type DeliverySink } from '../src/index.js';
import { alice, bob, counterValue, deliver, envelope, orderPlaced, startService, startSmtp, statusChanged, type TestService } from './helpers.js';

async function deliveries(s: TestService, eventId: string) {
  const rows = (await s.svc.db.knex('deliveries').where({ event_id: eventId }).orderBy('channel')) as { channel: string; status: string; reason: string | null; attempts: number; last_error: string | null; provider_message_id: string | null }[];
  return Object.fromEntries(rows.map((r) => [r.channel, r]));
}

async function settled(s: TestService, eventId: string, channel = 'email') {
  return waitFor(
    async () => {
      const row = (await deliveries(s, eventId))[channel];
      return row && ['sent', 'failed', 'skipped'].includes(row.status) ? row : undefined;
    },
    { what: `${channel} delivery of ${eventId} settled`, timeoutMs: 15_000, intervalMs: 25 },
  );
}

test.serial('order.placed: the confirmation email arrives with the rendered subject and body; in-app row and delivery records exist', async (t) => {
  const smtp = await startSmtp(t);
  const s = await startService(t, { SMTP_URL: smtp.url, EMAIL_FROM: 'Lantern Shop <shop@lantern.test>' });
  const sentBefore = await counterValue(notificationsSentTotal, { channel: 'email', outcome: 'sent' });
  const data = orderPlaced();
  const env = envelope('order.placed', data);
  await deliver(s.svc, env);

  const row = await settled(s, env.id);
  t.is(row.status, 'sent');
  t.is(smtp.mails.length, 1);
  const { mail, rcpt } = smtp.mails[0]!;
  t.deepEqual(rcpt, [alice.email]);
  t.is(mail.subject, `Lantern Shop: order ${data.orderId.slice(0, 8)} confirmed`);
  t.regex(mail.text ?? '', /2 × Blue Kettle: \$25\.00/);
  t.regex(mail.text ?? '', /Total: \$29\.99/);
  t.regex(String(mail.html), />2 × Blue Kettle<\/td><td>\$25\.00</);
  t.is(mail.messageId, messageIdFor(`${env.id}.email`, 'shop@lantern.test'));
  t.is(row.provider_message_id, mail.messageId ?? null);

  const all = await deliveries(s, env.id);
  t.like(all.in_app, { status: 'sent' });
  t.like(all.sms, { status: 'skipped', reason: 'not_opted_in' });
  const list = await s.call('GET', '/notifications');
  t.is(list.status, 200);
  t.like(list.body.items[0], { type: 'order.placed', orderId: data.orderId, readAt: null });
  t.is(await counterValue(notificationsSentTotal, { channel: 'email', outcome: 'sent' }), sentBefore + 1);
});

test('the same event handled again (redeliveries, concurrent ones, a replay after the claims were pruned): one in-app message, one email, one SMS', async (t) => {
  const smtp = await startSmtp(t);
  const sms = createSimulatedSmsProvider({ sender: 'Lantern', latencyMs: 0, failureRate: 0 });
  const s = await startService(t, { SMTP_URL: smtp.url }, { sms });
  t.is((await s.call('PUT', '/notifications/preferences', { body: { smsPhone: '+4915112345678' } })).status, 200);
  const dupBefore = await counterValue(notificationEventsTotal, { type: 'order.paid', outcome: 'duplicate' });
  const env = envelope('order.paid', statusChanged('paid', 'reserved', { paymentId: 'pay-1' }));
  await deliver(s.svc, env);
  await settled(s, env.id, 'email');
  await settled(s, env.id, 'sms');
  await deliver(s.svc, env);
  await Promise.all([deliver(s.svc, env), deliver(s.svc, env)]); // concurrent redeliveries too
  await s.svc.db.knex('processed_events').delete(); // claims pruned: a late replay is still caught
  await deliver(s.svc, env);
  await s.svc.dispatcher.runOnce();

  t.is(smtp.mails.length, 1);
  t.regex(smtp.mails[0]!.mail.subject ?? '', /receipt/);
  t.is(sms.sent.length, 1);
  t.regex(sms.sent[0]!.text, /payment of \$29\.99 received/);
  t.is((await s.svc.db.knex('notifications').where({ event_id: env.id }).count({ n: '*' }))[0]?.n, '1');
  t.is(await counterValue(notificationEventsTotal, { type: 'order.paid', outcome: 'duplicate' }), dupBefore + 4);
});

test.serial('SMTP 451 then OK: retried with backoff and delivered once', async (t) => {
  const smtp = await startSmtp(t, { script: [451] });
  const s = await startService(t, { SMTP_URL: smtp.url });
  const retryBefore = await counterValue(notificationsSentTotal, { channel: 'email', outcome: 'retry' });
  const env = envelope('order.payment_failed', statusChanged('payment_failed', 'reserved', { reason: 'card declined' }));
  await deliver(s.svc, env);
  const row = await settled(s, env.id);
  t.like(row, { status: 'sent', attempts: 2 });
  t.regex(row.last_error ?? '', /451/, 'the transient error stays on record');
  t.is(smtp.dataCommands, 2);
  t.is(smtp.mails.length, 1);
  t.regex(smtp.mails[0]!.mail.text ?? '', /Your order was cancelled and nothing was charged/);
  t.is(await counterValue(notificationsSentTotal, { channel: 'email', outcome: 'retry' }), retryBefore + 1);
});

test('SMTP 550: recorded failed without retrying; the in-app message exists anyway', async (t) => {
  const smtp = await startSmtp(t, { script: [550] });
  const s = await startService(t, { SMTP_URL: smtp.url });
  const env = envelope('order.shipped', statusChanged('shipped', 'paid'));
  await deliver(s.svc, env);
  const row = await settled(s, env.id);
  t.like(row, { status: 'failed', reason: 'email_rejected', attempts: 1 });
  t.regex(row.last_error ?? '', /550/);
  t.is(smtp.mails.length, 0);
  const list = await s.call('GET', '/notifications');
  t.like(list.body.items[0], { type: 'order.shipped', orderId: env.data.orderId });
});

test('SMTP unreachable: retried up to the limit, then failed; the consumer is never blocked', async (t) => {
  const s = await startService(t, { SMTP_URL: 'smtp://127.0.0.1:1', DELIVERY_MAX_ATTEMPTS: '2' });
  const env = envelope('order.expired', statusChanged('expired', 'reserved'));
  const started = Date.now();
  await deliver(s.svc, env); // returns once the claim commits, whatever SMTP does
  t.true(Date.now() - started < 5_000);
  const row = await settled(s, env.id);
  t.like(row, { status: 'failed', reason: 'retries_exhausted', attempts: 2 });
  t.regex(row.last_error ?? '', /ECONNREFUSED|connect/i);
});

test('no email address on the event, or email not configured: skipped with the reason; SMS and in-app still go', async (t) => {
  const sms = createSimulatedSmsProvider({ sender: 'Lantern', latencyMs: 0, failureRate: 0 });
  const smtp = await startSmtp(t);
  const s = await startService(t, { SMTP_URL: smtp.url }, { sms });
  await s.call('PUT', '/notifications/preferences', { user: bob, body: { smsPhone: '+15551234567' } });
  const env = envelope('payment.refunded', {
    paymentId: 'pay-9',
    refundId: 'ref-9',
    orderId: 'order-9',
    userId: bob.id,
    amountCents: 500,
    refundedTotalCents: 500,
    currency: 'USD',
    at: new Date().toISOString(),
  });
  await deliver(s.svc, env);
  const sent = await settled(s, env.id, 'sms');
  t.is(sent.status, 'sent');
  const all = await deliveries(s, env.id);
  t.like(all.email, { status: 'skipped', reason: 'no_email_address' });
  t.like(all.in_app, { status: 'sent' });
  t.deepEqual(sms.sent.map((m) => m.to), ['+15551234567']);
  t.is(smtp.dataCommands, 0);

  const off = await startService(t, {});
  const env2 = envelope('order.placed', orderPlaced());
  await deliver(off.svc, env2);
  t.like((await deliveries(off, env2.id)).email, { status: 'skipped', reason: 'email_not_configured' });
});

test('crash window: a delivery left "sending" by a dead sender is sent again after its lease, with the same Message-ID; on its last attempt it is given up', async (t) => {
  const smtp = await startSmtp(t);
  const s = await startService(t, { SMTP_URL: smtp.url, DELIVERY_MAX_ATTEMPTS: '2' });
  await s.svc.dispatcher.stop(); // this test drives the dispatcher itself
  const knex = s.svc.db.knex;
  const a = envelope('order.placed', orderPlaced());
  const b = envelope('order.placed', orderPlaced());
  await deliver(s.svc, a);
  await deliver(s.svc, b);
  // as a sender that claimed both (attempt 1 for a, the last attempt for b) and died before recording
  await knex('deliveries').where({ event_id: a.id, channel: 'email' }).update({ status: 'sending', attempts: 1, next_attempt_at: knex.raw("now() + interval '1 hour'") });
  await knex('deliveries').where({ event_id: b.id, channel: 'email' }).update({ status: 'sending', attempts: 2, next_attempt_at: knex.raw("now() + interval '1 hour'") });
  t.is(await s.svc.dispatcher.runOnce(), 0, 'leases still held: nobody touches them');
  await knex('deliveries').whereIn('event_id', [a.id, b.id]).andWhere({ channel: 'email' }).update({ next_attempt_at: knex.raw("now() - interval '1 second'") });
  t.is(await s.svc.dispatcher.runOnce(), 2);
  t.like((await deliveries(s, a.id)).email, { status: 'sent', attempts: 2 });
  t.like((await deliveries(s, b.id)).email, { status: 'failed', reason: 'outcome_unknown', attempts: 3 });
  t.is(smtp.mails.length, 1);
  t.is(smtp.mails[0]!.mail.messageId, messageIdFor(`${a.id}.email`, 'shop@lantern.local'));
});

test('a process that wrote an email already claimed for its own send and died before sending: the row waits out its lease, then another sender sends it', async (t) => {
  const smtp = await startSmtp(t);
  const s = await startService(t, { SMTP_URL: smtp.url });
  await s.svc.dispatcher.stop(); // this test drives the dispatcher itself
  const knex = s.svc.db.knex;
  // the handler of a process whose dispatcher took the send and vanished before starting it
  const handedOver: unknown[] = [];
  const dead: DeliverySink = { leaseMs: 10_000, reserve: () => true, handOver: (rows) => void handedOver.push(...rows), wake: () => undefined };
  const env = envelope('order.placed', orderPlaced());
  const deps = { knex, groupId: 'dead-process', templates: { shopName: 'Lantern Shop' }, emailEnabled: true, smsEnabled: false, logger: s.telemetry.logger, dispatcher: dead };
  t.is(await ingestEvent(deps, 'order.placed', env), 'notified');
  t.is(handedOver.length, 3);
  const row = (await knex('deliveries').where({ event_id: env.id, channel: 'email' }).first()) as { status: string; attempts: number };
  t.like(row, { status: 'sending', attempts: 1 });
  t.true((await knex('deliveries').where({ event_id: env.id, channel: 'email' }).andWhere('next_attempt_at', '>', knex.raw("now() + interval '9 seconds'")).first()) !== undefined, 'leased');
  t.is(await s.svc.dispatcher.runOnce(), 0, 'lease still held: nobody touches it');
  await knex('deliveries').where({ event_id: env.id, channel: 'email' }).update({ next_attempt_at: knex.raw("now() - interval '1 second'") });
  t.is(await s.svc.dispatcher.runOnce(), 1);
  t.like((await deliveries(s, env.id)).email, { status: 'sent', attempts: 2 });
  t.is(smtp.mails.length, 1);
  t.is(smtp.mails[0]!.mail.messageId, messageIdFor(`${env.id}.email`, 'shop@lantern.local'));
});

test('two dispatchers on one queue (two replicas): every email is sent once', async (t) => {
  const smtp = await startSmtp(t);
  const s = await startService(t, { SMTP_URL: smtp.url, SMTP_MAX_CONNECTIONS: '4', DELIVERY_BATCH_SIZE: '4' });
  await s.svc.dispatcher.stop();
  const events = Array.from({ length: 12 }, () => envelope('order.placed', orderPlaced()));
  for (const e of events) await deliver(s.svc, e);
  const runs = await Promise.all([s.svc.dispatcher.runOnce(), s.svc.dispatcher.runOnce(), s.svc.dispatcher.runOnce()]);
  t.deepEqual(runs, [4, 4, 4]);
  t.is(smtp.mails.length, 12);
  t.is(new Set(smtp.mails.map((m) => m.mail.messageId)).size, 12);
});

test('sends handed over by the handler and those claimed by polls stay within DELIVERY_BATCH_SIZE together; each is sent once', async (t) => {
  const inner = createSimulatedSmsProvider({ sender: 'Lantern', latencyMs: 30, failureRate: 0 });
  let now = 0;
  let most = 0;
  const sms: SimulatedSmsProvider = {
    name: 'sms',
    get sent() {
      return inner.sent;
    },
    async send(message, key) {
      most = Math.max(most, ++now);
      try {
        return await inner.send(message, key);
      } finally {
        now--;
      }
    },
  };
  const s = await startService(t, { DELIVERY_BATCH_SIZE: '2' }, { sms });
  await s.call('PUT', '/notifications/preferences', { body: { smsPhone: '+4915112345678' } });
  const events = Array.from({ length: 7 }, () => envelope('order.placed', orderPlaced()));
  await Promise.all(events.map((e) => deliver(s.svc, e)));
  await waitFor(async () => inner.sent.length === 7, { what: 'seven texts', timeoutMs: 10_000, intervalMs: 20 });
  for (const e of events) await settled(s, e.id, 'sms');
  t.is(new Set(inner.sent.map((m) => m.key)).size, 7);
  t.true(most <= 2, `at most 2 sends at once, saw ${most}`);
});
