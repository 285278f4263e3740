import { createTestTelemetry, type TestTelemetry } from '@lantern/shop-common/testing';
import { createInternalTokenSigner, runService, type AuthUser } from '@lantern/shop-common';
import { fetchJson, infra } from '@lantern/testkit';
import { createProductService, loadProductConfig, type ProductService } from '../src/index.js';

export const SECRET = 'product-test-internal-secret-0123456789';
export const signer = createInternalTokenSigner({ service: 'gateway', secret: SECRET });
export const admin: AuthUser = { id: 'admin-1', role: 'admin' };
export const customer: AuthUser = { id: 'customer-1', role: 'customer' };

export function testTelemetry(): TestTelemetry {
  return createTestTelemetry('product');
}

export interface Instance {
  svc: ProductService;
  url: string;
  telemetry: ReturnType<typeof testTelemetry>;
  /** SQL statements on the products table that bound `id` (from knex's 'query' event). */
  productQueries(id: string): number;
  close(): Promise<void>;
}

export async function startInstance(opts: { schema: string; prefix: string; env?: Record<string, string>; perCategory?: number }): Promise<Instance> {
  const config = loadProductConfig({
    PORT: '0',
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    INTERNAL_AUTH_SECRET: SECRET,
    DB_SCHEMA: opts.schema,
    REDIS_KEY_PREFIX: opts.prefix,
    BODY_LIMIT: '16kb',
    CACHE_WARM_TOP_N: '0',
    CACHE_DOUBLE_DELETE_DELAY_MS: '200',
    ...opts.env,
  });
  const telemetry = testTelemetry();
  const svc = createProductService({ config, telemetry, seed: { perCategory: opts.perCategory ?? 48 } });
  const queries = new Map<string, number>();
  svc.db.knex.on('query', (q: { sql: string; bindings?: unknown[] }) => {
    if (!/"products"/.test(q.sql)) return;
    for (const b of q.bindings ?? []) if (typeof b === 'string') queries.set(b, (queries.get(b) ?? 0) + 1);
  });
  await svc.start();
  const running = await runService({ app: svc.app, telemetry, port: 0, host: '127.0.0.1' });
  return {
    svc,
    url: running.url,
    telemetry,
    productQueries: (id) => queries.get(id) ?? 0,
    async close() {
      await running.close();
      await svc.close();
    },
  };
}

export interface Call {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
}

/** A request as the gateway makes it: internal token for `user` (omit with user: null → no token). */
export async function call(base: string, method: string, path: string, opts: { user?: AuthUser | null; body?: unknown; rawBody?: string } = {}): Promise<Call> {
  const headers: Record<string, string> = {};
  if (opts.user !== null) headers.authorization = `Bearer ${await signer.sign('product', opts.user ?? customer)}`;
  const res = await fetchJson(`${base}${path}`, { method, headers, body: opts.body, rawBody: opts.rawBody });
  return { status: res.status, body: res.body };
}

export async function cleanRedis(redis: { keys(p: string): Promise<string[]>; del(...k: string[]): Promise<number> }, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
}
