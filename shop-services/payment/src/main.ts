// Entry point: node --import tsx/esm --import @lantern/sdk/register src/main.ts
import { Kafka, logLevel } from 'kafkajs';
import { getTelemetry, instrumentKafka } from '@lantern/sdk';
import { createOutboxRelay, ensureTopics, runService } from '@lantern/shop-common';
import { SERVICE_NAME, createPaymentService } from './app.js';
import { loadPaymentConfig } from './config.js';

const telemetry = getTelemetry();
const { logger } = telemetry;
const config = loadPaymentConfig();

const service = createPaymentService({ telemetry, config });
const { migrations } = await service.start();

const kafka = instrumentKafka(new Kafka({ clientId: SERVICE_NAME, brokers: config.KAFKA_BROKERS, logLevel: logLevel.WARN }));
// the payments topic may not exist yet (the broker's auto-create is off); consumers create it too
await ensureTopics(kafka, [config.PAYMENTS_TOPIC]).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'could not ensure the payments topic; the outbox relay will retry'));
// events wait in the outbox while Kafka is away; the relay sends them when it is back
const relay = createOutboxRelay({ db: service.db, kafka, source: SERVICE_NAME, logger });
await relay.start();

const running = await runService({
  app: service.app,
  telemetry,
  port: config.PORT,
  host: config.HOST,
  readiness: { postgres: () => service.db.ping() },
  resources: {
    outbox: () => relay.stop(),
    payment: () => service.close(),
  },
});
service.setBaseUrl(`http://127.0.0.1:${running.port}`);
logger.info({ port: running.port, migrations, channels: config.PAYMENT_CHANNELS }, 'payment service listening');
