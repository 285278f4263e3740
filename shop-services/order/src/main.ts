// Entry point: node --import tsx/esm --import @lantern/sdk/register src/main.ts
// The preload starts telemetry before koa/pg/kafkajs load, so they are instrumented.
import { Kafka, logLevel } from 'kafkajs';
import { getTelemetry, instrumentKafka } from '@lantern/sdk';
import { ConfigError, ensureTopics, runService } from '@lantern/shop-common';
import { SERVICE_NAME, createOrderApp } from './app.js';
import { loadOrderConfig } from './config.js';

const telemetry = getTelemetry();
const { logger } = telemetry;
try {
  const config = loadOrderConfig();
  const kafka = instrumentKafka(new Kafka({ clientId: SERVICE_NAME, brokers: config.KAFKA_BROKERS, logLevel: logLevel.WARN }));
  // Our output topic and our input topics (with their DLQs): other services may not have created them yet.
  // Kafka being down here is not fatal: the outbox keeps the events until the relay reaches it.
  await ensureTopics(kafka, [config.ORDERS_TOPIC, config.PAYMENTS_TOPIC, config.FLASH_SALES_TOPIC]).catch((err: unknown) =>
    logger.warn({ err: (err as Error).message }, 'could not ensure Kafka topics at start; continuing (events wait in the outbox)'),
  );
  const order = createOrderApp({ config, telemetry, kafka });
  await order.start();
  const running = await runService({
    app: order.app,
    telemetry,
    port: config.PORT,
    host: config.HOST,
    readiness: { postgres: () => order.db.ping() },
    resources: { order: () => order.close() },
  });
  logger.info({ port: running.port, paymentTimeoutMs: config.PAYMENT_TIMEOUT_MS }, 'order service listening');
} catch (err) {
  if (err instanceof ConfigError) logger.error({ issues: err.issues }, err.message);
  else logger.error({ err }, 'order service failed to start');
  await telemetry.shutdown();
  process.exit(1);
}
