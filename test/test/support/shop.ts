// The whole shop as real processes for one test file: user, product, inventory, payment, order,
// notification and the gateway, each started through the SDK (src/main.ts) on a free loopback port,
// on fresh Postgres schemas, fresh Redis key prefixes and fresh Kafka topics and consumer groups, with
// spans exported to an OTLP receiver and email sent to an SMTP server, both on loopback.
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { createAccessTokenIssuer, type AuthUser } from '@lantern/shop-common';
import { createTopics, fetchJson, freshSchema, infra, startOtlpReceiver, uniqueName, waitFor, type FreshSchema, type JsonResponse, type OtlpReceiver } from '@lantern/testkit';
import { startMailbox, type Mailbox } from './mailbox.js';
import { freePort, startService, type RunningProcess } from './processes.js';

export const JWT_SECRET = 'e2e-jwt-secret-0123456789abcdefghijklmnopq';
export const INTERNAL_AUTH_SECRET = 'e2e-internal-secret-0123456789abcdefghijk';
/** HMAC key of payment provider callbacks (the simulated bank signs with it; a test can too). */
export const PAYMENT_CALLBACK_SECRET = 'e2e-callback-secret-0123456789abcdefghijk';
export const ADMIN_EMAIL = 'e2e-admin@example.com';
export const ADMIN_PASSWORD = 'e2e admin password 0123';

export type ServiceName = 'user' | 'product' | 'inventory' | 'payment' | 'order' | 'notification' | 'gateway';

export interface ShopOptions {
  /** The order service's payment timeout (an unpaid order expires after it). */
  paymentTimeoutMs: number;
}

export interface Shop {
  gatewayUrl: string;
  services: Record<ServiceName, RunningProcess>;
  mailbox: Mailbox;
  otlp: OtlpReceiver;
  topics: { orders: string; payments: string; inventory: string; flashSales: string };
  stop(): Promise<void>;
}

/** Names of this run's topics, consumer groups, schemas and key prefixes: nothing shared with other runs. */
function runNames() {
  const topic = (name: string) => uniqueName(`e2e-${name}`).replace(/_/g, '-');
  return {
    topics: { orders: topic('orders'), payments: topic('payments'), inventory: topic('inventory'), flashSales: topic('flash-sales') },
    groups: { orderPayments: topic('order-payments'), orderFlashSales: topic('order-flash-sales'), notification: topic('notification') },
    redisPrefix: `${uniqueName('e2e_shop')}:`,
  };
}

