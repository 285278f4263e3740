import type { Kafka, Producer, IHeaders } from 'kafkajs';
import { createEnvelope, type EventEnvelope } from './envelope.js';

export interface EventPublisher {
  connect(): Promise<void>;
  /** Publishes one event (acks=all) and returns the envelope sent. Key = partition key (e.g. the order id). */
  publish<T>(topic: string, type: string, key: string, data: T, opts?: { version?: number; headers?: IHeaders }): Promise<EventEnvelope<T>>;
  disconnect(): Promise<void>;
  readonly producer: Producer;
}

export function createEventPublisher(kafka: Kafka, opts: { source: string; producer?: Producer }): EventPublisher {
  // idempotent producer: broker-side dedup of retried sends, so a retry never duplicates an event
  const producer = opts.producer ?? kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  return {
    producer,
    connect: () => producer.connect(),
    async publish(topic, type, key, data, po = {}) {
      const envelope = createEnvelope({ type, source: opts.source, key, data, ...(po.version ? { version: po.version } : {}) });
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key, value: JSON.stringify(envelope), headers: { 'event-type': type, 'event-id': envelope.id, ...po.headers } }],
      });
      return envelope;
    },
    disconnect: () => producer.disconnect(),
  };
}
