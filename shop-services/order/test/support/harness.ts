// Test fixtures: the real product, inventory and payment services in-process (fresh Postgres schemas,
// private Redis prefixes) on loopback, each reached by the order service through a fault-injecting
// proxy, and the order service itself.
import { createTestTelemetry, type TestTelemetry } from '@lantern/shop-common/testing';
import { createInternalTokenSigner, runService, type AuthUser, type RunningService } from '@lantern/shop-common';
import { fetchJson, freshSchema, infra, uniqueName, type FreshSchema } from '@lantern/testkit';
import { createProductService, loadProductConfig, type Product, type ProductService } from '@lantern/shop-product';
import { createInventoryService, loadInventoryConfig } from '@lantern/shop-inventory';
import { createPaymentService, loadPaymentConfig, type PaymentApp } from '@lantern/shop-payment';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { createOrderApp, loadOrderConfig, type OrderApp } from '../../src/index.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

export const SECRET = 'order-test-internal-secret-0123456789abcdef';
const gateway = createInternalTokenSigner({ service: 'gateway', secret: SECRET });

export const alice: AuthUser = { id: '0a11ce00-0000-4000-8000-000000000001', role: 'customer', email: 'alice@example.com' };
export const bob: AuthUser = { id: '0b0b0000-0000-4000-8000-000000000002', role: 'customer', email: 'bob@example.com' };
export const admin: AuthUser = { id: 'ad000000-0000-4000-8000-000000000003', role: 'admin', email: 'admin@example.com' };

export interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- asserted field by field
}

export interface CallOptions {
  user?: AuthUser | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/** A request as the gateway makes it: internal token carrying the end user (null: no token at all). */
export async function callService(base: string, audience: string, method: string, path: string, opts: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.user !== null) headers.authorization = `Bearer ${await gateway.sign(audience, opts.user ?? alice)}`;
  const res = await fetchJson(`${base}${path}`, { method, headers, body: opts.body, rawBody: opts.rawBody });
  return { status: res.status, headers: res.headers, body: res.body };
}

// ------------------------------------------------------------------ product

export interface ProductFixture {
  url: string;
  /** Active products of the seeded catalogue (one per category), cheapest first. */
  products: Product[];
  close(): Promise<void>;
}

/** The catalogue both product and inventory seed (the same generated ids). */
const PER_CATEGORY = '1';

export async function startProducts(): Promise<ProductFixture> {
  const schema = await freshSchema('order_test_product');
  const prefix = `${uniqueName('order_test_product')}:`;
  const config = loadProductConfig({
    PORT: '0',
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    INTERNAL_AUTH_SECRET: SECRET,
    DB_SCHEMA: schema.name,
    REDIS_KEY_PREFIX: prefix,
    SEED_ON_START: 'true',
    CACHE_WARM_TOP_N: '0',
  });
  const telemetry = createTestTelemetry('product');
  const svc: ProductService = createProductService({ config, telemetry, seed: { perCategory: Number(PER_CATEGORY) } });
  await svc.start();
  const running = await runService({ app: svc.app, telemetry, port: 0, host: '127.0.0.1' });
  const { items } = await svc.store.list({ limit: 100, offset: 0, status: 'active', sort: 'price' });
  return {
    url: running.url,
    products: items.filter((p) => p.currency === 'USD'),
    async close() {
      await running.close();
      const redis = svc.redis;
      const keys = await redis.keys(`${prefix}*`).catch(() => []);
      if (keys.length) await redis.del(...keys);
      await svc.close();
      await schema.drop();
    },
  };
}

// ------------------------------------------------------------------ inventory

export interface InventoryFixture {
  url: string;
  /** Adds units on hand (admin restock). Every product starts at 0. */
  restock(productId: string, quantity: number): Promise<void>;
  available(productId: string): Promise<number>;
  /** The reservation's status at inventory (reserved, confirmed, released, expired), undefined if none. */
  reservation(orderId: string): Promise<string | undefined>;
  allocate(allocationId: string, productId: string, quantity: number): Promise<void>;
  close(): Promise<void>;
}

