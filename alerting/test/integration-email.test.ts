// Email to a real smtp-server on loopback, read back with mailparser: both parts, the subject, threading
// headers, auth, require_tls, error classes and password redaction.
import test from 'ava';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { RetryableNotifyError } from '../src/model/notification.js';
import { EmailIntegration, threadRootId, type EmailOptions } from '../src/notify/integrations/email.js';
import { PermanentNotifyError } from '../src/notify/integrations/http.js';
import { alert, context } from './support/integration-fixtures.js';

const never = new AbortController().signal;
const PASSWORD = 'hunter2-very-secret';

interface Smtp {
  port: number;
  mails: { rcpt: string[]; mail: ParsedMail }[];
  authed: { user: string; method: string }[];
  close: () => Promise<void>;
}

async function smtp(): Promise<Smtp> {
  const mails: Smtp['mails'] = [];
  const authed: Smtp['authed'] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'alerts' && auth.password === PASSWORD) {
        authed.push({ user: auth.username, method: auth.method });
        cb(null, { user: auth.username });
      } else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const rcpt = session.envelope.rcptTo.map((r) => r.address); // copied now: reset before the parse ends
      simpleParser(stream).then(
        (mail) => {
          mails.push({ rcpt, mail });
          cb();
        },
        (err: Error) => cb(err),
      );
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.server.address() as AddressInfo;
  return { port, mails, authed, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function email(port: number, over: Partial<EmailOptions> = {}): EmailIntegration {
  return new EmailIntegration('email[0]', {
    to: 'oncall@example.com, lead@example.com',
    from: 'Lantern <alerts@lantern.example>',
    smarthost: `127.0.0.1:${port}`,
    hello: 'lantern-test',
    requireTls: false,
    headers: { 'X-Team': 'payments' },
    sendResolved: true,
    timeoutMs: 5000,
    ...over,
  });
}

function ctxFor(groupKey: string) {
  const labels = { alertname: 'HighLatency', service: 'checkout', severity: 'critical' };
  return context([alert(labels, { summary: 'p99 above 500ms', description: 'for 5 minutes', runbook_url: 'https://runbooks.example.com/lat', value: '1.2s' })], {
    groupKey,
    evidence: {
      traces: [{ traceId: 'a'.repeat(32), url: `http://127.0.0.1:16686/trace/${'a'.repeat(32)}`, series: { service: 'checkout' }, value: 1.3, timestamp: new Date() }],
      logs: [{ time: new Date(), service: 'checkout', level: 'error', message: 'payment <gateway> timeout' }],
      notes: ['Loki unreachable'],
    },
  });
}

test('email: subject, HTML and text parts with the same facts and links, headers, auth, recipients', async (t) => {
  const s = await smtp();
  t.teardown(s.close);
  await email(s.port, { authUsername: 'alerts', authPassword: PASSWORD }).notify(ctxFor('{}:{alertname="HighLatency"}/a'), never);
  t.is(s.mails.length, 1);
  const { mail, rcpt } = s.mails[0]!;
  t.deepEqual(rcpt.sort(), ['lead@example.com', 'oncall@example.com']);
  t.is(s.authed[0]?.user, 'alerts');
  t.is(mail.subject, '[FIRING:1] HighLatency (service=checkout)');
  t.is(mail.headers.get('x-team'), 'payments');
  const html = String(mail.html);
  const text = mail.text ?? '';
  for (const part of [html, text]) {
    t.true(part.includes('p99 above 500ms'), 'summary');
    t.true(part.includes('1.2s'), 'value');
    t.true(part.includes('https://runbooks.example.com/lat'), 'runbook');
    t.true(part.includes(`http://127.0.0.1:16686/trace/${'a'.repeat(32)}`), 'trace link');
    t.true(part.includes('https://alerts.example.com/#/silences/new'), 'silence link');
    t.true(part.includes('https://alerts.example.com/ack/abc'), 'ack link');
    t.true(part.includes('Loki unreachable'), 'evidence note');
    t.true(part.includes('critical'), 'severity');
  }
  t.true(html.includes('payment &lt;gateway&gt; timeout'), 'log line escaped in HTML');
  t.true(text.includes('payment <gateway> timeout'));
  t.true(html.includes('href="https://runbooks.example.com/lat"'));
});

test('email threading: first message has the group-derived Message-ID, later ones In-Reply-To/References it', async (t) => {
  const s = await smtp();
  t.teardown(s.close);
  const key = `{}:{alertname="T${Date.now()}"}`;
  const int = email(s.port);
  const ctx = ctxFor(key);
  await int.notify(ctx, never);
  await int.notify({ ...ctx, acknowledgedBy: 'alice' }, never);
  const resolved = { ...ctx, status: 'resolved' as const, alerts: ctx.alerts.map((a) => ({ ...a, endsAt: new Date(Date.now() - 1000) })) };
  await int.notify(resolved, never);
  const root = threadRootId(key, 'alerts@lantern.example');
  const [m1, m2, m3] = s.mails.map((m) => m.mail);
  t.is(m1!.messageId, root);
  t.is(m1!.inReplyTo, undefined);
  for (const m of [m2!, m3!]) {
    t.not(m.messageId, root);
    t.is(m.inReplyTo, root);
    t.deepEqual([m.references].flat(), [root]);
  }
  t.true(m2!.subject!.includes('[ACK by alice]'));
  t.true((m2!.text ?? '').includes('Acknowledged by alice'));
  t.is(m3!.subject, '[RESOLVED] HighLatency (service=checkout)');
  // another integration instance (a restart) with no record yet starts the thread again with the same root id
  t.is(threadRootId(key, 'x@lantern.example'), root);
});

test('email errors: wrong password is permanent and never shows the password; require_tls without STARTTLS fails; no server is retryable', async (t) => {
  const s = await smtp();
  t.teardown(s.close);
  const ctx = ctxFor('{}:{alertname="E"}');
  const bad = await t.throwsAsync(email(s.port, { authUsername: 'alerts', authPassword: `${PASSWORD}-wrong` }).notify(ctx, never), { instanceOf: PermanentNotifyError });
  t.false(bad.message.includes(PASSWORD), bad.message);
  t.regex(bad.message, /535|Invalid/);
  const tls = await t.throwsAsync(email(s.port, { requireTls: true }).notify(ctx, never));
  t.regex(tls.message, /STARTTLS|TLS/i);
  t.is(s.mails.length, 0, 'nothing was sent in clear text under require_tls');
  await t.throwsAsync(email(1).notify(ctx, never), { instanceOf: RetryableNotifyError });
});
