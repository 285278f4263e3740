// Entry point: node --import tsx/esm --import @lantern/sdk/register src/main.ts
import { Kafka, logLevel } from 'kafkajs';
import { getTelemetry, instrumentKafka } from '@lantern/sdk';
import { ensureTopics, runService } from '@lantern/shop-common';
import { SERVICE_NAME, createFlashSaleService } from './app.js';
import { loadFlashSaleConfig } from './config.js';

const telemetry = getTelemetry();
const { logger } = telemetry;
const config = loadFlashSaleConfig();

const kafka = instrumentKafka(new Kafka({ clientId: SERVICE_NAME, brokers: config.KAFKA_BROKERS, logLevel: logLevel.WARN }));
// the order service may not run yet: create our output and input topics (and their DLQs) rather than fail
await ensureTopics(kafka, [config.FLASH_SALES_TOPIC, config.ORDERS_TOPIC]);

const service = createFlashSaleService({ config, telemetry, kafka });
const started = await service.start();
const running = await runService({
  app: service.app,
  telemetry,
  port: config.PORT,
  host: config.HOST,
  readiness: { dependencies: () => service.ping() },
  resources: { flashSale: () => service.close() },
});
logger.info({ url: running.url, migrations: started.migrations, topic: config.FLASH_SALES_TOPIC }, 'flash-sale service listening');
