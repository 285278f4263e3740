import { createTestTelemetry, type TestTelemetry } from '@lantern/shop-common/testing';
import { createInternalTokenSigner, runService, type AuthUser, type RunningService } from '@lantern/shop-common';
import { fetchJson, freshSchema, infra, uniqueName, type FreshSchema } from '@lantern/testkit';
import { createProductService, loadProductConfig, type Product, type ProductService } from '@lantern/shop-product';
import type { Kafka } from 'kafkajs';
import { createOrderApp, loadOrderConfig, type OrderApp } from '../../src/index.js';
import { startInventoryStandIn, startPaymentStandIn, type InventoryStandIn, type PaymentStandIn } from './stand-ins.js';

export const SECRET = 'order-test-internal-secret-0123456789abcdef';
const gateway = createInternalTokenSigner({ service: 'gateway', secret: SECRET });

export const alice: AuthUser = { id: '0a11ce00-0000-4000-8000-000000000001', role: 'customer', email: 'alice@example.com' };
export const bob: AuthUser = { id: '0b0b0000-0000-4000-8000-000000000002', role: 'customer', email: 'bob@example.com' };
export const admin: AuthUser = { id: 'ad000000-0000-4000-8000-000000000003', role: 'admin', email: 'admin@example.com' };

export interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

export interface ProductFixture {
  url: string;
  products: Product[];
  close(): Promise<void>;
}

/** The real product service (in-process, fresh schema, small seeded catalogue), on loopback. */
export async function startProducts(): Promise<ProductFixture> {
  const schema = await freshSchema('order_test_product');
  const config = loadProductConfig({
    PORT: '0',
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    INTERNAL_AUTH_SECRET: SECRET,
    DB_SCHEMA: schema.name,
    REDIS_KEY_PREFIX: `${uniqueName('order_test_product')}:`,
    SEED_ON_START: 'true',
    CACHE_WARM_TOP_N: '0',
  });
  const telemetry = createTestTelemetry('product');
  const svc: ProductService = createProductService({ config, telemetry, seed: { perCategory: 1 } });
  await svc.start();
  const running = await runService({ app: svc.app, telemetry, port: 0, host: '127.0.0.1' });
  const { items } = await svc.store.list({ limit: 100, offset: 0, status: 'active', sort: 'price' });
  return {
    url: running.url,
    products: items.filter((p) => p.currency === 'USD'),
    async close() {
      await running.close();
      await svc.close();
      await schema.drop();
    },
  };
}

export interface OrderFixture {
  order: OrderApp;
  url: string;
  schema: FreshSchema;
  telemetry: TestTelemetry;
  inventory: InventoryStandIn;
  payment: PaymentStandIn;
  call(method: string, path: string, opts?: CallOptions): Promise<Reply>;
  /** Stops HTTP and the app (scheduler, relay, consumers); the schema stays (for restarts). */
  stop(): Promise<void>;
}

export interface CallOptions {
  user?: AuthUser | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- asserted field by field
}

export interface StartOptions {
  products: ProductFixture;
  env?: Record<string, string>;
  kafka?: Kafka;
  /** Reuse a schema (a restarted instance) instead of a fresh one. */
  schema?: FreshSchema;
  inventory?: InventoryStandIn;
  payment?: PaymentStandIn;
  /** Start the scheduler (default true). */
  scheduler?: boolean;
}

/** A request as the gateway makes it: internal token carrying the end user (null: no token at all). */
export async function callService(base: string, audience: string, method: string, path: string, opts: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.user !== null) headers.authorization = `Bearer ${await gateway.sign(audience, opts.user ?? alice)}`;
  const res = await fetchJson(`${base}${path}`, { method, headers, body: opts.body, rawBody: opts.rawBody });
  return { status: res.status, headers: res.headers, body: res.body };
}

/** An order service in-process with fresh schema (or a given one), stand-ins for inventory and payment. */
export async function startOrders(t: Teardown, opts: StartOptions): Promise<OrderFixture> {
  const schema = opts.schema ?? (await freshSchema('order_test'));
  const inventory = opts.inventory ?? (await startInventoryStandIn(SECRET));
  const payment = opts.payment ?? (await startPaymentStandIn(SECRET));
  const config = loadOrderConfig({
    PORT: '0',
    DATABASE_URL: infra.databaseUrl,
    INTERNAL_AUTH_SECRET: SECRET,
    DB_SCHEMA: schema.name,
    DB_POOL_MAX: '12',
    PRODUCT_URL: opts.products.url,
    INVENTORY_URL: inventory.url,
    PAYMENT_URL: payment.url,
    SCHEDULER_POLL_MS: '100',
    JOB_RETRY_BASE_MS: '100',
    JOB_RETRY_MAX_MS: '500',
    UPSTREAM_TIMEOUT_MS: '1000',
    PAYMENT_TIMEOUT_CALL_MS: '1000',
    UPSTREAM_BREAKER_RESET_MS: '500',
    ...opts.env,
  });
  const telemetry = createTestTelemetry('order');
  const order = createOrderApp({ config, telemetry, ...(opts.kafka ? { kafka: opts.kafka } : {}) });
  await order.start();
  if (opts.scheduler === false) await order.scheduler.stop();
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
    if (!opts.schema) await schema.drop();
    if (!opts.inventory) await inventory.close();
    if (!opts.payment) await payment.close();
  });
  return {
    order,
    url: running.url,
    schema,
    telemetry,
    inventory,
    payment,
    call: (method, path, o) => callService(running.url, 'order', method, path, o),
    stop,
  };
}

/** Rows of the service's outbox (events not yet sent), oldest first. */
export async function outboxEvents(order: OrderApp): Promise<{ type: string; key: string; data: Record<string, unknown> }[]> {
  const rows = (await order.db.knex('outbox').orderBy('seq')) as { type: string; key: string; payload: string }[];
  return rows.map((r) => ({ type: r.type, key: r.key, data: (JSON.parse(r.payload) as { data: Record<string, unknown> }).data }));
}
