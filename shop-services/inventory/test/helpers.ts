import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import client from 'prom-client';
import { createTestTelemetry, type TestTelemetry } from '@lantern/shop-common/testing';
import { createInternalTokenSigner, runService, type AuthUser } from '@lantern/shop-common';
import { fetchJson, freshSchema, infra, uniqueName } from '@lantern/testkit';
import { createInventoryService, loadInventoryConfig, type InventoryService } from '../src/index.js';

export const SECRET = 'inventory-test-internal-secret-0123456789';
export const admin: AuthUser = { id: 'admin-1', role: 'admin' };
export const customer: AuthUser = { id: 'customer-1', role: 'customer' };

/** Internal-token issuers a test can call as: the order service, the flash-sale service, the gateway. */
export type Caller = 'order' | 'flash-sale' | 'gateway';
const signers = new Map<Caller, ReturnType<typeof createInternalTokenSigner>>(
  (['order', 'flash-sale', 'gateway'] as const).map((service) => [service, createInternalTokenSigner({ service, secret: SECRET })]),
);

export interface Call {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
}

export interface CallOptions {
  body?: unknown;
  rawBody?: string;
  /** Who calls (default: the order service, no end user). */
  as?: Caller;
  user?: AuthUser;
  /** A literal token (null: none). */
  token?: string | null;
  headers?: Record<string, string>;
}

export interface TestInventory {
  svc: InventoryService;
  telemetry: TestTelemetry;
  url: string;
  prefix: string;
  schema: string;
  call(method: string, path: string, opts?: CallOptions): Promise<Call>;
  /** A stock row for a new product (random UUID), known to Redis as well. */
  addProduct(onHand: number, sku?: string): Promise<{ productId: string; sku: string }>;
  /** FLUSHDB for this test only: deletes every key under the test's prefix. */
  flushRedis(): Promise<number>;
  /** Units Redis shows as available (undefined when it has no key). */
  redisAvailable(productId: string): Promise<number | undefined>;
  /** Postgres's numbers. */
  pgStock(productId: string): Promise<{ onHand: number; reserved: number; allocated: number; available: number }>;
  stop(): Promise<void>;
}

type Teardown = { teardown(fn: () => Promise<void> | void): void };

/** A TCP port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * The service in-process over a fresh Postgres schema and a private Redis prefix, listening on an
 * ephemeral port. Background jobs run rarely unless the test's env says otherwise.
 */
export async function startInventory(t: Teardown, opts: { env?: Record<string, string>; kafka?: Kafka } = {}): Promise<TestInventory> {
  const schema = await freshSchema('inventory_test');
  const prefix = `${uniqueName('inv')}:`;
  const config = loadInventoryConfig({
    INTERNAL_AUTH_SECRET: SECRET,
    PORT: '0',
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    DB_SCHEMA: schema.name,
    REDIS_KEY_PREFIX: prefix,
    SEED_ON_START: 'false',
    SWEEP_INTERVAL_MS: '3600000',
    RECONCILE_INTERVAL_MS: '3600000',
    RECONCILE_MIN_GAP_MS: '50',
    REDIS_COMMAND_TIMEOUT_MS: '3000',
    // tests of several files share the machine's Postgres (max_connections 100) with other suites
    DB_POOL_MAX: '4',
    ...opts.env,
  });
  const telemetry = createTestTelemetry('inventory');
  const svc = createInventoryService({ config, telemetry, ...(opts.kafka ? { kafka: opts.kafka } : {}) });
  await svc.start();
  const running = await runService({ app: svc.app, telemetry, port: 0, host: '127.0.0.1' });
  // a separate connection for the test's own look at Redis (the service's may point at a dead port)
  const redis = new Redis(infra.redisUrl, { maxRetriesPerRequest: 1 });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await running.close();
    await svc.close();
  };
  t.teardown(async () => {
    await stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await schema.drop();
  });
  return {
    svc,
    telemetry,
    url: running.url,
    prefix,
    schema: schema.name,
    stop,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const token = o.token === undefined ? await signers.get(o.as ?? 'order')!.sign('inventory', o.user) : o.token;
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetchJson(running.url + path, { method, headers, body: o.body, rawBody: o.rawBody });
      return { status: res.status, body: res.body };
    },
    async addProduct(onHand, sku) {
      const productId = randomUUID();
      const s = sku ?? `T-${productId.slice(0, 8).toUpperCase()}`;
      await svc.store.seed([{ productId, sku: s }], onHand);
      await svc.reconciler.reconcileProducts([productId]);
      return { productId, sku: s };
    },
    async flushRedis() {
      const keys = await redis.keys(`${prefix}*`);
      return keys.length ? redis.del(...keys) : 0;
    },
    async redisAvailable(productId) {
      const v = await redis.hget(`${prefix}p:${productId}`, 'a');
      return v === null ? undefined : Number(v);
    },
    async pgStock(productId) {
      const row = await svc.store.getStock(productId);
      if (!row) throw new Error(`no stock row for ${productId}`);
      return { onHand: row.onHand, reserved: row.reserved, allocated: row.allocated, available: row.available };
    },
  };
}

/** A metric's current value for the label set (0 if never recorded). */
export async function metricValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = client.register.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val) && !('metricName' in v && v.metricName !== undefined && v.metricName !== name));
  return match?.value ?? 0;
}

export const reserveBody = (productId: string, quantity = 1, orderId: string = randomUUID()) => ({ orderId, items: [{ productId, quantity }] });
