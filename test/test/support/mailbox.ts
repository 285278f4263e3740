// An SMTP server on loopback (smtp-server) that keeps every message it accepts, parsed with mailparser,
// so a test reads back what the notification service really sent over SMTP.
import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { waitFor } from '@lantern/testkit';

export interface ReceivedMail {
  /** Envelope recipients (RCPT TO). */
  rcptTo: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
}

export interface Mailbox {
  /** `smtp://127.0.0.1:<port>` for the notification service's SMTP_URL. */
  url: string;
  messages(): ReceivedMail[];
  /** Messages whose envelope goes to `address`. */
  to(address: string): ReceivedMail[];
  /** Resolves with the first message to `address` that `pred` accepts (polls). */
  waitFor(address: string, pred: (m: ReceivedMail) => boolean, what: string, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

const addressText = (a: AddressObject | AddressObject[] | undefined): string => (Array.isArray(a) ? a.map((x) => x.text).join(', ') : (a?.text ?? ''));

export async function startMailbox(): Promise<Mailbox> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 5 * 1024 * 1024,
    onData(stream, session, callback) {
      const rcptTo = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
      simpleParser(stream)
        .then((mail) => {
          received.push({
            rcptTo,
            from: addressText(mail.from),
            subject: mail.subject ?? '',
            text: mail.text ?? '',
            html: typeof mail.html === 'string' ? mail.html : '',
            messageId: mail.messageId ?? '',
          });
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  const to = (address: string) => received.filter((m) => m.rcptTo.includes(address.toLowerCase()));
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages: () => [...received],
    to,
    waitFor: (address, pred, what, timeoutMs = 30_000) => waitFor(() => to(address).find(pred), { timeoutMs, intervalMs: 100, what }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