export async function startInventory(): Promise<InventoryFixture> {
  const schema = await freshSchema('order_test_inventory');
  const prefix = `${uniqueName('order_test_inv')}:`;
  const config = loadInventoryConfig({
    INTERNAL_AUTH_SECRET: SECRET,
    PORT: '0',
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    DB_SCHEMA: schema.name,
    REDIS_KEY_PREFIX: prefix,
    SEED_ON_START: 'true',
    SEED_PER_CATEGORY: PER_CATEGORY,
    SEED_ON_HAND: '0',
    SWEEP_INTERVAL_MS: '3600000',
    RECONCILE_INTERVAL_MS: '3600000',
  });
  const telemetry = createTestTelemetry('inventory');
  const svc = createInventoryService({ config, telemetry });
  await svc.start();
  const running = await runService({ app: svc.app, telemetry, port: 0, host: '127.0.0.1' });
  const call = (method: string, path: string, body?: unknown) => callService(running.url, 'inventory', method, path, { user: admin, ...(body ? { body } : {}) });
  const ok = (r: Reply, what: string) => {
    if (r.status >= 300) throw new Error(`inventory ${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  };
  return {
    url: running.url,
    async restock(productId, quantity) {
      ok(await call('POST', `/inventory/${productId}/restock`, { quantity }), 'restock');
    },
    async available(productId) {
      return ok(await call('GET', `/inventory/${productId}`), 'stock').body.available as number;
    },
    async reservation(orderId) {
      const r = await call('GET', `/inventory/reservations/${orderId}`);
      return r.status === 404 ? undefined : (ok(r, 'reservation').body.status as string);
    },
    async allocate(allocationId, productId, quantity) {
      ok(await call('POST', '/inventory/allocations', { allocationId, productId, quantity }), 'allocate');
    },
    async close() {
      await running.close();
      const redis = new Redis(infra.redisUrl, { maxRetriesPerRequest: 1 });
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await svc.close();
      await schema.drop();
    },
  };
}

// ------------------------------------------------------------------ payment

export interface PaymentFixture {
  url: string;
  app: PaymentApp;
  /** The ledger's payments of an order (what was really charged). */
  paymentsOf(orderId: string): Promise<{ id: string; status: string }[]>;
  /** Events the payment service wrote to its outbox, as envelopes. */
  outbox(type?: string): Promise<{ id: string; type: string; key: string; occurredAt: string; version: number; data: Record<string, unknown> }[]>;
  close(): Promise<void>;
}

/** The real payment service; by default card and wallet, answering in a few ms, every charge approved. */
export async function startPayment(env: Record<string, string> = {}): Promise<PaymentFixture> {
  const schema = await freshSchema('order_test_payment');
  const config = loadPaymentConfig({
    PORT: '0',
    DATABASE_URL: infra.databaseUrl,
    INTERNAL_AUTH_SECRET: SECRET,
    DB_SCHEMA: schema.name,
    PAYMENT_CHANNELS: 'card,wallet',
    CHANNEL_CARD_LATENCY_MS: '2',
    CHANNEL_WALLET_LATENCY_MS: '2',
    CHANNEL_BANK_LATENCY_MS: '2',
    CHANNEL_CARD_JITTER_MS: '0',
    CHANNEL_WALLET_JITTER_MS: '0',
    CHANNEL_BANK_JITTER_MS: '0',
    CHANNEL_BANK_SETTLE_DELAY_MS: '100',
    // generous: the suite runs on a shared, often overloaded 2-core machine
    CHANNEL_TIMEOUT_MS: '2000',
    PAYMENT_DEADLINE_MS: '4000',
    RECONCILIATION_INTERVAL_MS: '0',
    ...env,
  });
  const telemetry = createTestTelemetry('payment');
  const app = createPaymentService({ telemetry, config });
  await app.start();
  const running = await runService({ app: app.app, telemetry, port: 0, host: '127.0.0.1' });
  app.setBaseUrl(running.url);
  return {
    url: running.url,
    app,
    async paymentsOf(orderId) {
      const r = await callService(running.url, 'payment', 'GET', `/payments?orderId=${orderId}`, { user: admin });
      if (r.status !== 200) throw new Error(`payments of ${orderId}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.items;
    },
    async outbox(type) {
      const rows = (await app.db.knex('outbox').modify((q) => (type ? q.where({ type }) : q)).orderBy('seq')) as { payload: string; source: string | null }[];
      return rows.map((r) => ({ source: r.source ?? 'payment', ...JSON.parse(r.payload) }));
    },
    async close() {
      await running.close();
      await app.close();
      await schema.drop();
    },
  };
}

