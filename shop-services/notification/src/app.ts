import type Koa from 'koa';
import type { Kafka } from 'kafkajs';
import { createDb, createEventConsumer, createServiceApp, dlqAdminRoutes, processedEventsMigrations, type Db, type EventConsumer, type EventHandler, type ServiceTelemetry } from '@lantern/shop-common';
import { createEmailChannel } from './channels/email.js';
import { createSimulatedSmsProvider, type SimulatedSmsProvider } from './channels/sms.js';
import type { Channel, EmailMessage } from './channels/types.js';
import type { NotificationConfig } from './config.js';
import { notificationMigrations } from './db/migrations.js';
import { DeliveryDispatcher } from './dispatcher.js';
import { notificationHandlers } from './ingest.js';
import { RetentionJob } from './retention.js';
import { notificationRoutes } from './routes.js';
import { NotificationStore } from './store.js';

/** Token audience callers sign for, and the Kafka client id. */
export const SERVICE_NAME = 'notification';
/** Admin routes over the dead-letter topics of the consumed topics. */
export const DLQ_ADMIN_PREFIX = '/notifications/admin/dlq';

export interface NotificationServiceDeps {
  telemetry: ServiceTelemetry;
  config: NotificationConfig;
  /** Without it no consumer runs (HTTP and the dispatcher still do). Wrap it with the SDK's instrumentKafka. */
  kafka?: Kafka;
  /** Overrides for tests: another SMS provider (e.g. with fixed dice). */
  sms?: SimulatedSmsProvider;
}

export interface NotificationService {
  app: Koa;
  db: Db;
  store: NotificationStore;
  dispatcher: DeliveryDispatcher;
  /** Deletes what is no longer needed (runs every RETENTION_INTERVAL_MS; run() for one now). */
  retention: RetentionJob;
  /** Handlers by event type, for createEventConsumer. */
  handlers: Record<string, EventHandler>;
  email: Channel<EmailMessage> | undefined;
  sms: SimulatedSmsProvider | undefined;
  consumer: EventConsumer | undefined;
  /** Migrates, starts the dispatcher, the retention schedule and (with Kafka) the consumer. */
  start(): Promise<{ migrations: string[] }>;
  ping(): Promise<void>;
  /** Stops consuming and the retention job, lets in-flight sends finish, closes SMTP and Postgres. */
  close(): Promise<void>;
}

export const MIGRATIONS = [...processedEventsMigrations, ...notificationMigrations];

/** Wires storage, channels, dispatcher, event handlers and HTTP routes; listens nowhere (see main.ts). */
export function createNotificationService({ telemetry, config, kafka, sms: smsOverride }: NotificationServiceDeps): NotificationService {
  const { logger } = telemetry;
  const db = createDb({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations: MIGRATIONS, pool: { max: config.DB_POOL_MAX } });
  const store = new NotificationStore(db.knex);
  const email = config.SMTP_URL
    ? createEmailChannel({ smtp: config.SMTP_URL, from: config.EMAIL_FROM, requireTls: config.SMTP_REQUIRE_TLS, timeoutMs: config.SMTP_TIMEOUT_MS, maxConnections: config.SMTP_MAX_CONNECTIONS })
    : undefined;
  const sms = config.SMS_ENABLED
    ? (smsOverride ?? createSimulatedSmsProvider({ sender: config.SMS_SENDER, latencyMs: config.SMS_LATENCY_MS, failureRate: config.SMS_FAILURE_RATE }))
    : undefined;
  const dispatcher = new DeliveryDispatcher({
    knex: db.knex,
    channels: { ...(email ? { email } : {}), ...(sms ? { sms } : {}) },
    maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
    retryBaseMs: config.DELIVERY_RETRY_BASE_MS,
    retryMaxMs: config.DELIVERY_RETRY_MAX_MS,
    pollMs: config.DELIVERY_POLL_MS,
    batchSize: config.DELIVERY_BATCH_SIZE,
    leaseMs: config.DELIVERY_LEASE_MS,
    logger,
  });
  const handlers = notificationHandlers({
    knex: db.knex,
    groupId: config.KAFKA_GROUP_ID,
    templates: { shopName: config.SHOP_NAME },
    emailEnabled: email !== undefined,
    smsEnabled: sms !== undefined,
    logger,
    dispatcher,
  });
  const topics = [config.ORDERS_TOPIC, config.PAYMENTS_TOPIC];
  const consumer = kafka
    ? createEventConsumer(kafka, { groupId: config.KAFKA_GROUP_ID, topics, handlers, logger, fromBeginning: config.KAFKA_FROM_BEGINNING })
    : undefined;
  const app = createServiceApp({
    telemetry,
    routes: [
      ...notificationRoutes({ store, defaultLimit: config.NOTIFICATIONS_DEFAULT_LIMIT, maxLimit: config.NOTIFICATIONS_MAX_LIMIT }),
      // events that failed here (invalid data, or Postgres down through every retry): inspect and replay
      ...(kafka ? dlqAdminRoutes({ kafka, prefix: DLQ_ADMIN_PREFIX, topics }) : []),
    ],
    bodyLimit: config.BODY_LIMIT,
    serviceAuth: { secret: config.INTERNAL_AUTH_SECRET, audience: SERVICE_NAME },
  });

  const retention = new RetentionJob({
    knex: db.knex,
    days: {
      notifications_read: config.RETENTION_DAYS_READ,
      notifications_unread: config.RETENTION_DAYS_UNREAD,
      deliveries: config.RETENTION_DAYS_DELIVERIES,
      processed_events: config.RETENTION_DAYS_PROCESSED_EVENTS,
    },
    batchSize: config.RETENTION_BATCH_SIZE,
    intervalMs: config.RETENTION_INTERVAL_MS,
    logger,
  });

  return {
    app,
    db,
    store,
    dispatcher,
    retention,
    handlers,
    email,
    sms,
    consumer,
    async start() {
      const migrations = await db.migrate();
      dispatcher.start();
      await consumer?.start();
      retention.start();
      return { migrations };
    },
    ping: () => db.ping(),
    async close() {
      await consumer?.stop();
      await retention.stop();
      await dispatcher.stop();
      await email?.close?.();
      await db.destroy();
    },
  };
}
