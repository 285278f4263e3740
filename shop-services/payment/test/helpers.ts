import { randomUUID } from 'node:crypto';
import type { Counter, Histogram } from 'prom-client';
import { createTestTelemetry, type TestTelemetry } from '@lantern/shop-common/testing';
import { createInternalTokenSigner, runService, type AuthUser, type RunningService } from '@lantern/shop-common';
import { fetchJson, freshSchema, infra } from '@lantern/testkit';
import { createPaymentService, type PaymentApp } from '../src/app.js';
import { loadPaymentConfig, type PaymentConfig } from '../src/config.js';

export const SECRET = 'payment-test-internal-secret-0123456789';
export const CALLBACK_SECRET = 'payment-test-callback-secret-0123456789abcdef';
export const admin: AuthUser = { id: 'admin-1', role: 'admin' };
export const alice: AuthUser = { id: 'alice', role: 'customer', email: 'alice@example.com' };
export const bob: AuthUser = { id: 'bob', role: 'customer' };

/** Fast, healthy, synchronous channels unless a test says otherwise. */
const TEST_ENV: Record<string, string> = {
  PORT: '0',
  DATABASE_URL: infra.databaseUrl,
  INTERNAL_AUTH_SECRET: SECRET,
  PAYMENT_CALLBACK_SECRET: CALLBACK_SECRET,
  CHANNEL_CARD_LATENCY_MS: '2',
  CHANNEL_WALLET_LATENCY_MS: '2',
  CHANNEL_BANK_LATENCY_MS: '2',
  CHANNEL_CARD_JITTER_MS: '0',
  CHANNEL_WALLET_JITTER_MS: '0',
  CHANNEL_BANK_JITTER_MS: '0',
  CHANNEL_BANK_SETTLE_DELAY_MS: '50',
  // generous: on a loaded CI machine a healthy channel's call (a provider-ledger insert) must not time out
  CHANNEL_TIMEOUT_MS: '5000',
  CHANNEL_LOOKUP_TIMEOUT_MS: '5000',
  PAYMENT_DEADLINE_MS: '15000',
  RECONCILIATION_INTERVAL_MS: '0',
  RECONCILIATION_GRACE_MS: '0',
  DB_POOL_MAX: '30',
};

export interface CallOptions {
  /** The end user in the internal token (null: none). Default: none. */
  user?: AuthUser | null;
  /** Issuer of the internal token; null sends no token. Default 'gateway'. */
  caller?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface Call {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
}

export interface TestService {
  svc: PaymentApp;
  config: PaymentConfig;
  url: string;
  telemetry: TestTelemetry;
  call(method: string, path: string, opts?: CallOptions): Promise<Call>;
  /** POST /payments as the order service does it, for `user`. */
  pay(body: { orderId?: string; userId?: string; amountCents?: number; currency?: string; method?: string }, opts?: { user?: AuthUser; key?: string }): Promise<Call>;
  /** Rows of a table in this service's schema. */
  rows<T = Record<string, unknown>>(table: string, where?: Record<string, unknown>): Promise<T[]>;
  /** Outbox events (parsed envelopes) of one type. */
  events(type?: string): Promise<{ key: string; type: string; data: Record<string, unknown> }[]>;
}

/** A real service on an ephemeral loopback port over a fresh Postgres schema; closed in teardown. */
export async function startService(t: { teardown(fn: () => Promise<void> | void): void }, env: Record<string, string> = {}, opts: { traceId?: string; random?: () => number } = {}): Promise<TestService> {
  const schema = await freshSchema('payment_test');
  const config = loadPaymentConfig({ ...TEST_ENV, DB_SCHEMA: schema.name, ...env });
  const telemetry = createTestTelemetry('payment', opts.traceId ? { traceId: opts.traceId } : {});
  const svc = createPaymentService({ telemetry, config, ...(opts.random ? { random: opts.random } : {}) });
  await svc.start();
  const running: RunningService = await runService({ app: svc.app, telemetry, port: 0, host: '127.0.0.1' });
  svc.setBaseUrl(running.url);
  t.teardown(async () => {
    await running.close();
    await svc.close();
    await schema.drop();
  });
  const call: TestService['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const caller = o.caller === undefined ? 'gateway' : o.caller;
    if (caller !== null) {
      const signer = createInternalTokenSigner({ service: caller, secret: SECRET });
      headers.authorization = `Bearer ${await signer.sign('payment', o.user ?? undefined)}`;
    }
    const res = await fetchJson(`${running.url}${path}`, { method, headers, body: o.body, rawBody: o.rawBody });
    return { status: res.status, headers: res.headers, body: res.body };
  };
  return {
    svc,
    config,
    url: running.url,
    telemetry,
    call,
    pay: (body, o = {}) =>
      call('POST', '/payments', {
        caller: 'order',
        user: o.user ?? alice,
        body: { orderId: randomUUID(), userId: (o.user ?? alice).id, amountCents: 1999, currency: 'USD', ...body },
        ...(o.key ? { headers: { 'idempotency-key': o.key } } : {}),
      }),
    rows: async <T>(table: string, where: Record<string, unknown> = {}) => (await svc.db.knex(table).where(where)) as T[],
    events: async (type) => {
      const q = svc.db.knex('outbox').orderBy('seq');
      if (type) q.where({ type });
      const rows = (await q) as { key: string; type: string; payload: string }[];
      return rows.map((r) => ({ key: r.key, type: r.type, data: (JSON.parse(r.payload) as { data: Record<string, unknown> }).data }));
    },
  };
}

/** Current value of a counter series (0 if never incremented). */
export async function counterValue(counter: Counter<string>, labels: Record<string, string>): Promise<number> {
  const { values } = await counter.get();
  return values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
}

/** Observation count of a histogram series. */
export async function histogramCount(histogram: Histogram<string>, labels: Record<string, string>): Promise<number> {
  const { values } = await histogram.get();
  return values.find((v) => v.metricName?.endsWith('_count') && Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
}

export function detailPaths(body: { error?: { details?: { path?: string }[] } }): string[] {
  return (body.error?.details ?? []).map((d) => d.path ?? '');
}
