// Entry point: node --import tsx/esm --import @lantern/sdk/register src/main.ts
import { Kafka, logLevel } from 'kafkajs';
import { getTelemetry, instrumentKafka } from '@lantern/sdk';
import { ensureTopics, runService } from '@lantern/shop-common';
import { SERVICE_NAME, createNotificationService } from './app.js';
import { loadNotificationConfig } from './config.js';

const telemetry = getTelemetry();
const { logger } = telemetry;
const config = loadNotificationConfig();

const kafka = instrumentKafka(new Kafka({ clientId: SERVICE_NAME, brokers: config.KAFKA_BROKERS, logLevel: logLevel.WARN }));
// The producers may start after us: create our input topics (and their DLQs) rather than fail.
await ensureTopics(kafka, [config.ORDERS_TOPIC, config.PAYMENTS_TOPIC]);

const service = createNotificationService({ telemetry, config, kafka });
const started = await service.start();

const running = await runService({
  app: service.app,
  telemetry,
  port: config.PORT,
  host: config.HOST,
  readiness: { postgres: () => service.ping() },
  resources: { notification: () => service.close() },
});
logger.info(
  {
    url: running.url,
    migrations: started.migrations,
    topics: [config.ORDERS_TOPIC, config.PAYMENTS_TOPIC],
    group: config.KAFKA_GROUP_ID,
    // host and port only: SMTP_URL may carry a password
    email: config.SMTP_URL ? `${config.SMTP_URL.host}:${config.SMTP_URL.port}` : 'off',
    sms: config.SMS_ENABLED ? 'simulated' : 'off',
  },
  'notification service listening',
);
