import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import type { Counter } from 'prom-client';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { Kafka, logLevel } from 'kafkajs';
import { createTestTelemetry, type TestTelemetry } from '@lantern/shop-common/testing';
import { createEnvelope, createInternalTokenSigner, runService, type AuthUser, type EventEnvelope, type RunningService } from '@lantern/shop-common';
import { fetchJson, freshSchema, infra, uniqueName } from '@lantern/testkit';
import { createNotificationService, loadNotificationConfig, type NotificationService, type NotifiableEvents, type NotifiableType, type SimulatedSmsProvider } from '../src/index.js';

export const SECRET = 'notification-test-internal-secret-0123456789';
export const SMTP_PASSWORD = 'smtp-pa55word-never-logged';
const signer = createInternalTokenSigner({ service: 'gateway', secret: SECRET });

export const alice: AuthUser = { id: 'user-alice', role: 'customer', email: 'alice@example.com' };
export const bob: AuthUser = { id: 'user-bob', role: 'customer', email: 'bob@example.com' };
export const admin: AuthUser = { id: 'user-admin', role: 'admin' };

export interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

/** Current value of a counter series (0 if never incremented). */
export async function counterValue(counter: Counter<string>, labels: Record<string, string>): Promise<number> {
  const { values } = await counter.get();
  return values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
}

/** A TCP port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------------------------
// A real SMTP server on loopback

export interface ReceivedMail {
  from: string | undefined;
  rcpt: string[];
  mail: ParsedMail;
}

export interface Smtp {
  port: number;
  /** smtp://notify:<password>@127.0.0.1:<port> */
  url: string;
  mails: ReceivedMail[];
  /** Replies for the next DATA commands, in order: e.g. [451] refuses one message with 451 and accepts the next. */
  script: number[];
  /** DATA commands seen (accepted or refused). */
  dataCommands: number;
  close(): Promise<void>;
}

export async function startSmtp(t: Teardown, opts: { script?: number[] } = {}): Promise<Smtp> {
  const state: Smtp = { port: 0, url: '', mails: [], script: [...(opts.script ?? [])], dataCommands: 0, close: async () => undefined };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authOptional: false,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'notify' && auth.password === SMTP_PASSWORD) cb(null, { user: auth.username });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      state.dataCommands++;
      const rcpt = session.envelope.rcptTo.map((r) => r.address);
      const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined;
      const code = state.script.shift();
      simpleParser(stream).then(
        (mail) => {
          if (code !== undefined && code >= 400) {
            cb(Object.assign(new Error(code >= 500 ? 'mailbox unavailable' : 'try again later'), { responseCode: code }));
            return;
          }
          state.mails.push({ from, rcpt, mail });
          cb();
        },
        (err: Error) => cb(err),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.server.address() as AddressInfo).port;
  state.url = `smtp://notify:${encodeURIComponent(SMTP_PASSWORD)}@127.0.0.1:${state.port}`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  t.teardown(() => state.close());
  return state;
}

// ---------------------------------------------------------------------------------------------
// The service, in process

export const kafka = new Kafka({ clientId: 'notification-test', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });

export interface TestService {
  svc: NotificationService;
  telemetry: TestTelemetry;
  url: string;
  schema: string;
  call(method: string, path: string, opts?: { user?: AuthUser | null; body?: unknown; rawBody?: string }): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any -- asserted field by field
}

/**
 * The service on an ephemeral port over a fresh schema, with a fast dispatcher. Kafka only when
 * `kafka` is given (then topics and group must be fresh too, through env).
 */
export async function startService(t: Teardown, env: Record<string, string> = {}, opts: { kafka?: Kafka; sms?: SimulatedSmsProvider } = {}): Promise<TestService> {
  const schema = await freshSchema('notification_test');
  const config = loadNotificationConfig({
    PORT: '0',
    DATABASE_URL: infra.databaseUrl,
    INTERNAL_AUTH_SECRET: SECRET,
    DB_SCHEMA: schema.name,
    DB_POOL_MAX: '4',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    KAFKA_GROUP_ID: uniqueName('notification-group'),
    SMTP_TIMEOUT_MS: '2000',
    DELIVERY_LEASE_MS: '10000',
    DELIVERY_POLL_MS: '50',
    DELIVERY_RETRY_BASE_MS: '50',
    DELIVERY_RETRY_MAX_MS: '200',
    DELIVERY_MAX_ATTEMPTS: '3',
    SMS_LATENCY_MS: '0',
    SMS_FAILURE_RATE: '0',
    ...env,
  });
  const telemetry = createTestTelemetry('notification');
  const svc = createNotificationService({ telemetry, config, ...(opts.kafka ? { kafka: opts.kafka } : {}), ...(opts.sms ? { sms: opts.sms } : {}) });
  await svc.start();
  const running: RunningService = await runService({ app: svc.app, telemetry, port: 0, host: '127.0.0.1' });
  t.teardown(async () => {
    await running.close();
    await svc.close();
    await schema.drop();
  });
  return {
    svc,
    telemetry,
    url: running.url,
    schema: schema.name,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = {};
      if (o.user !== null) headers.authorization = `Bearer ${await signer.sign('notification', o.user ?? alice)}`;
      const res = await fetchJson(running.url + path, { method, headers, body: o.body, rawBody: o.rawBody });
      return { status: res.status, body: res.body };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Events

const at = () => new Date().toISOString();

export function orderPlaced(over: Partial<NotifiableEvents['order.placed']> = {}): NotifiableEvents['order.placed'] {
  return {
    orderId: uniqueName('order'),
    userId: alice.id,
    email: alice.email,
    items: [
      { productId: 'p-1', sku: 'SKU-1', name: 'Blue Kettle', quantity: 2, unitPriceCents: 1250 },
      { productId: 'p-2', sku: 'SKU-2', name: 'Tea Cup', quantity: 1, unitPriceCents: 499 },
    ],
    totalCents: 2999,
    currency: 'USD',
    at: at(),
    ...over,
  };
}

export function statusChanged(
  status: NotifiableEvents['order.paid']['status'],
  previousStatus: NotifiableEvents['order.paid']['previousStatus'],
  over: Partial<NotifiableEvents['order.paid']> = {},
): NotifiableEvents['order.paid'] {
  return { orderId: uniqueName('order'), userId: alice.id, email: alice.email, status, previousStatus, totalCents: 2999, currency: 'USD', at: at(), ...over };
}

export function envelope<T extends NotifiableType>(type: T, data: NotifiableEvents[T]): EventEnvelope<NotifiableEvents[T]> {
  return createEnvelope({ type, source: 'notification-test', key: data.orderId, data });
}

export const meta = { topic: 'orders', partition: 0, offset: '0', headers: {}, attempt: 1 };

/** Runs the service's handler for an envelope as the consumer would. */
export async function deliver(svc: NotificationService, env: EventEnvelope): Promise<void> {
  const handler = svc.handlers[env.type];
  if (!handler) throw new Error(`no handler for ${env.type}`);
  await handler(env, meta);
}