// ------------------------------------------------------------------ order

export interface OrderFixture {
  order: OrderApp;
  url: string;
  schema: FreshSchema;
  telemetry: TestTelemetry;
  inventory: InventoryFixture;
  payment: PaymentFixture;
  /** What the order service sends to inventory and payment passes through these. */
  inventoryProxy: FaultProxy;
  paymentProxy: FaultProxy;
  call(method: string, path: string, opts?: CallOptions): Promise<Reply>;
  /** Stops HTTP and the app (scheduler, relay, consumers); the schema stays (for restarts). */
  stop(): Promise<void>;
}

export interface StartOptions {
  products: ProductFixture;
  inventory: InventoryFixture;
  payment: PaymentFixture;
  env?: Record<string, string>;
  kafka?: Kafka;
  /** A restarted instance: same schema and proxies as an earlier one. */
  restartOf?: OrderFixture;
}

/** The order service in-process over a fresh schema (or the schema of the instance it restarts). */
export async function startOrders(t: Teardown, opts: StartOptions): Promise<OrderFixture> {
  const schema = opts.restartOf?.schema ?? (await freshSchema('order_test'));
  const inventoryProxy = opts.restartOf?.inventoryProxy ?? (await startFaultProxy(opts.inventory.url));
  const paymentProxy = opts.restartOf?.paymentProxy ?? (await startFaultProxy(opts.payment.url));
  const config = loadOrderConfig({
    PORT: '0',
    DATABASE_URL: infra.databaseUrl,
    INTERNAL_AUTH_SECRET: SECRET,
    DB_SCHEMA: schema.name,
    DB_POOL_MAX: '12',
    PRODUCT_SERVICE_URL: opts.products.url,
    INVENTORY_SERVICE_URL: inventoryProxy.url,
    PAYMENT_SERVICE_URL: paymentProxy.url,
    SCHEDULER_POLL_MS: '100',
    JOB_RETRY_BASE_MS: '100',
    JOB_RETRY_MAX_MS: '500',
    UPSTREAM_TIMEOUT_MS: '5000',
    UPSTREAM_BREAKER_RESET_MS: '300',
    PAYMENT_TIMEOUT_CALL_MS: '6000',
    SAGA_STUCK_AFTER_MS: '30000',
    CONSUMERS_ENABLED: 'false',
    ...opts.env,
  });
  const telemetry = createTestTelemetry('order');
  const order = createOrderApp({ config, telemetry, ...(opts.kafka ? { kafka: opts.kafka } : {}) });
  await order.start();
  const running: RunningService = await runService({ app: order.app, telemetry, port: 0, host: '127.0.0.1' });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await running.close();
    await order.close();
  };
  t.teardown(async () => {
    await stop();
    if (!opts.restartOf) {
      await inventoryProxy.close();
      await paymentProxy.close();
      await schema.drop();
    }
  });
  return {
    order,
    url: running.url,
    schema,
    telemetry,
    inventory: opts.inventory,
    payment: opts.payment,
    inventoryProxy,
    paymentProxy,
    call: (method, path, o) => callService(running.url, 'order', method, path, o),
    stop,
  };
}

/** Rows of the order service's outbox (events not yet sent), oldest first. */
export async function outboxEvents(order: OrderApp): Promise<{ type: string; key: string; data: Record<string, unknown> }[]> {
  const rows = (await order.db.knex('outbox').orderBy('seq')) as { type: string; key: string; payload: string }[];
  return rows.map((r) => ({ type: r.type, key: r.key, data: (JSON.parse(r.payload) as { data: Record<string, unknown> }).data }));
}

/** Requests that reached a proxy for one path (and method). */
export const callsTo = (proxy: FaultProxy, method: string, path: RegExp | string): number =>
  proxy.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path))).length;
