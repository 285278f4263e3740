import type Koa from 'koa';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { TokenBucketLimiter } from '@lantern/sdk';
import {
  createDb,
  createEventConsumer,
  createOutboxRelay,
  dlqAdminRoutes,
  createServiceApp,
  enqueueEvent,
  outboxMigrations,
  processedEventsMigrations,
  type Db,
  type EventConsumer,
  type OutboxRelay,
  type ServiceTelemetry,
} from '@lantern/shop-common';
import type { FlashSaleConfig } from './config.js';
import { saleMigrations } from './db/migrations.js';
import { SaleStore } from './db/sale-store.js';
import { createInventoryClient, type InventoryAllocations } from './inventory-client.js';
import { orderEventHandlers } from './order-events.js';
import { PurchaseService, type EnqueueEvent } from './purchase.js';
import { SaleCounters } from './redis/sale-counters.js';
import { RemainingGauge } from './remaining-gauge.js';
import { flashSaleRoutes } from './routes.js';
import { SaleCache } from './sale-cache.js';
import { SaleService } from './sales.js';
import { Settler } from './settler.js';
import { SoldOutFlags } from './sold-out-flags.js';

/** Token audience callers sign for, the issuer of our calls to inventory, and the Kafka client id. */
/** Admin routes to inspect and replay the dead letters of the orders consumer. */
export const DLQ_ADMIN_PREFIX = '/flash-sales/admin/dlq';

export const SERVICE_NAME = 'flash-sale';

export const migrations = [...saleMigrations, ...outboxMigrations, ...processedEventsMigrations];

export interface FlashSaleServiceOptions {
  config: FlashSaleConfig;
  telemetry: ServiceTelemetry;
  /** Instrumented Kafka client (`instrumentKafka(new Kafka(...))`): the outbox relay and the `orders` consumer use it. */
  kafka: Kafka;
  /** Overrides the HTTP inventory client (tests and benchmarks with their own inventory). */
  inventory?: InventoryAllocations;
  /** Which background parts start() runs (all by default). */
  run?: { relay?: boolean; consumer?: boolean; settler?: boolean };
}

export interface FlashSaleService {
  app: Koa;
  db: Db;
  redis: Redis;
  store: SaleStore;
  counters: SaleCounters;
  purchases: PurchaseService;
  sales: SaleService;
  settler: Settler;
  relay: OutboxRelay;
  consumer: EventConsumer;
  soldOut: SoldOutFlags;
  /** Connects Redis, migrates, starts the outbox relay, the `orders` consumer and the settler. */
  start(): Promise<{ migrations: string[] }>;
  /** Readiness: Postgres and Redis answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the service without listening: main.ts runs it with runService; tests start it in-process. */
export function createFlashSaleService(opts: FlashSaleServiceOptions): FlashSaleService {
  const { config, telemetry, kafka } = opts;
  const logger = telemetry.logger;
  const db = createDb({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, pool: { max: config.DB_POOL_MAX } });
  // Fail fast rather than queue while Redis is away (a purchase answers 503, listings fall back to
  // Postgres). Auto-pipelining: the scripts of one event-loop turn share one socket write.
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 2000,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));

  const store = new SaleStore(db.knex);
  const counters = new SaleCounters(redis, config.REDIS_KEY_PREFIX);
  const cache = new SaleCache(store, { ttlMs: config.SALE_CACHE_TTL_MS });
  const soldOut = new SoldOutFlags(config.SOLD_OUT_RECHECK_MS);
  const gauge = new RemainingGauge(config.REMAINING_GAUGE_MAX_SALES);
  const inventory = opts.inventory ?? createInventoryClient({ baseUrl: config.INVENTORY_SERVICE_URL, secret: config.INTERNAL_AUTH_SECRET, service: SERVICE_NAME });
  const limiter = new TokenBucketLimiter({
    name: 'flash-sale-purchase',
    capacity: config.PURCHASE_RATE_CAPACITY,
    refillPerSecond: config.PURCHASE_RATE_REFILL_PER_SECOND,
    maxKeys: config.PURCHASE_RATE_MAX_KEYS,
  });
  const enqueue: EnqueueEvent = (trx, e) => enqueueEvent(trx, e);
  const purchases = new PurchaseService({ store, counters, sales: cache, soldOut, limiter, gauge, enqueue, topic: config.FLASH_SALES_TOPIC, logger });
  const sales = new SaleService({ store, counters, sales: cache, inventory, logger });
  const settler = new Settler({
    store,
    counters,
    inventory,
    sales: cache,
    soldOut,
    gauge,
    logger,
    graceMs: config.SETTLE_GRACE_MS,
    staleHoldMs: config.STALE_HOLD_MS,
    staleAllocatingMs: config.ALLOCATION_TIMEOUT_MS,
    maxActiveSales: config.REMAINING_GAUGE_MAX_SALES,
  });
  const relay = createOutboxRelay({ db, kafka, source: SERVICE_NAME, logger, pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS });
  const consumer = createEventConsumer(kafka, {
    groupId: config.KAFKA_GROUP_ID,
    topics: [config.ORDERS_TOPIC],
    handlers: orderEventHandlers({ knex: db.knex, store, counters, soldOut, groupId: config.KAFKA_GROUP_ID, logger }),
    // a new group starts at the oldest order event: one placed before this service first ran still
    // moves its purchase to ordered (handlers are idempotent, other orders are skipped)
    fromBeginning: true,
    logger,
  });
  const app = createServiceApp({
    telemetry,
    // the DLQ admin routes first, or "admin" would be taken for a sale id
    routes: [...dlqAdminRoutes({ kafka, prefix: DLQ_ADMIN_PREFIX, topics: [config.ORDERS_TOPIC] }), ...flashSaleRoutes({ sales, purchases, store })],
    bodyLimit: config.BODY_LIMIT,
    serviceAuth: { secret: config.INTERNAL_AUTH_SECRET, audience: SERVICE_NAME },
  });
  const run = { relay: true, consumer: true, settler: true, ...opts.run };
  let started = { relay: false, consumer: false, settler: false };

  return {
    app,
    db,
    redis,
    store,
    counters,
    purchases,
    sales,
    settler,
    relay,
    consumer,
    soldOut,
    async start() {
      await redis.connect();
      const applied = await db.migrate();
      if (run.relay) await relay.start();
      if (run.consumer) await consumer.start();
      if (run.settler) settler.start(config.SETTLE_INTERVAL_MS);
      started = { relay: run.relay, consumer: run.consumer, settler: run.settler };
      return { migrations: applied };
    },
    async ping() {
      await Promise.all([db.ping(), redis.ping()]);
    },
    async close() {
      if (started.settler) await settler.stop();
      if (started.consumer) await consumer.stop();
      if (started.relay) await relay.stop();
      if (!opts.inventory) await inventory.close();
      redis.disconnect();
      await db.destroy();
    },
  };
}
