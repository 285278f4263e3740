import type Koa from 'koa';
import type { Kafka } from 'kafkajs';
import {
  createDb,
  createEventConsumer,
  createInternalTokenSigner,
  createOutboxRelay,
  createServiceApp,
  dlqAdminRoutes,
  outboxMigrations,
  pruneProcessedEvents,
  processedEventsMigrations,
  type Db,
  type EventConsumer,
  type EventHandler,
  type OutboxRelay,
  type ServiceTelemetry,
} from '@lantern/shop-common';
import { createUpstreams, type Upstreams } from './clients.js';
import type { OrderConfig } from './config.js';
import { orderMigrations } from './db/migrations.js';
import { OrdersRepo } from './db/orders-repo.js';
import { SagaSteps } from './db/saga-steps.js';
import { flashSaleHandlers, paymentHandlers } from './handlers.js';
import { jobsPending, ordersInState } from './metrics.js';
import { OrderService } from './order-service.js';
import { orderRoutes } from './routes.js';
import { registerSagaJobs } from './saga-jobs.js';
import { Scheduler } from './scheduler.js';
import { orderStatusSchema } from '@lantern/shop-common';

/** Token audience callers sign for, the issuer of our own tokens, and the Kafka client id. */
export const SERVICE_NAME = 'order';

/** Admin routes over the dead-letter topics of the topics this service consumes. */
export const DLQ_ADMIN_PREFIX = '/orders/dlq';

/** How often processed-event claims older than 14 days are deleted. */
const PRUNE_INTERVAL_MS = 3_600_000;

export const migrations = [...orderMigrations, ...outboxMigrations, ...processedEventsMigrations];

export interface OrderAppDeps {
  config: OrderConfig;
  telemetry: ServiceTelemetry;
  /** Instrumented Kafka client; without it there is no relay and no consumer (HTTP and jobs still work). */
  kafka?: Kafka;
}

export interface OrderApp {
  app: Koa;
  db: Db;
  service: OrderService;
  repo: OrdersRepo;
  steps: SagaSteps;
  scheduler: Scheduler;
  upstreams: Upstreams;
  handlers: { payments: Record<string, EventHandler>; flashSales: Record<string, EventHandler> };
  relay: OutboxRelay | undefined;
  consumers: EventConsumer[];
  /** Migrates, starts the scheduler, the state gauges, the outbox relay and the consumers. */
  start(): Promise<void>;
  /** Refreshes orders_in_state and order_scheduled_jobs_pending from Postgres now. */
  refreshGauges(): Promise<void>;
  /** Stops consumers, relay and scheduler (in that order), then closes clients and the pool. */
  close(): Promise<void>;
}

