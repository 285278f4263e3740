import { createTestTelemetry, type TestTelemetry } from '@lantern/shop-common/testing';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { z } from 'zod';
import {
  loadConfig,
  createAccessTokenIssuer,
  createServiceApp,
  defineRoute,
  runService,
  type AnyRoute,
  type AuthUser,
  type RunningService,
} from '@lantern/shop-common';
import { createProductService, loadProductConfig, type ProductService } from '@lantern/shop-product';
import { createRecommendationService, loadRecommendationConfig } from '@lantern/shop-recommendation';
import { createUserService, userConfigSchema } from '@lantern/shop-user';
import { fetchJson, freshSchema, infra, uniqueName, type FreshSchema, type JsonResponse } from '@lantern/testkit';
import { createGateway, loadGatewayConfig, type Gateway } from '../src/index.js';

export const INTERNAL_SECRET = 'gateway-test-internal-secret-0123456789';
export const JWT_SECRET = 'gateway-test-jwt-secret-0123456789abcdefgh';
export const issuer = createAccessTokenIssuer(JWT_SECRET);
export const admin: AuthUser = { id: 'admin-1', role: 'admin', email: 'admin@example.test' };
export const customer: AuthUser = { id: 'customer-1', role: 'customer', email: 'c1@example.test' };

export const accessToken = async (user: AuthUser) => (await issuer.sign(user)).token;

export function testTelemetry(serviceName: string): TestTelemetry {
  return createTestTelemetry(serviceName);
}

export interface ProductInstance {
  svc: ProductService;
  url: string;
  telemetry: TestTelemetry;
  close(): Promise<void>;
}

/** The real product service on a fresh schema with a small seeded catalogue. */
export async function startProduct(): Promise<ProductInstance> {
  const schema: FreshSchema = await freshSchema('gw_product');
  const prefix = `${uniqueName('gw_product')}:`;
  const config = loadProductConfig({
    PORT: '0',
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    INTERNAL_AUTH_SECRET: INTERNAL_SECRET,
    DB_SCHEMA: schema.name,
    REDIS_KEY_PREFIX: prefix,
    CACHE_WARM_TOP_N: '0',
    SEED_ON_START: 'true',
  });
  const telemetry = testTelemetry('product');
  const svc = createProductService({ config, telemetry, seed: { perCategory: 4 } });
  await svc.start();
  const running = await runService({ app: svc.app, telemetry, port: 0, host: '127.0.0.1' });
  return {
    svc,
    url: running.url,
    telemetry,
    async close() {
      await running.close();
      const keys = await svc.redis.keys(`${prefix}*`);
      if (keys.length) await svc.redis.del(...keys);
      await svc.close();
      await schema.drop();
    },
  };
}

/** The real user service on a fresh schema (cheap password hashing: tests exercise behaviour, not cost). */
export async function startUser(): Promise<{ url: string; telemetry: TestTelemetry; close(): Promise<void> }> {
  const schema = await freshSchema('gw_user');
  const config = loadConfig(userConfigSchema, {
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    INTERNAL_AUTH_SECRET: INTERNAL_SECRET,
    JWT_SECRET,
    DB_SCHEMA: schema.name,
    REDIS_KEY_PREFIX: `${uniqueName('gw_user')}:`,
  });
  const telemetry = testTelemetry('shop-user');
  const svc = await createUserService({ config, telemetry, passwordHashing: { memoryCost: 1024, timeCost: 1 } });
  const running = await svc.listen();
  return {
    url: running.url,
    telemetry,
    async close() {
      await running.close();
      await svc.close();
      await schema.drop();
    },
  };
}

