import type Koa from 'koa';
import { Redis } from 'ioredis';
import {
  docsOnly,
  createDb,
  createServiceApp,
  runService,
  createAccessTokenIssuer,
  type AnyRoute,
  type Db,
  type RunningService,
  type ServiceTelemetry,
} from '@lantern/shop-common';
import type { UserConfig } from './config.js';
import { migrations } from './migrations.js';
import { createUsersRepo } from './users-repo.js';
import { createPasswordHasher, type PasswordHasherOptions } from './passwords.js';
import { createLoginGuard } from './login-guard.js';
import { createSessions } from './sessions.js';
import { authRoutes } from './routes/auth-routes.js';
import { profileRoutes } from './routes/profile-routes.js';
import { addressRoutes } from './routes/address-routes.js';
import type { UserServiceDeps } from './deps.js';

/** Audience of the internal tokens this service accepts. */
export const USER_SERVICE_NAME = 'shop-user';

export interface CreateUserServiceOptions {
  config: UserConfig;
  telemetry: ServiceTelemetry;
  /** Defaults to OWASP argon2id parameters; tests may lower them. */
  passwordHashing?: PasswordHasherOptions;
}

export interface UserService {
  app: Koa;
  routes: AnyRoute[];
  db: Db;
  redis: Redis;
  deps: UserServiceDeps;
  /** Listens on config.HOST:PORT and registers readiness checks and shutdown hooks with telemetry. */
  listen(): Promise<RunningService>;
  /** Closes the database pool and Redis (for tests; in production telemetry's shutdown does it). */
  close(): Promise<void>;
}

export function createUserRoutes(deps: UserServiceDeps): AnyRoute[] {
  return [...authRoutes(deps), ...profileRoutes(deps), ...addressRoutes(deps)];
}

/** The routes, for documentation only (the gateway's /api/docs): their handlers cannot run. */
export const userRouteDocs: readonly AnyRoute[] = createUserRoutes(docsOnly<UserServiceDeps>(USER_SERVICE_NAME));

/** Builds the service: migrates its schema, bootstraps the optional admin, wires routes. */
export async function createUserService(opts: CreateUserServiceOptions): Promise<UserService> {
  const { config, telemetry } = opts;
  const db = createDb({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations });
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
  try {
    await db.migrate();
    const users = createUsersRepo(db.knex);
    const passwords = await createPasswordHasher(opts.passwordHashing);
    const deps: UserServiceDeps = {
      users,
      passwords,
      loginGuard: createLoginGuard(redis, {
        prefix: config.REDIS_KEY_PREFIX,
        maxFailures: config.LOGIN_MAX_FAILURES,
        maxFailuresPerEmail: config.LOGIN_MAX_FAILURES * 4,
        lockoutSeconds: config.LOGIN_LOCKOUT_SECONDS,
      }),
      sessions: createSessions({ knex: db.knex, users, issuer: createAccessTokenIssuer(config.JWT_SECRET, config.ACCESS_TOKEN_TTL_SECONDS), refreshTtlDays: config.REFRESH_TOKEN_TTL_DAYS }),
    };
    await bootstrapAdmin(config, deps, telemetry);
    const routes = createUserRoutes(deps);
    const app = createServiceApp({
      telemetry,
      routes,
      bodyLimit: config.BODY_LIMIT,
      serviceAuth: { secret: config.INTERNAL_AUTH_SECRET, audience: USER_SERVICE_NAME },
    });
    return {
      app,
      routes,
      db,
      redis,
      deps,
      listen: () =>
        runService({
          app,
          telemetry,
          port: config.PORT,
          host: config.HOST,
          readiness: { postgres: () => db.ping(), redis: () => redis.ping() },
          resources: { postgres: () => db.destroy(), redis: () => redis.quit() },
        }),
      async close() {
        await Promise.allSettled([db.destroy(), redis.quit()]);
      },
    };
  } catch (err) {
    await Promise.allSettled([db.destroy(), redis.quit()]);
    throw err;
  }
}

async function bootstrapAdmin(config: UserConfig, deps: UserServiceDeps, telemetry: ServiceTelemetry): Promise<void> {
  const email = config.BOOTSTRAP_ADMIN_EMAIL?.trim().toLowerCase();
  if (!email || !config.BOOTSTRAP_ADMIN_PASSWORD) return;
  const existing = await deps.users.findByEmail(email);
  if (existing) {
    if (existing.role !== 'admin') await deps.users.update(existing.id, { role: 'admin' });
  } else {
    await deps.users.create({ email, name: 'Administrator', role: 'admin', passwordHash: await deps.passwords.hash(config.BOOTSTRAP_ADMIN_PASSWORD) });
  }
  telemetry.logger.info({ admin: email }, 'bootstrap admin ensured');
}
