// Entry point: node --import tsx/esm --import @lantern/sdk/register src/main.ts
import { Kafka, logLevel } from 'kafkajs';
import { getTelemetry, instrumentKafka } from '@lantern/sdk';
import { ensureTopics, runService } from '@lantern/shop-common';
import { SERVICE_NAME, createInventoryService } from './app.js';
import { loadInventoryConfig } from './config.js';

const telemetry = getTelemetry();
const { logger } = telemetry;
const config = loadInventoryConfig();

const kafka = instrumentKafka(new Kafka({ clientId: SERVICE_NAME, brokers: config.KAFKA_BROKERS, logLevel: logLevel.WARN }));
try {
  // auto-create is off: our output topic (and its DLQ) must exist before the relay sends
  await ensureTopics(kafka, [config.INVENTORY_TOPIC]);
} catch (err) {
  // events wait in the outbox until Kafka answers; stock must not wait for Kafka
  logger.warn({ err: (err as Error).message, topic: config.INVENTORY_TOPIC }, 'could not ensure the inventory topic; events stay in the outbox meanwhile');
}

const service = createInventoryService({ config, telemetry, kafka });
const started = await service.start();
const running = await runService({
  app: service.app,
  telemetry,
  port: config.PORT,
  host: config.HOST,
  readiness: { postgres: () => service.ping() },
  resources: { inventory: () => service.close() },
});
logger.info({ url: running.url, migrations: started.migrations, seeded: started.seeded, reconciled: started.reconciled }, 'inventory service listening');
