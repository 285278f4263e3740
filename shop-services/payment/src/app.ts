import type Koa from 'koa';
import {
  createDb,
  createInternalTokenSigner,
  createServiceApp,
  enqueueEvent,
  outboxMigrations,
  type Db,
  type PaymentChannel,
  type ServiceTelemetry,
} from '@lantern/shop-common';
import { CallbackHandler } from './callbacks/callback-handler.js';
import { CallbackDelivery } from './channels/callback-delivery.js';
import { SimulatedChannel } from './channels/simulated-channel.js';
import { channelSimulation, type PaymentConfig } from './config.js';
import { paymentMigrations } from './db/migrations.js';
import type { PaymentEventSink } from './events.js';
import { PaymentService } from './payments/payment-service.js';
import { RefundService } from './payments/refund-service.js';
import { schedulePeriodic } from './periodic.js';
import { StaleRecovery } from './payments/recovery.js';
import { Reconciler, ReconciliationBusyError } from './reconciliation/reconciler.js';
import { ChannelRouter } from './routing/channel-router.js';
import { createPaymentRoutes } from './routes.js';

/** Token audience callers sign for, the Kafka client id and the events' source. */
export const SERVICE_NAME = 'payment';
/** Issuer of the internal token the simulated bank sends with its callbacks (as the gateway would). */
export const BANK_SIMULATOR = 'bank-simulator';

export interface PaymentServiceDeps {
  telemetry: ServiceTelemetry;
  config: PaymentConfig;
  /** For tests: the simulated channels' source of randomness. */
  random?: () => number;
}

export interface PaymentApp {
  app: Koa;
  db: Db;
  router: ChannelRouter;
  channels: ReadonlyMap<PaymentChannel, SimulatedChannel>;
  payments: PaymentService;
  refunds: RefundService;
  callbacks: CallbackHandler;
  reconciler: Reconciler;
  recovery: StaleRecovery;
  /** Where this instance listens (`http://127.0.0.1:8085`): the default target of bank callbacks. */
  setBaseUrl(url: string): void;
  /** Migrates, recovers charges and refunds a crash interrupted, and starts the periodic recovery + reconciliation. */
  start(): Promise<{ migrations: string[] }>;
  /** Stops reconciliation and the simulated settlements, then closes Postgres. */
  close(): Promise<void>;
}

