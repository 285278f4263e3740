// Entry point: node --import tsx/esm --import @lantern/sdk/register src/main.ts
import { Kafka, logLevel } from 'kafkajs';
import { getTelemetry, instrumentKafka } from '@lantern/sdk';
import { createEventConsumer, ensureTopics, runService } from '@lantern/shop-common';
import { SERVICE_NAME, createRecommendationService } from './app.js';
import { loadRecommendationConfig } from './config.js';
import { createRedisClient, waitForRedis } from './redis.js';

const telemetry = getTelemetry();
const { logger } = telemetry;
const config = loadRecommendationConfig();

const redis = createRedisClient(config.REDIS_URL, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS });
// Without an offline queue, errors surface on commands; the event only logs reconnect churn.
redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
await waitForRedis(redis);

const service = createRecommendationService({ telemetry, redis, config });

// instrumented: kafka_messages_produced_total (DLQ writes) and consumed/handler-duration metrics
const kafka = instrumentKafka(new Kafka({ clientId: SERVICE_NAME, brokers: config.KAFKA_BROKERS, logLevel: logLevel.WARN }));
const topics = [config.ORDERS_TOPIC, ...(config.PRODUCT_EVENTS_TOPIC ? [config.PRODUCT_EVENTS_TOPIC] : [])];
// The order service may not exist yet: create our input topics (and their DLQs) rather than fail.
await ensureTopics(kafka, topics);
const consumer = createEventConsumer(kafka, { groupId: config.KAFKA_GROUP_ID, topics, handlers: service.handlers, logger });
await consumer.start();

const running = await runService({
  app: service.app,
  telemetry,
  port: config.PORT,
  host: config.HOST,
  readiness: { redis: () => redis.ping() },
  resources: {
    kafka: () => consumer.stop(),
    redis: () => redis.quit(),
  },
});
logger.info({ port: running.port, topics, experiments: service.experiments.list().map((e) => e.id) }, 'recommendation service listening');
