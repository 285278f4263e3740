import { performance } from 'node:perf_hooks';
import type { Consumer, ConsumerRunConfig, EachBatchPayload, EachMessagePayload, Kafka, Producer, ProducerBatch, ProducerRecord } from 'kafkajs';
import type { Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from './buckets.js';
import { cardinalityGuard } from './cardinality.js';
import { observeWithExemplar } from './exemplars.js';
import { defaultRegistry, getOrCreateCounter, getOrCreateHistogram } from './registry.js';

export const KAFKA_PRODUCED = 'kafka_messages_produced_total';
export const KAFKA_CONSUMED = 'kafka_messages_consumed_total';
export const KAFKA_HANDLER_DURATION = 'kafka_consumer_handler_duration_seconds';

export type KafkaOutcome = 'success' | 'error';
type KafkaLabel = 'topic' | 'outcome';

const INSTRUMENTED = Symbol.for('lantern.sdk.kafkaMetrics');

function kafkaInstruments(registry: Registry) {
  const labelNames: KafkaLabel[] = ['topic', 'outcome'];
  return {
    produced: getOrCreateCounter<KafkaLabel>({ name: KAFKA_PRODUCED, help: 'Messages given to producer.send/sendBatch, by outcome of the send', labelNames }, registry),
    consumed: getOrCreateCounter<KafkaLabel>({ name: KAFKA_CONSUMED, help: 'Messages handed to the consumer handler, by outcome of the handler', labelNames }, registry),
    duration: getOrCreateHistogram<KafkaLabel>(
      {
        name: KAFKA_HANDLER_DURATION,
        help: 'Duration of the eachMessage (per message) or eachBatch (per batch) handler',
        labelNames,
        buckets: LATENCY_BUCKETS_SECONDS,
        enableExemplars: true,
      },
      registry,
    ),
    // topics are code-defined, but a topic-per-tenant design must not explode the series count
    guard: cardinalityGuard<KafkaLabel>('kafka_messages', labelNames, undefined, registry),
  };
}

function mark(target: object): boolean {
  const t = target as Record<symbol, boolean | undefined>;
  if (t[INSTRUMENTED]) return false;
  t[INSTRUMENTED] = true;
  return true;
}

/**
 * Counts messages sent by `producer.send` and `producer.sendBatch` into
 * `kafka_messages_produced_total{topic, outcome}` (outcome: success when the broker acknowledged,
 * error when the send rejected). Mutates and returns `producer`; idempotent.
 * Transactional sends (`producer.transaction().send`) are not counted.
 */
export function instrumentProducer(producer: Producer, registry: Registry = defaultRegistry()): Producer {
  if (!mark(producer)) return producer;
  const m = kafkaInstruments(registry);
  const count = (topic: string, n: number, outcome: KafkaOutcome) => m.produced.inc(m.guard.resolve({ topic, outcome }), n);
  const send = producer.send.bind(producer);
  const sendBatch = producer.sendBatch.bind(producer);
  producer.send = async (record: ProducerRecord) => {
    try {
      const result = await send(record);
      count(record.topic, record.messages.length, 'success');
      return result;
    } catch (err) {
      count(record.topic, record.messages.length, 'error');
      throw err;
    }
  };
  producer.sendBatch = async (batch: ProducerBatch) => {
    const each = (outcome: KafkaOutcome) => {
      for (const tm of batch.topicMessages ?? []) count(tm.topic, tm.messages.length, outcome);
    };
    try {
      const result = await sendBatch(batch);
      each('success');
      return result;
    } catch (err) {
      each('error');
      throw err;
    }
  };
  return producer;
}

/**
 * Wraps the handlers given to `consumer.run`:
 * - eachMessage: `kafka_consumer_handler_duration_seconds{topic, outcome}` per message and
 *   `kafka_messages_consumed_total{topic, outcome}` +1 (outcome error when the handler threw;
 *   the error is rethrown so kafkajs retries as before).
 * - eachBatch: one duration per batch, and the batch's message count added to the counter.
 * Trace context is left to the OTel kafkajs instrumentation; the handler runs inside its span, so
 * the duration exemplar points at the consumer span. Mutates and returns `consumer`; idempotent.
 */
export function instrumentConsumer(consumer: Consumer, registry: Registry = defaultRegistry()): Consumer {
  if (!mark(consumer)) return consumer;
  const m = kafkaInstruments(registry);
  const done = (topic: string, n: number, start: number, outcome: KafkaOutcome) => {
    const labels = m.guard.resolve({ topic, outcome });
    m.consumed.inc(labels, n);
    observeWithExemplar(m.duration, labels, (performance.now() - start) / 1000);
  };
  const run = consumer.run.bind(consumer);
  consumer.run = (config?: ConsumerRunConfig) => {
    if (!config) return run(config);
    const { eachMessage, eachBatch } = config;
    const wrapped: ConsumerRunConfig = { ...config };
    if (eachMessage) {
      wrapped.eachMessage = async (payload: EachMessagePayload) => {
        const start = performance.now();
        try {
          await eachMessage(payload);
        } catch (err) {
          done(payload.topic, 1, start, 'error');
          throw err;
        }
        done(payload.topic, 1, start, 'success');
      };
    }
    if (eachBatch) {
      wrapped.eachBatch = async (payload: EachBatchPayload) => {
        const start = performance.now();
        const n = payload.batch.messages.length;
        try {
          await eachBatch(payload);
        } catch (err) {
          done(payload.batch.topic, n, start, 'error');
          throw err;
        }
        done(payload.batch.topic, n, start, 'success');
      };
    }
    return run(wrapped);
  };
  return consumer;
}

/**
 * Instruments every producer and consumer later created from `kafka` (see instrumentProducer and
 * instrumentConsumer). Call it once, right after `new Kafka(...)`. Mutates and returns `kafka`.
 */
export function instrumentKafka(kafka: Kafka, registry: Registry = defaultRegistry()): Kafka {
  if (!mark(kafka)) return kafka;
  const producer = kafka.producer.bind(kafka);
  const consumer = kafka.consumer.bind(kafka);
  kafka.producer = (config) => instrumentProducer(producer(config), registry);
  kafka.consumer = (config) => instrumentConsumer(consumer(config), registry);
  return kafka;
}
