import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import type { Counter } from 'prom-client';
import { createTestTelemetry, type TestTelemetry } from '@lantern/shop-common/testing';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInternalTokenSigner, type AuthUser } from '@lantern/shop-common';
import { createTopics, fetchJson, freshSchema, infra, uniqueName, waitFor, type FreshSchema } from '@lantern/testkit';
import { createFlashSaleService, loadFlashSaleConfig, type FlashSaleService } from '../src/index.js';
import { startFakeInventory, type FakeInventory } from './fake-inventory.js';

export const SECRET = 'flash-sale-test-internal-secret-0123456789';
export const signer = createInternalTokenSigner({ service: 'gateway', secret: SECRET });
export const admin: AuthUser = { id: 'admin-1', role: 'admin' };

export function customer(id = `u-${randomUUID()}`): AuthUser {
  return { id, role: 'customer', email: `${id}@example.com` };
}

export interface Call {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
}

export interface TestShop {
  svc: FlashSaleService;
  url: string;
  telemetry: TestTelemetry;
  inventory: FakeInventory;
  schema: string;
  prefix: string;
  topic: string;
  ordersTopic: string;
  kafka: Kafka;
  /** Product with plenty of stock at the fake inventory. */
  productId: string;
  /** A request as the gateway makes it: internal token carrying `user` (null: no token; token: that string). */
  call(method: string, path: string, opts?: { user?: AuthUser | null; body?: unknown; rawBody?: string; token?: string }): Promise<Call>;
  /** Creates a sale as admin (defaults: stock 10, started a second ago, ending in an hour). */
  createSale(overrides?: Record<string, unknown>): Promise<Call>;
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Background parts: relay on, consumer and settler off unless asked. */
  run?: { relay?: boolean; consumer?: boolean; settler?: boolean };
  /** Kafka brokers for the service (e.g. a closed port: Kafka down). */
  kafkaBrokers?: string[];
  /** Reuse a schema (a second instance of the same deployment). */
  schema?: string;
}

/** The service in-process on an ephemeral port, over a fresh schema, Redis prefix and topics. */
export async function startShop(opts: StartOptions = {}): Promise<TestShop> {
  const fresh: FreshSchema | undefined = opts.schema ? undefined : await freshSchema('flash_sale_test');
  const schema = opts.schema ?? fresh!.name;
  const prefix = `${uniqueName('fs_test')}:`;
  const topic = uniqueName('flash-sales').replace(/_/g, '-');
  const ordersTopic = uniqueName('orders').replace(/_/g, '-');
  await createTopics([topic, ordersTopic, `${ordersTopic}.dlq`]);
  const inventory = await startFakeInventory(SECRET);
  const productId = randomUUID();
  inventory.stock.set(productId, 1_000_000);
  const config = loadFlashSaleConfig({
    PORT: '0',
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    KAFKA_BROKERS: (opts.kafkaBrokers ?? infra.kafkaBrokers).join(','),
    INTERNAL_AUTH_SECRET: SECRET,
    DB_SCHEMA: schema,
    REDIS_KEY_PREFIX: prefix,
    INVENTORY_SERVICE_URL: inventory.url,
    FLASH_SALES_TOPIC: topic,
    ORDERS_TOPIC: ordersTopic,
    KAFKA_GROUP_ID: uniqueName('flash-sale-orders'),
    SETTLE_INTERVAL_MS: '0',
    SETTLE_GRACE_MS: '0',
    OUTBOX_POLL_INTERVAL_MS: '100',
    BODY_LIMIT: '16kb',
    ...opts.env,
  });
  const kafka = new Kafka({ clientId: 'flash-sale-test', brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100 } });
  const telemetry = createTestTelemetry('flash-sale');
  const svc = createFlashSaleService({ config, telemetry, kafka, run: { relay: true, consumer: false, settler: false, ...opts.run } });
  await svc.start();
  const running = await listen(svc.app.callback());
  const call: TestShop['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = {};
    const token = o.token ?? (o.user === null ? undefined : await signer.sign('flash-sale', o.user ?? customer('someone')));
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetchJson(`${running.url}${path}`, { method, headers, body: o.body, rawBody: o.rawBody });
    return { status: res.status, headers: res.headers, body: res.body };
  };
  return {
    svc,
    url: running.url,
    telemetry,
    inventory,
    schema,
    prefix,
    topic,
    ordersTopic,
    kafka,
    productId,
    call,
    createSale: (overrides = {}) =>
      call('POST', '/flash-sales', {
        user: admin,
        body: {
          productId,
          priceCents: 999,
          currency: 'USD',
          stock: 10,
          startsAt: new Date(Date.now() - 1000).toISOString(),
          endsAt: new Date(Date.now() + 3600_000).toISOString(),
          ...overrides,
        },
      }),
    async close() {
      await running.close();
      await svc.close();
      await inventory.close();
      await cleanRedis(prefix);
      await fresh?.drop();
    },
  };
}

/**
 * Like shop-common's runService, but with an accept backlog deep enough for 2,000 buyers connecting
 * in the same instant (Node's default, 511, drops connections on a loaded machine).
 */
async function listen(handler: RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Deletes every key under the prefix (never FLUSHDB: Redis is shared). */
export async function cleanRedis(prefix: string): Promise<void> {
  const r = new Redis(infra.redisUrl, { lazyConnect: true });
  await r.connect();
  try {
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
  } finally {
    r.disconnect();
  }
}

/** Current value of a counter series (0 if never incremented). */
export async function counterValue(counter: Counter<string>, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  const match = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}

/** Every message on `topic` from the beginning, until `until(messages)` holds. */
export async function readTopic(kafka: Kafka, topic: string, until: (values: unknown[]) => boolean, timeoutMs = 30_000): Promise<unknown[]> {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('fs-test-reader'), allowAutoTopicCreation: false });
  const values: unknown[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(JSON.parse(message.value?.toString('utf8') ?? 'null'));
      },
    });
    await waitFor(() => until(values), { timeoutMs, intervalMs: 100, what: `messages on ${topic}` });
    return values;
  } finally {
    await consumer.disconnect();
  }
}

/** Signs internal tokens for many users up front, so a burst measures the service, not the signing. */
export async function tokensFor(users: AuthUser[]): Promise<string[]> {
  return Promise.all(users.map((u) => signer.sign('flash-sale', u)));
}

/** POSTs a purchase with a pre-signed token; a transport failure is status 0 with the error as code. */
export async function buy(url: string, saleId: string, token: string): Promise<{ status: number; code?: string; purchaseId?: string }> {
  try {
    const res = await fetch(`${url}/flash-sales/${saleId}/purchase`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { purchaseId?: string; error?: { code: string } };
    return { status: res.status, code: body.error?.code, purchaseId: body.purchaseId };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { status: 0, code: `${(err as Error).message}: ${cause?.code ?? cause?.message ?? ''}` };
  }
}
