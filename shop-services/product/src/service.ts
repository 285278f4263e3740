import type Koa from 'koa';
import { Redis } from 'ioredis';
import { createDb, createServiceApp, type Db, type ServiceTelemetry } from '@lantern/shop-common';
import { HotKeys, InvalidationBus, MultiLevelCache, type CacheLogger } from './cache/index.js';
import type { ProductConfig } from './config.js';
import { migrations } from './db/migrations.js';
import { ProductStore } from './db/product-store.js';
import { createProductRoutes } from './routes.js';
import type { Product } from './schemas.js';
import { seedCatalogue, type SeedResult } from './seed/load.js';

export const PRODUCT_CACHE = 'product';

export interface ProductServiceOptions {
  config: ProductConfig;
  telemetry: ServiceTelemetry;
  /** Overrides for tests and benchmarks, e.g. a catalogue size for seeding. */
  seed?: { perCategory?: number };
}

export interface ProductService {
  app: Koa;
  db: Db;
  redis: Redis;
  store: ProductStore;
  cache: MultiLevelCache<Product>;
  bus: InvalidationBus;
  hotKeys: HotKeys;
  /** Migrates, seeds if configured, subscribes to invalidations and warms the cache. */
  start(): Promise<{ migrations: string[]; seeded?: SeedResult; warmed: number }>;
  /** Readiness: Postgres and Redis answer. */
  ping(): Promise<void>;
  /** Runs pending double deletes, then closes Redis and Postgres. */
  close(): Promise<void>;
}

/**
 * Builds the product service without listening: main.ts runs it with runService; tests and
 * benchmarks run several instances against one database and Redis.
 */
export function createProductService(opts: ProductServiceOptions): ProductService {
  const { config, telemetry } = opts;
  const logger: CacheLogger = telemetry.logger;
  const db = createDb({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations });
  // fail fast instead of queueing commands while Redis is away: the cache falls back to Postgres.
  // Auto-pipelining sends the commands of one event-loop turn in one write: under load, many L2 reads
  // share a syscall (a socket write is the costliest step of a cached read on small machines).
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 1_000, enableOfflineQueue: false, lazyConnect: true, enableAutoPipelining: true });
  redis.on('error', (err: Error) => telemetry.logger.warn({ err: err.message }, 'redis connection error'));
  const store = new ProductStore(db.knex);
  const bus = new InvalidationBus({ redis, channel: `${config.REDIS_KEY_PREFIX}invalidate`, logger });
  const cache = new MultiLevelCache<Product>({
    name: PRODUCT_CACHE,
    redis,
    keyPrefix: config.REDIS_KEY_PREFIX,
    bus,
    load: (id) => store.getById(id),
    loadMany: (ids) => store.getByIds(ids),
    l1Max: config.CACHE_L1_MAX,
    l1TtlMs: config.CACHE_L1_TTL_MS,
    l2TtlSeconds: config.CACHE_L2_TTL_SECONDS,
    negativeTtlSeconds: config.CACHE_NEGATIVE_TTL_SECONDS,
    jitterRatio: config.CACHE_JITTER_RATIO,
    doubleDeleteDelayMs: config.CACHE_DOUBLE_DELETE_DELAY_MS,
    logger,
  });
  const hotKeys = new HotKeys({ redis, key: `${config.REDIS_KEY_PREFIX}views`, logger });
  const app = createServiceApp({
    telemetry,
    routes: createProductRoutes({ store, cache, hotKeys }),
    bodyLimit: config.BODY_LIMIT,
    serviceAuth: { secret: config.INTERNAL_AUTH_SECRET },
  });

  return {
    app,
    db,
    redis,
    store,
    cache,
    bus,
    hotKeys,
    async start() {
      await redis.connect();
      const applied = await db.migrate();
      const seeded = config.SEED_ON_START ? await seedCatalogue(db.knex, { perCategory: opts.seed?.perCategory }) : undefined;
      if (seeded) telemetry.logger.info(seeded, 'seed catalogue loaded');
      await bus.start();
      let warmed = 0;
      if (config.CACHE_WARM_TOP_N > 0) {
        try {
          warmed = await cache.warm(await hotKeys.top(config.CACHE_WARM_TOP_N));
          telemetry.logger.info({ warmed }, 'product cache warmed with the most viewed products');
        } catch (err) {
          // a cold cache is slower, not broken
          telemetry.logger.warn({ err: (err as Error).message }, 'cache warming failed; starting cold');
        }
      }
      return { migrations: applied, ...(seeded ? { seeded } : {}), warmed };
    },
    async ping() {
      await Promise.all([db.ping(), redis.ping()]);
    },
    async close() {
      await hotKeys.close();
      await cache.close();
      await bus.close();
      redis.disconnect();
      await db.destroy();
    },
  };
}
