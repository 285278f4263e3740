import type Koa from 'koa';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { createDb, createOutboxRelay, createServiceApp, outboxMigrations, type Db, type OutboxRelay, type ServiceTelemetry } from '@lantern/shop-common';
import { generateCatalogue } from '@lantern/shop-product';
import type { InventoryConfig } from './config.js';
import { inventoryMigrations } from './db/migrations.js';
import { StockStore } from './db/stock-store.js';
import { outboxStockEvents } from './events.js';
import { Inventory } from './inventory.js';
import { StockLevelGauge } from './metrics.js';
import { periodic, type PeriodicJob } from './periodic.js';
import { Reconciler, type ReconcileReport } from './reconcile.js';
import { StockGate } from './redis/stock-gate.js';
import { inventoryRoutes } from './routes.js';

/** Token audience callers sign for, the Kafka client id and the outbox events' source. */
export const SERVICE_NAME = 'inventory';

export interface InventoryServiceOptions {
  config: InventoryConfig;
  telemetry: ServiceTelemetry;
  /** Instrumented Kafka client (`instrumentKafka(new Kafka(…))`) for the outbox relay; without it events wait in the outbox. */
  kafka?: Kafka;
}

export interface InventoryService {
  app: Koa;
  db: Db;
  redis: Redis;
  store: StockStore;
  gate: StockGate;
  inventory: Inventory;
  reconciler: Reconciler;
  relay: OutboxRelay | undefined;
  /** Migrates, seeds (SEED_ON_START), rebuilds Redis from Postgres, starts the sweeper, the periodic reconciliation and the relay. */
  start(): Promise<{ migrations: string[]; seeded: number; reconciled: ReconcileReport | undefined }>;
  /** Readiness: Postgres answers (Redis down only slows the service to the Postgres-only path). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const allMigrations = [...inventoryMigrations, ...outboxMigrations];

/** Builds the service without listening: main.ts runs it with runService; tests start it in-process. */
export function createInventoryService(opts: InventoryServiceOptions): InventoryService {
  const { config, telemetry } = opts;
  const logger = telemetry.logger;
  const db = createDb({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations: allMigrations, pool: { max: config.DB_POOL_MAX } });
  // Fail fast instead of queueing while Redis is away: the request falls back to Postgres at once.
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  const gauge = new StockLevelGauge(config.STOCK_GAUGE_MAX_SKUS);
  const store = new StockStore(db.knex, { lowStockThreshold: config.LOW_STOCK_THRESHOLD, events: outboxStockEvents(config.INVENTORY_TOPIC) });
  const gate = new StockGate(redis, config.REDIS_KEY_PREFIX);
  const reconciler = new Reconciler({
    store,
    gate,
    gauge,
    logger,
    batchSize: config.RECONCILE_BATCH,
    maxRounds: config.RECONCILE_MAX_ROUNDS,
    staleMarkerMs: config.RECONCILE_STALE_MARKER_MS,
    minGapMs: config.RECONCILE_MIN_GAP_MS,
  });
  const inventory = new Inventory({ store, gate, reconciler, gauge, logger, defaultTtlSeconds: config.RESERVATION_TTL_SECONDS });
  const app = createServiceApp({
    telemetry,
    routes: inventoryRoutes({ inventory, reconciler, callers: config.INVENTORY_CALLERS, maxTtlSeconds: config.RESERVATION_MAX_TTL_SECONDS }),
    bodyLimit: config.BODY_LIMIT,
    serviceAuth: { secret: config.INTERNAL_AUTH_SECRET, audience: SERVICE_NAME },
  });
  const relay = opts.kafka && config.OUTBOX_RELAY_ENABLED ? createOutboxRelay({ db, kafka: opts.kafka, source: SERVICE_NAME, logger }) : undefined;

  const sweeper: PeriodicJob = periodic(
    'reservation expiry sweep',
    config.SWEEP_INTERVAL_MS,
    () => inventory.sweep(config.SWEEP_BATCH),
    logger,
  );
  const periodicReconcile: PeriodicJob = periodic('redis reconciliation', config.RECONCILE_INTERVAL_MS, () => reconciler.reconcileAll(), logger);
  // Redis came back after an outage: it missed every change made meanwhile
  const onReady = () => reconciler.markDirty();

  return {
    app,
    db,
    redis,
    store,
    gate,
    inventory,
    reconciler,
    relay,
    async start() {
      const migrations = await db.migrate();
      let seeded = 0;
      if (config.SEED_ON_START) {
        const { products } = generateCatalogue({ perCategory: config.SEED_PER_CATEGORY });
        seeded = await store.seed(
          products.map((p) => ({ productId: p.id, sku: p.sku })),
          config.SEED_ON_HAND,
        );
        if (seeded) logger.info({ seeded, onHand: config.SEED_ON_HAND }, 'stock rows created for the catalogue');
      }
      let reconciled: ReconcileReport | undefined;
      try {
        await redis.connect();
        reconciled = await reconciler.reconcileAll({ initial: true });
      } catch (err) {
        // Postgres alone can serve every request; Redis is rebuilt when it answers again
        logger.warn({ err: (err as Error).message }, 'redis unavailable at start; serving from Postgres alone until it is back');
        reconciler.markDirty();
      }
      redis.on('ready', onReady);
      sweeper.start();
      periodicReconcile.start();
      await relay?.start();
      return { migrations, seeded, reconciled };
    },
    async ping() {
      await db.ping();
    },
    async close() {
      redis.off('ready', onReady);
      await sweeper.stop();
      await periodicReconcile.stop();
      await reconciler.close();
      await relay?.stop();
      redis.disconnect();
      await db.destroy();
    },
  };
}