/** Deletes this run's Redis keys (never FLUSHDB: the server is shared). */
async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(infra.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function deleteTopics(names: string[]): Promise<void> {
  const admin = new Kafka({ clientId: 'lantern-e2e', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: names, timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }
}

export async function startShop(opts: ShopOptions): Promise<Shop> {
  const names = runNames();
  const { topics, groups, redisPrefix } = names;
  const allTopics = Object.values(topics).flatMap((t) => [t, `${t}.dlq`]);
  const schemaOf: Partial<Record<ServiceName, FreshSchema>> = {};
  const running: Partial<Record<ServiceName, RunningProcess>> = {};
  const [mailbox, otlp] = await Promise.all([startMailbox(), startOtlpReceiver()]);

  const cleanup = async () => {
    await Promise.all(Object.values(running).map((p) => p.stop()));
    await Promise.allSettled([
      ...Object.values(schemaOf).map((s) => s.drop()),
      deleteKeys(redisPrefix),
      deleteTopics(allTopics),
      mailbox.close(),
      otlp.close(),
    ]);
  };

  try {
    const withSchema: ServiceName[] = ['user', 'product', 'inventory', 'payment', 'order', 'notification'];
    await Promise.all([
      createTopics(allTopics),
      ...withSchema.map(async (s) => {
        schemaOf[s] = await freshSchema(`e2e_${s}`);
      }),
    ]);
    const ports = Object.fromEntries(await Promise.all((['user', 'product', 'inventory', 'payment', 'order', 'notification', 'gateway'] as const).map(async (s) => [s, await freePort()]))) as Record<ServiceName, number>;
    const url = (s: ServiceName) => `http://127.0.0.1:${ports[s]}`;
    const gatewayUrl = url('gateway');
    const common: Record<string, string> = {
      DATABASE_URL: infra.databaseUrl,
      REDIS_URL: infra.redisUrl,
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      INTERNAL_AUTH_SECRET,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_TRACES_SAMPLER: 'always_on',
      // spans reach the receiver within a fraction of a second instead of the default 5 s
      OTEL_BSP_SCHEDULE_DELAY: '200',
      LOG_LEVEL: 'info',
    };
    const env: Record<ServiceName, Record<string, string>> = {
      user: { JWT_SECRET, DB_SCHEMA: schemaOf.user!.name, REDIS_KEY_PREFIX: `${redisPrefix}user:`, BOOTSTRAP_ADMIN_EMAIL: ADMIN_EMAIL, BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD },
      product: { DB_SCHEMA: schemaOf.product!.name, REDIS_KEY_PREFIX: `${redisPrefix}product:`, SEED_ON_START: 'true', CACHE_WARM_TOP_N: '0' },
      inventory: { DB_SCHEMA: schemaOf.inventory!.name, REDIS_KEY_PREFIX: `${redisPrefix}inventory:`, INVENTORY_TOPIC: topics.inventory, SEED_ON_START: 'true' },
      payment: {
        DB_SCHEMA: schemaOf.payment!.name,
        PAYMENTS_TOPIC: topics.payments,
        PAYMENT_CALLBACK_SECRET,
        // the simulated bank settles through the public path, as a real provider would: via the gateway
        BANK_CALLBACK_URL: `${gatewayUrl}/api/payments/callbacks/bank`,
        BANK_CALLBACK_INTERNAL_TOKEN: 'false',
        RECONCILIATION_INTERVAL_MS: '0',
      },
      order: {
        DB_SCHEMA: schemaOf.order!.name,
        // both spellings of the upstream keys (PRODUCT_URL … and PRODUCT_SERVICE_URL …): the service reads one
        PRODUCT_URL: url('product'),
        INVENTORY_URL: url('inventory'),
        PAYMENT_URL: url('payment'),
        PRODUCT_SERVICE_URL: url('product'),
        INVENTORY_SERVICE_URL: url('inventory'),
        PAYMENT_SERVICE_URL: url('payment'),
        ORDERS_TOPIC: topics.orders,
        PAYMENTS_TOPIC: topics.payments,
        FLASH_SALES_TOPIC: topics.flashSales,
        PAYMENTS_GROUP_ID: groups.orderPayments,
        FLASH_SALES_GROUP_ID: groups.orderFlashSales,
        PAYMENT_TIMEOUT_MS: String(opts.paymentTimeoutMs),
        SCHEDULER_POLL_MS: '250',
        OUTBOX_POLL_MS: '100',
      },
      notification: {
        DB_SCHEMA: schemaOf.notification!.name,
        ORDERS_TOPIC: topics.orders,
        PAYMENTS_TOPIC: topics.payments,
        KAFKA_GROUP_ID: groups.notification,
        // a fresh group on fresh topics: read what was published before it joined
        KAFKA_FROM_BEGINNING: 'true',
        SMTP_URL: mailbox.url,
        DELIVERY_POLL_MS: '200',
      },
      gateway: {
        JWT_SECRET,
        USER_SERVICE_URL: url('user'),
        PRODUCT_SERVICE_URL: url('product'),
        ORDER_SERVICE_URL: url('order'),
        INVENTORY_SERVICE_URL: url('inventory'),
        PAYMENT_SERVICE_URL: url('payment'),
        NOTIFICATION_SERVICE_URL: url('notification'),
        RATE_LIMIT_KEY_PREFIX: `${redisPrefix}gateway:`,
        // a loaded CI machine must not turn the product page's stock part into a degraded null
        DETAILS_PART_TIMEOUT_MS: '5000',
      },
    };
    // all at once: each waits only for its own /readyz (the services reach each other lazily)
    await Promise.all(
      (Object.keys(env) as ServiceName[]).map(async (s) => {
        running[s] = await startService(s, { ...common, ...env[s] }, { port: ports[s], readyTimeoutMs: 90_000 });
      }),
    );
    return { gatewayUrl, services: running as Record<ServiceName, RunningProcess>, mailbox, otlp, topics, stop: cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

// ------------------------------------------------------------------ talking to the shop through the gateway

export interface Customer {
  id: string;
  email: string;
  password: string;
  token: string;
}

export interface ApiOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One request to the gateway, as a browser would send it. */
export function api(shop: Shop, method: string, path: string, opts: ApiOptions = {}): Promise<JsonResponse> {
  return fetchJson(`${shop.gatewayUrl}${path}`, {
    method,
    headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
}

/** Registers a customer through the gateway (their session's access token comes with it). */
export async function registerCustomer(shop: Shop, name: string): Promise<Customer> {
  const email = `${uniqueName(name).replace(/_/g, '-')}@example.com`;
  const password = `correct horse battery ${name}`;
  const res = await api(shop, 'POST', '/api/users/register', { body: { email, password, name } });
  if (res.status !== 201) throw new Error(`register ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id as string, email, password, token: res.body.accessToken as string };
}

export async function login(shop: Shop, email: string, password: string): Promise<string> {
  const res = await api(shop, 'POST', '/api/users/login', { body: { email, password } });
  if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.accessToken as string;
}

/** An access token signed like the user service's, with another secret: what a forger can make. */
export async function forgedToken(user: AuthUser): Promise<string> {
  return (await createAccessTokenIssuer('not-the-shop-secret-0123456789abcdefghijkl').sign(user)).token;
}

export interface Stock {
  productId: string;
  onHand: number;
  reserved: number;
  available: number;
}

export async function stockOf(shop: Shop, token: string, productId: string): Promise<Stock> {
  const res = await api(shop, 'GET', `/api/inventory/${productId}`, { token });
  if (res.status !== 200) throw new Error(`stock of ${productId}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Stock;
}

/** Polls GET /api/orders/:id until its status is `status`. */
export function orderReaches(shop: Shop, token: string, orderId: string, status: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  return waitFor(
    async () => {
      const res = await api(shop, 'GET', `/api/orders/${orderId}`, { token });
      return res.status === 200 && res.body.status === status ? (res.body as Record<string, unknown>) : undefined;
    },
    { timeoutMs, intervalMs: 200, what: `order ${orderId} ${status}` },
  );
}
