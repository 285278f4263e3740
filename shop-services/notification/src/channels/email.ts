import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { SmtpTarget } from '../config.js';
import { PermanentDeliveryError, TransientDeliveryError, type Channel, type EmailMessage, type SendResult } from './types.js';

export interface EmailChannelOptions {
  smtp: SmtpTarget;
  from: string;
  requireTls: boolean;
  timeoutMs: number;
  maxConnections: number;
}

/** The domain of the From address, for Message-IDs (unique to the sender). */
function fromDomain(from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return m?.[1]?.toLowerCase() ?? 'lantern.local';
}

/**
 * The Message-ID of a delivery: derived from the delivery key, so a resend after a crash (the
 * at-least-once window) carries the same id and mail systems can recognise the duplicate.
 */
export function messageIdFor(key: string, from: string): string {
  return `<${key.replace(/[^A-Za-z0-9.-]/g, '.')}@${fromDomain(from)}>`;
}

/** An error's message with the SMTP password (raw and URL-encoded) blanked out. */
export function redactSecret(message: string, secret: string | undefined): string {
  if (!secret) return message;
  let out = message;
  for (const s of new Set([secret, encodeURIComponent(secret)])) out = out.split(s).join('***');
  return out;
}

/**
 * SMTP 5xx is permanent (unknown mailbox, policy refusal, auth refused); 4xx (greylisting, "try
 * later"), connection errors and timeouts are transient. A malformed envelope cannot improve either.
 */
export function classifySmtpError(err: unknown, describe: string, password?: string): TransientDeliveryError | PermanentDeliveryError {
  const raw = err instanceof Error ? err.message : String(err);
  const msg = `${describe}: ${redactSecret(raw, password)}`.slice(0, 1000);
  const code = (err as { responseCode?: unknown }).responseCode;
  const responseCode = typeof code === 'number' ? code : undefined;
  if (responseCode !== undefined && responseCode >= 500 && responseCode < 600) return new PermanentDeliveryError(msg, responseCode);
  if (responseCode !== undefined && responseCode >= 400 && responseCode < 500) return new TransientDeliveryError(msg, responseCode);
  // no SMTP reply code: a message or envelope nodemailer refused to build (bad address) will not improve
  const kind = (err as { code?: unknown }).code;
  if (kind === 'EENVELOPE' || kind === 'EMESSAGE') return new PermanentDeliveryError(msg, responseCode);
  return new TransientDeliveryError(msg, responseCode);
}

/** Email over SMTP through a small nodemailer connection pool. */
export function createEmailChannel(opts: EmailChannelOptions): Channel<EmailMessage> {
  const { smtp } = opts;
  const options: SMTPPool.Options = {
    pool: true,
    maxConnections: opts.maxConnections,
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: !smtp.secure && opts.requireTls,
    ...(smtp.user !== undefined ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
    // nodemailer's own logger would print the SMTP dialogue (AUTH included): off
    logger: false,
    debug: false,
  };
  const transport = nodemailer.createTransport(options);
  const where = `SMTP ${smtp.host}:${smtp.port}`;
  return {
    name: 'email',
    async send(message: EmailMessage, key: string): Promise<SendResult> {
      const messageId = messageIdFor(key, opts.from);
      try {
        await transport.sendMail({ from: opts.from, to: message.to, subject: message.subject, text: message.text, html: message.html, messageId });
      } catch (err) {
        throw classifySmtpError(err, `sending via ${where} failed`, smtp.password);
      }
      return { providerMessageId: messageId };
    },
    close() {
      transport.close();
    },
  };
}
