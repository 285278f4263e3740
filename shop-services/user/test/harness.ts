import { createTestTelemetry, type TestTelemetry } from '@lantern/shop-common/testing';
import { fetchJson, freshSchema, infra, uniqueName } from '@lantern/testkit';
import { loadConfig, createInternalTokenSigner, type AuthUser } from '@lantern/shop-common';
import { createUserService, userConfigSchema, USER_SERVICE_NAME, type UserService } from '../src/index.js';

export const INTERNAL_SECRET = 'internal-secret-for-user-tests-0123456789';
export const JWT_SECRET = 'jwt-secret-for-user-tests-0123456789-abcdef';

function testTelemetry(): TestTelemetry {
  return createTestTelemetry(USER_SERVICE_NAME);
}

export interface Harness {
  url: string;
  service: UserService;
  stop(): Promise<void>;
  call(method: string, path: string, opts?: CallOptions): Promise<Reply>;
}

export interface CallOptions {
  /** Acting user in the internal token; null = a service call without a user. */
  user?: AuthUser | null;
  /** Override the Authorization token (null = none). */
  token?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface Reply {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions poke into arbitrary JSON
  body: any;
}

const gateway = createInternalTokenSigner({ service: 'shop-gateway', secret: INTERNAL_SECRET });

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const schema = await freshSchema('user_svc');
  const config = loadConfig(userConfigSchema, {
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    INTERNAL_AUTH_SECRET: INTERNAL_SECRET,
    JWT_SECRET,
    DB_SCHEMA: schema.name,
    REDIS_KEY_PREFIX: `${uniqueName('user')}:`,
    BODY_LIMIT: '16kb',
    ...env,
  });
  // cheap argon2 parameters: the tests exercise behaviour, not hashing cost, on a shared 2-core box
  const service = await createUserService({ config, telemetry: testTelemetry(), passwordHashing: { memoryCost: 1024, timeCost: 1 } });
  const running = await service.listen();

  return {
    url: running.url,
    service,
    async stop() {
      await running.close();
      await service.close();
      await schema.drop();
    },
    async call(method, path, opts = {}) {
      const token = opts.token !== undefined ? opts.token : await gateway.sign(USER_SERVICE_NAME, opts.user ?? undefined);
      return fetchJson(running.url + path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...opts.headers },
        body: opts.body,
        rawBody: opts.rawBody,
      });
    },
  };
}

export function newEmail(tag = 'u'): string {
  return `${uniqueName(tag)}@example.com`;
}
