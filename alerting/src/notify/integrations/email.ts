// Email through an SMTP smarthost (nodemailer), with Alertmanager's email_config semantics: require_tls
// (default true) demands STARTTLS and, when false, never attempts it; port 465 means implicit TLS.
// Messages of one group form one thread: the first carries a Message-ID derived from the group key,
// later ones point at it with In-Reply-To and References.
import { createHash, randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { type Clock, systemClock } from '../../model/clock.js';
import { RetryableNotifyError, type Integration, type NotificationContext } from '../../model/notification.js';
import type { NotificationLog } from '../../model/stores.js';
import { buildContent, subjectLine, truncate } from './content.js';
import { emailHtml, emailText } from './email-body.js';
import { PermanentNotifyError } from './http.js';
import { safeMessage } from './redact.js';

export interface EmailOptions {
  to: string;
  from: string;
  /** `host:port` (`[::1]:25` for IPv6). */
  smarthost: string;
  /** EHLO name; default "localhost" as in Alertmanager. */
  hello: string;
  authUsername?: string;
  /** Secret. */
  authPassword?: string;
  requireTls: boolean;
  /** Implicit TLS from the first byte; default: port 465. */
  forceImplicitTls?: boolean;
  tls?: { rejectUnauthorized?: boolean; ca?: string; serverName?: string };
  headers: Record<string, string>;
  sendResolved: boolean;
  timeoutMs: number;
}

export interface EmailDeps {
  clock?: Clock;
  /** When given, "is this the group's first message?" survives restarts: an nflog entry means one was sent. */
  nflog?: NotificationLog;
}

const MAX_SUBJECT = 250;
const MAX_REMEMBERED = 10_000;

export function parseSmarthost(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new RangeError(`smarthost must be host:port, got ${JSON.stringify(s)}`);
  return { host: (m[1] ?? m[2])!, port };
}

/** The domain for Message-IDs: the From address's, so they are unique to the sender. */
function idDomain(from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return m ? m[1]!.toLowerCase() : 'lantern.alerting';
}

export function threadRootId(groupKey: string, from: string): string {
  return `<lantern-${createHash('sha256').update(groupKey).digest('hex').slice(0, 32)}@${idDomain(from)}>`;
}

export class EmailIntegration implements Integration {
  readonly type = 'email' as const;
  readonly sendResolved: boolean;
  private readonly clock: Clock;
  private readonly nflog?: NotificationLog;
  private readonly host: string;
  private readonly port: number;
  /** Groups this process has already mailed (the thread root exists). */
  private readonly started = new Set<string>();

  constructor(
    readonly name: string,
    private readonly opts: EmailOptions,
    deps: EmailDeps = {},
  ) {
    this.sendResolved = opts.sendResolved;
    this.clock = deps.clock ?? systemClock;
    this.nflog = deps.nflog;
    ({ host: this.host, port: this.port } = parseSmarthost(opts.smarthost));
  }

  private transportOptions(): SMTPTransport.Options {
    const secure = this.opts.forceImplicitTls ?? this.port === 465;
    return {
      host: this.host,
      port: this.port,
      secure,
      name: this.opts.hello,
      requireTLS: !secure && this.opts.requireTls,
      // Alertmanager never attempts STARTTLS when require_tls is false
      ignoreTLS: !secure && !this.opts.requireTls,
      auth: this.opts.authUsername ? { user: this.opts.authUsername, pass: this.opts.authPassword ?? '' } : undefined,
      tls: this.opts.tls ? { rejectUnauthorized: this.opts.tls.rejectUnauthorized ?? true, ca: this.opts.tls.ca, servername: this.opts.tls.serverName } : undefined,
      connectionTimeout: this.opts.timeoutMs,
      greetingTimeout: this.opts.timeoutMs,
      socketTimeout: this.opts.timeoutMs,
      logger: false,
      debug: false,
    };
  }

  private async isFirst(ctx: NotificationContext): Promise<boolean> {
    if (this.started.has(ctx.groupKey)) return false;
    if (!this.nflog) return true;
    return !(await this.nflog.get(ctx.groupKey, ctx.receiver, this.name));
  }

  async notify(ctx: NotificationContext, signal: AbortSignal): Promise<void> {
    const content = buildContent(ctx, this.clock.now());
    const root = threadRootId(ctx.groupKey, this.opts.from);
    const first = await this.isFirst(ctx);
    const messageId = first ? root : `<lantern-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}@${idDomain(this.opts.from)}>`;
    const transport = nodemailer.createTransport(this.transportOptions());
    const abort = () => transport.close();
    signal.addEventListener('abort', abort, { once: true });
    try {
      if (signal.aborted) throw new RetryableNotifyError(`${this.name}: aborted`);
      await transport.sendMail({
        from: this.opts.from,
        to: this.opts.to,
        subject: truncate(subjectLine(content), MAX_SUBJECT),
        text: emailText(content),
        html: emailHtml(content),
        headers: this.opts.headers,
        messageId,
        ...(first ? {} : { inReplyTo: root, references: [root] }),
      });
    } catch (err) {
      throw this.classify(err, signal);
    } finally {
      signal.removeEventListener('abort', abort);
      transport.close();
    }
    if (this.started.size >= MAX_REMEMBERED) this.started.clear();
    this.started.add(ctx.groupKey);
  }

  /** SMTP 5xx (bad recipient, auth refused) is permanent; 4xx, network trouble and timeouts are retried. */
  private classify(err: unknown, signal: AbortSignal): Error {
    if (err instanceof RetryableNotifyError) return err;
    const msg = `${this.name}: sending via ${this.host}:${this.port} failed: ${safeMessage(err, [this.opts.authPassword])}`;
    if (signal.aborted) return new RetryableNotifyError(msg);
    const code = (err as { responseCode?: unknown }).responseCode;
    if (typeof code === 'number' && code >= 500 && code < 600) return new PermanentNotifyError(msg, code);
    const kind = (err as { code?: unknown }).code;
    if (kind === 'EENVELOPE' || kind === 'EMESSAGE' || (kind === 'ETLS' && this.opts.requireTls && typeof code !== 'number')) {
      // a malformed address or a server without STARTTLS under require_tls will not fix itself
      return new PermanentNotifyError(msg, typeof code === 'number' ? code : undefined);
    }
    return new RetryableNotifyError(msg);
  }
}