/** Builds the order service without listening: main.ts runs it with runService, tests in-process. */
export function createOrderApp({ config, telemetry, kafka }: OrderAppDeps): OrderApp {
  const logger = telemetry.logger;
  const db = createDb({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations, pool: { max: config.DB_POOL_MAX } });
  const knex = db.knex;
  const repo = new OrdersRepo(knex);
  const steps = new SagaSteps(knex);
  const scheduler = new Scheduler({
    knex,
    logger,
    pollIntervalMs: config.SCHEDULER_POLL_MS,
    batchSize: config.SCHEDULER_BATCH_SIZE,
    leaseMs: config.SCHEDULER_LEASE_MS,
    retryBaseMs: config.JOB_RETRY_BASE_MS,
    retryMaxMs: config.JOB_RETRY_MAX_MS,
  });
  const signer = createInternalTokenSigner({ service: SERVICE_NAME, secret: config.INTERNAL_AUTH_SECRET });
  const upstreams = createUpstreams(config, signer);
  const service = new OrderService({
    knex,
    repo,
    steps,
    scheduler,
    upstreams,
    logger,
    topics: { orders: config.ORDERS_TOPIC },
    paymentTimeoutMs: config.PAYMENT_TIMEOUT_MS,
    reservationGraceSeconds: config.RESERVATION_GRACE_SECONDS,
    sagaStuckAfterMs: config.SAGA_STUCK_AFTER_MS,
    idempotentWaitMs: config.IDEMPOTENT_WAIT_MS,
    kickWaitMs: config.UPSTREAM_TIMEOUT_MS * 3,
  });
  registerSagaJobs({ knex, service, repo, steps, scheduler, upstreams, logger, sagaStuckAfterMs: config.SAGA_STUCK_AFTER_MS });
  const handlerDeps = {
    knex,
    service,
    repo,
    steps,
    scheduler,
    upstreams,
    logger,
    paymentTimeoutMs: config.PAYMENT_TIMEOUT_MS,
    reservationGraceSeconds: config.RESERVATION_GRACE_SECONDS,
    groups: { payments: config.PAYMENTS_GROUP_ID, flashSales: config.FLASH_SALES_GROUP_ID },
  };
  const handlers = { payments: paymentHandlers(handlerDeps), flashSales: flashSaleHandlers(handlerDeps) };
  // before /orders/:id, or "dlq" would be taken for an order id
  const dlqRoutes = kafka ? dlqAdminRoutes({ kafka, prefix: DLQ_ADMIN_PREFIX, topics: [config.PAYMENTS_TOPIC, config.FLASH_SALES_TOPIC] }) : [];
  const app = createServiceApp({ telemetry, routes: [...dlqRoutes, ...orderRoutes({ service })], bodyLimit: config.BODY_LIMIT, serviceAuth: { secret: config.INTERNAL_AUTH_SECRET, audience: SERVICE_NAME } });

  const relay = kafka ? createOutboxRelay({ db, kafka, source: SERVICE_NAME, logger, pollIntervalMs: config.OUTBOX_POLL_MS }) : undefined;
  const consumers =
    kafka && config.CONSUMERS_ENABLED
      ? [
          // a new group starts from the beginning: a verdict published before it existed is not skipped (claims dedupe)
          createEventConsumer(kafka, { groupId: config.PAYMENTS_GROUP_ID, topics: [config.PAYMENTS_TOPIC], handlers: handlers.payments, logger, fromBeginning: true }),
          createEventConsumer(kafka, { groupId: config.FLASH_SALES_GROUP_ID, topics: [config.FLASH_SALES_TOPIC], handlers: handlers.flashSales, logger, fromBeginning: true }),
        ]
      : [];

  async function refreshGauges(): Promise<void> {
    const counts = await repo.countByStatus();
    for (const status of orderStatusSchema.options) ordersInState.set({ status }, counts.get(status) ?? 0);
    const jobs = (await knex('scheduled_jobs').select('kind').count<{ kind: string; count: string }[]>({ count: '*' }).groupBy('kind')) as { kind: string; count: string }[];
    jobsPending.reset();
    for (const j of jobs) jobsPending.set({ kind: j.kind }, Number(j.count));
  }
  let gaugeTimer: NodeJS.Timeout | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;

  return {
    app,
    db,
    service,
    repo,
    steps,
    scheduler,
    upstreams,
    handlers,
    relay,
    consumers,
    refreshGauges,
    async start() {
      const applied = await db.migrate();
      if (applied.length) logger.info({ migrations: applied }, 'order schema migrated');
      scheduler.start();
      await refreshGauges().catch(() => undefined);
      gaugeTimer = setInterval(() => {
        refreshGauges().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'could not refresh order gauges'));
      }, config.STATE_GAUGE_REFRESH_MS);
      gaugeTimer.unref();
      pruneTimer = setInterval(() => {
        pruneProcessedEvents(knex).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'could not prune processed events'));
      }, PRUNE_INTERVAL_MS);
      pruneTimer.unref();
      await relay?.start();
      for (const c of consumers) await c.start();
    },
    async close() {
      if (gaugeTimer) clearInterval(gaugeTimer);
      if (pruneTimer) clearInterval(pruneTimer);
      // together: each may wait out a pending fetch, and in turn they would overrun the shutdown budget
      await Promise.all(consumers.map((c) => c.stop().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'consumer stop failed'))));
      await relay?.stop();
      await scheduler.stop();
      await upstreams.close();
      await db.destroy();
    },
  };
}
