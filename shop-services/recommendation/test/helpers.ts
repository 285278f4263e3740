import { createTestTelemetry, type TestTelemetry } from '@lantern/shop-common/testing';
import { createServer } from 'node:net';
import type { Counter } from 'prom-client';
import { fetchJson, infra, uniqueName } from '@lantern/testkit';
import { createInternalTokenSigner, runService, type RunningService } from '@lantern/shop-common';
import { createRecommendationService, type RecommendationService } from '../src/app.js';
import { loadRecommendationConfig } from '../src/config.js';
import { createRedisClient, waitForRedis } from '../src/redis.js';

/** Current value of a counter series (0 if never incremented). */
export async function counterValue(counter: Counter<string>, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  const match = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}

/** A TCP port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}


export const SECRET = 'test-internal-secret-0123456789-abcdef';

export function testTelemetry(): TestTelemetry {
  return createTestTelemetry('recommendation');
}

export interface TestService extends RecommendationService {
  prefix: string;
  url: string;
  call(method: string, path: string, opts?: { body?: unknown; rawBody?: string; token?: string | null; user?: { id: string; role: 'customer' } }): Promise<{ status: number; body: ApiBody }>;
}

export type ApiBody = Record<string, unknown> & { error?: { code: string; message: string; details?: { path: string; message: string }[] } };

const signer = createInternalTokenSigner({ service: 'gateway', secret: SECRET });

/** A real service on an ephemeral port over a run-unique Redis prefix; cleaned up in teardown. */
export async function startTestService(
  t: { teardown(fn: () => Promise<void> | void): void },
  env: Record<string, string> = {},
  opts: { redisUrl?: string } = {},
): Promise<TestService> {
  const prefix = uniqueName('reco_test');
  const config = loadRecommendationConfig({ INTERNAL_AUTH_SECRET: SECRET, PORT: '0', REDIS_PREFIX: prefix, RECO_STATIC_PRODUCTS: 's1,s2,s3', ...env });
  const redis = createRedisClient(opts.redisUrl ?? infra.redisUrl, { commandTimeoutMs: 1000 });
  redis.on('error', () => {}); // the unreachable-Redis tests expect connection errors
  if (!opts.redisUrl) await waitForRedis(redis);
  const service = createRecommendationService({ telemetry: testTelemetry(), redis, config });
  const running: RunningService = await runService({ app: service.app, telemetry: testTelemetry(), port: 0, host: '127.0.0.1' });
  t.teardown(async () => {
    await running.close();
    if (redis.status === 'ready') {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });
  return {
    ...service,
    prefix,
    url: running.url,
    async call(method, path, o = {}) {
      const token = o.token === undefined ? await signer.sign('recommendation', o.user) : o.token;
      const res = await fetchJson(running.url + path, { method, headers: token ? { authorization: `Bearer ${token}` } : {}, body: o.body, rawBody: o.rawBody });
      return { status: res.status, body: (res.body ?? {}) as ApiBody };
    },
  };
}