/** The real recommendation service (HTTP only, no Kafka) with its own Redis prefix. */
export async function startRecommendation(staticProducts: string[]): Promise<{ url: string; telemetry: TestTelemetry; close(): Promise<void> }> {
  const prefix = uniqueName('gw_reco');
  const config = loadRecommendationConfig({ PORT: '0', REDIS_URL: infra.redisUrl, INTERNAL_AUTH_SECRET: INTERNAL_SECRET, REDIS_PREFIX: prefix, RECO_STATIC_PRODUCTS: staticProducts.join(',') });
  const redis = new Redis(config.REDIS_URL);
  const telemetry = testTelemetry('recommendation');
  const svc = createRecommendationService({ telemetry, redis, config });
  const running = await runService({ app: svc.app, telemetry, port: 0, host: '127.0.0.1' });
  return {
    url: running.url,
    telemetry,
    async close() {
      await running.close();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    },
  };
}

/** A stand-in service on the shop layer (real internal-token check for `audience`). */
export async function startStandIn(audience: string, routes: AnyRoute[]): Promise<RunningService> {
  const telemetry = testTelemetry(audience);
  const app = createServiceApp({ telemetry, routes, serviceAuth: { secret: INTERNAL_SECRET, audience } });
  return runService({ app, telemetry, port: 0, host: '127.0.0.1' });
}

/** The user service's routes as far as the gateway is concerned: echoes who the gateway says is calling. */
export function userStandInRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/users/me',
      summary: 'me',
      auth: 'user',
      handler: async ({ user, ctx }) => ({ id: user.id, role: user.role, email: user.email, forwardedFor: ctx.get('x-forwarded-for'), caller: ctx.state.caller }),
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/login',
      summary: 'login',
      auth: 'none',
      body: z.object({ email: z.string() }),
      handler: async ({ body }) => ({ loggedIn: body.email }),
    }),
  ];
}

export function inventoryStandInRoutes(available: number): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/inventory/:productId',
      summary: 'stock',
      auth: 'none',
      params: z.object({ productId: z.string() }),
      handler: async ({ params }) => ({ productId: params.productId, available, warehouse: 'internal-field-not-exposed' }),
    }),
  ];
}

/** A plain HTTP server that counts requests and answers `status` (a failing upstream). */
export async function startCountingServer(status: number): Promise<{ url: string; count(): number; close(): Promise<void> }> {
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'boom', message: 'failing on purpose' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: () => count,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

export interface GatewayInstance {
  gateway: Gateway;
  url: string;
  redis: Redis;
  telemetry: ReturnType<typeof testTelemetry>;
  close(): Promise<void>;
}

/** A gateway on 127.0.0.1:0 with a fresh rate-limit prefix; env overrides the test defaults. */
export async function startGateway(env: Record<string, string | undefined>, opts: { redisUrl?: string } = {}): Promise<GatewayInstance> {
  const prefix = `${uniqueName('gw_rl')}:`;
  const config = loadGatewayConfig({
    PORT: '0',
    INTERNAL_AUTH_SECRET: INTERNAL_SECRET,
    JWT_SECRET,
    RATE_LIMIT_KEY_PREFIX: prefix,
    RATE_LIMIT_IP_CAPACITY: '10000',
    RATE_LIMIT_USER_CAPACITY: '10000',
    BODY_LIMIT: '8kb',
    UPSTREAM_RETRIES: '1',
    ...env,
  });
  const redis = new Redis(opts.redisUrl ?? infra.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 500, enableOfflineQueue: false, lazyConnect: true });
  redis.on('error', () => undefined);
  await redis.connect().catch(() => undefined); // a dead Redis is part of some tests
  const telemetry = testTelemetry('gateway');
  const gateway = createGateway({ config, telemetry, redis });
  const running = await runService({ app: gateway.app, telemetry, port: 0, host: '127.0.0.1' });
  return {
    gateway,
    url: running.url,
    redis,
    telemetry,
    async close() {
      await running.close();
      await gateway.close();
      if (redis.status === 'ready') {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length) await redis.del(...keys);
      }
      redis.disconnect();
    },
  };
}

export type Res = JsonResponse;

export async function call(base: string, method: string, path: string, opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  return fetchJson(`${base}${path}`, { method, headers, body: opts.body, rawBody: opts.rawBody });
}