/** Wires the ledger, channels, router and routes; no listening and no Kafka (see main.ts). */
export function createPaymentService({ telemetry, config, random }: PaymentServiceDeps): PaymentApp {
  const { logger } = telemetry;
  const db = createDb({ url: config.DATABASE_URL, schema: config.DB_SCHEMA, migrations: [...paymentMigrations, ...outboxMigrations], pool: { max: config.DB_POOL_MAX } });
  const knex = db.knex;
  const events: PaymentEventSink = {
    async enqueue(trx, type, key, data) {
      // typed by PaymentEventSink; enqueueEvent validates the data against SHOP_EVENTS again
      await enqueueEvent(trx, { topic: config.PAYMENTS_TOPIC, type: type as string, key, data, source: SERVICE_NAME });
    },
  };

  let baseUrl: string | undefined;
  const delivery = new CallbackDelivery({
    url: () => config.BANK_CALLBACK_URL ?? (baseUrl ? `${baseUrl}/payments/callbacks/bank` : undefined),
    secret: config.PAYMENT_CALLBACK_SECRET,
    ...(config.BANK_CALLBACK_INTERNAL_TOKEN ? { signer: createInternalTokenSigner({ service: BANK_SIMULATOR, secret: config.INTERNAL_AUTH_SECRET }) } : {}),
    audience: SERVICE_NAME,
    maxAttempts: config.BANK_CALLBACK_MAX_ATTEMPTS,
    logger,
  });
  const channels = new Map<PaymentChannel, SimulatedChannel>();
  for (const name of config.PAYMENT_CHANNELS) {
    const asyncBank = name === 'bank' && config.CHANNEL_BANK_ASYNC ? { async: { delayMs: config.CHANNEL_BANK_SETTLE_DELAY_MS, delivery } } : {};
    channels.set(name, new SimulatedChannel({ name, knex, simulation: channelSimulation(config, name), logger, ...asyncBank, ...(random ? { random } : {}) }));
  }
  const router = new ChannelRouter({
    channels: [...channels.values()],
    windowMs: config.ROUTING_WINDOW_MS,
    windowMaxCalls: config.ROUTING_WINDOW_MAX_CALLS,
    latencyPenaltyPerSecond: config.ROUTING_LATENCY_PENALTY_PER_SECOND,
    channelTimeoutMs: config.CHANNEL_TIMEOUT_MS,
    lookupTimeoutMs: config.CHANNEL_LOOKUP_TIMEOUT_MS,
    breaker: { failureThreshold: config.BREAKER_FAILURE_THRESHOLD, halfOpenAfterMs: config.BREAKER_HALF_OPEN_AFTER_MS },
    logger,
  });
  const paymentStaleMs = config.PAYMENT_DEADLINE_MS + config.RECOVERY_MARGIN_MS;
  const payments = new PaymentService({ knex, router, events, logger, deadlineMs: config.PAYMENT_DEADLINE_MS, staleMs: paymentStaleMs, recover: (id) => recovery.recoverPayment(id) });
  const refunds = new RefundService({ knex, router, events, logger, channelTimeoutMs: config.CHANNEL_TIMEOUT_MS });
  // a refund request lasts at most its call and, without an answer, one lookup
  const refundStaleMs = config.CHANNEL_TIMEOUT_MS + config.CHANNEL_LOOKUP_TIMEOUT_MS + config.RECOVERY_MARGIN_MS;
  const recovery = new StaleRecovery({ knex, router, events, refunds, logger, paymentStaleMs, refundStaleMs, lookupTimeoutMs: config.CHANNEL_LOOKUP_TIMEOUT_MS });
  const callbacks = new CallbackHandler({ knex, events, logger });
  const reconciler = new Reconciler({ knex, schema: config.DB_SCHEMA, router, events, logger, windowMs: config.RECONCILIATION_WINDOW_MS, graceMs: config.RECONCILIATION_GRACE_MS });
  const routes = createPaymentRoutes({
    payments,
    refunds,
    callbacks,
    reconciler,
    router,
    simulated: channels,
    allowedCallers: config.PAYMENT_ALLOWED_CALLERS,
    callbackSecret: config.PAYMENT_CALLBACK_SECRET,
    callbackToleranceSeconds: config.CALLBACK_TOLERANCE_SECONDS,
    logger,
  });
  const app = createServiceApp({ telemetry, routes, bodyLimit: config.BODY_LIMIT, serviceAuth: { secret: config.INTERNAL_AUTH_SECRET, audience: SERVICE_NAME } });

  let schedule: { stop(): Promise<void> } | undefined;
  let startupRecovery: Promise<unknown> = Promise.resolve();
  return {
    app,
    db,
    router,
    channels,
    payments,
    refunds,
    callbacks,
    reconciler,
    recovery,
    setBaseUrl(url) {
      baseUrl = url.replace(/\/$/, '');
    },
    async start() {
      const migrations = await db.migrate();
      // a previous process may have died mid-charge: settle what it left (in the background)
      startupRecovery = recovery.run().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'recovery of interrupted payments failed'));
      if (config.RECONCILIATION_INTERVAL_MS > 0) {
        schedule = schedulePeriodic('reconciliation', config.RECONCILIATION_INTERVAL_MS, async () => {
          await recovery.run();
          await reconciler.run().catch((err: unknown) => {
            if (!(err instanceof ReconciliationBusyError)) throw err; // another instance is on it
          });
        }, logger);
      }
      return { migrations };
    },
    async close() {
      await schedule?.stop();
      await startupRecovery;
      delivery.close();
      await Promise.all([...channels.values()].map((c) => c.close()));
      await db.destroy();
    },
  };
}
