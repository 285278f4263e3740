// The channels on their own: email to a real smtp-server on loopback (read back with mailparser),
// SMTP error classes, the SMS stand-in; and the configuration's checks.
import test from 'ava';
import { ConfigError } from '@lantern/shop-common';
import { createEmailChannel, messageIdFor } from '../src/channels/email.js';
import { createSimulatedSmsProvider } from '../src/channels/sms.js';
import { PermanentDeliveryError, TransientDeliveryError } from '../src/channels/types.js';
import { loadNotificationConfig, type SmtpTarget } from '../src/config.js';
import { closedPort, SECRET, SMTP_PASSWORD, startSmtp } from './helpers.js';

const FROM = 'Lantern Shop <shop@lantern.test>';
const message = { to: 'alice@example.com', subject: 'Lantern Shop: order 1 confirmed', text: 'Thank you.\n', html: '<p>Thank you.</p>' };

function channel(port: number, password = SMTP_PASSWORD) {
  const smtp: SmtpTarget = { host: '127.0.0.1', port, secure: false, user: 'notify', password };
  return createEmailChannel({ smtp, from: FROM, requireTls: false, timeoutMs: 2000, maxConnections: 1 });
}

test('email: the SMTP server receives subject, text and HTML parts, from, to and a Message-ID derived from the key', async (t) => {
  const smtp = await startSmtp(t);
  const email = channel(smtp.port);
  t.teardown(() => email.close?.());
  const res = await email.send(message, 'evt-1.email');
  t.is(smtp.mails.length, 1);
  const got = smtp.mails[0]!;
  t.deepEqual(got.rcpt, ['alice@example.com']);
  t.is(got.from, 'shop@lantern.test');
  t.is(got.mail.subject, message.subject);
  t.is(got.mail.text, message.text);
  t.is(got.mail.html, message.html);
  t.is(got.mail.messageId, messageIdFor('evt-1.email', FROM));
  t.is(res.providerMessageId, '<evt-1.email@lantern.test>');
});

test('email: 4xx and connection failures are transient, 5xx permanent; the password never shows in an error', async (t) => {
  const smtp = await startSmtp(t, { script: [451, 550] });
  const email = channel(smtp.port);
  t.teardown(() => email.close?.());
  const soft = await t.throwsAsync(email.send(message, 'k1'), { instanceOf: TransientDeliveryError });
  t.is(soft?.responseCode, 451);
  const hard = await t.throwsAsync(email.send(message, 'k2'), { instanceOf: PermanentDeliveryError });
  t.is(hard?.responseCode, 550);
  await email.send(message, 'k3');
  t.is(smtp.mails.length, 1);

  const refused = channel(await closedPort());
  t.teardown(() => refused.close?.());
  await t.throwsAsync(refused.send(message, 'k4'), { instanceOf: TransientDeliveryError, message: /ECONNREFUSED|connect/i });

  const badAuth = channel(smtp.port, 'wrong-secret-password');
  t.teardown(() => badAuth.close?.());
  const authErr = await t.throwsAsync(badAuth.send(message, 'k5'), { instanceOf: PermanentDeliveryError });
  t.is(authErr?.responseCode, 535);
  t.false(authErr?.message.includes('wrong-secret-password'));
});

test('sms: sends once per key (a retry after a lost answer returns the first id), fails at the configured rate, refuses a non-E.164 number', async (t) => {
  const dice = [0.99, 0.01, 0.99];
  const sms = createSimulatedSmsProvider({ sender: 'Lantern', latencyMs: 0, failureRate: 0.5, random: () => dice.shift() ?? 0.99 });
  const first = await sms.send({ to: '+4915112345678', text: 'hello' }, 'evt-1.sms');
  const again = await sms.send({ to: '+4915112345678', text: 'hello' }, 'evt-1.sms');
  t.is(again.providerMessageId, first.providerMessageId);
  t.is(sms.sent.length, 1);
  await t.throwsAsync(sms.send({ to: '+4915112345678', text: 'x' }, 'evt-2.sms'), { instanceOf: TransientDeliveryError });
  await sms.send({ to: '+4915112345678', text: 'x' }, 'evt-2.sms');
  await t.throwsAsync(sms.send({ to: '0151 123', text: 'x' }, 'evt-3.sms'), { instanceOf: PermanentDeliveryError });
  t.deepEqual(
    sms.sent.map((m) => [m.key, m.to, m.from]),
    [
      ['evt-1.sms', '+4915112345678', 'Lantern'],
      ['evt-2.sms', '+4915112345678', 'Lantern'],
    ],
  );
});

test('config: defaults, SMTP URL parsed (smtps = implicit TLS), bad keys named without echoing the password', (t) => {
  const c = loadNotificationConfig({ INTERNAL_AUTH_SECRET: SECRET, SMTP_URL: 'smtps://mailer:p%40ss@mail.example.com' });
  t.is(c.PORT, 8086);
  t.is(c.DB_SCHEMA, 'shop_notification');
  t.is(c.KAFKA_GROUP_ID, 'notification');
  t.deepEqual([c.ORDERS_TOPIC, c.PAYMENTS_TOPIC], ['orders', 'payments']);
  t.deepEqual(c.SMTP_URL, { host: 'mail.example.com', port: 465, secure: true, user: 'mailer', password: 'p@ss' });
  t.is(loadNotificationConfig({ INTERNAL_AUTH_SECRET: SECRET }).SMTP_URL, undefined);

  const err = t.throws(
    () =>
      loadNotificationConfig({
        INTERNAL_AUTH_SECRET: SECRET,
        SMTP_URL: 'http://user:hunter2-secret@mail.example.com',
        EMAIL_FROM: 'not an address',
        SMS_FAILURE_RATE: '1.5',
      }),
    { instanceOf: ConfigError },
  );
  t.deepEqual(err?.issues.map((i) => i.key).sort(), ['EMAIL_FROM', 'SMS_FAILURE_RATE', 'SMTP_URL']);
  t.false(err?.message.includes('hunter2-secret'));
  const lease = t.throws(() => loadNotificationConfig({ INTERNAL_AUTH_SECRET: SECRET, SMTP_TIMEOUT_MS: '5000', DELIVERY_LEASE_MS: '1000' }), { instanceOf: ConfigError });
  t.deepEqual(lease?.issues.map((i) => i.key), ['DELIVERY_LEASE_MS']);
});
