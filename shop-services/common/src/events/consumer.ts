import type { Kafka, Consumer, Producer, KafkaMessage, IHeaders } from 'kafkajs';
import type { z } from 'zod';
import { decodeEnvelope, InvalidEventError, type EventEnvelope } from './envelope.js';
import { dlqTopic } from './topics.js';
import { retry } from '../client/resilience.js';
import type { Logger } from '../telemetry.js';

export interface EventMeta {
  topic: string;
  partition: number;
  offset: string;
  headers: IHeaders;
  attempt: number;
}

export type EventHandler = (event: EventEnvelope, meta: EventMeta) => Promise<void>;

/** A handler whose `data` is validated first; invalid data is dead-lettered without retries. */
export function typedHandler<S extends z.ZodType>(schema: S, handle: (event: EventEnvelope<z.output<S>>, meta: EventMeta) => Promise<void>): EventHandler {
  return async (event, meta) => {
    const r = schema.safeParse(event.data);
    if (!r.success) throw new InvalidEventError(`invalid ${event.type} data: ${r.error.issues.map((i) => `data.${i.path.join('.')}: ${i.message}`).join('; ')}`);
    await handle({ ...event, data: r.data }, meta);
  };
}

export interface EventConsumerOptions {
  groupId: string;
  topics: string[];
  /** Handlers by event type. */
  handlers: Record<string, EventHandler>;
  /** Event types nobody here handles: skipped (default; topics carry several types) or dead-lettered. */
  onUnknownType?: 'ignore' | 'dlq';
  /** Handler attempts before dead-lettering (default 3). */
  maxAttempts?: number;
  retryBaseDelayMs?: number;
  fromBeginning?: boolean;
  logger?: Logger;
  /** Producer for DLQ writes; one is created (and closed) if not given. */
  dlqProducer?: Producer;
}

export interface EventConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly consumer: Consumer;
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Consumes envelopes with eachMessage, so the kafkajs instrumentation's consumer span is the
 * active context for the handler (its DB calls and logs join the producer's trace). Handler
 * failures are retried with backoff; then the message goes to `<topic>.dlq` with the error in its
 * headers. If even the DLQ write fails, eachMessage throws, the offset is not committed and Kafka
 * redelivers: a message is never silently dropped.
 */
export function createEventConsumer(kafka: Kafka, opts: EventConsumerOptions): EventConsumer {
  const consumer = kafka.consumer({ groupId: opts.groupId, allowAutoTopicCreation: false });
  const ownProducer = !opts.dlqProducer;
  const dlq = opts.dlqProducer ?? kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const maxAttempts = opts.maxAttempts ?? 3;
  const log = opts.logger;

  async function deadLetter(topic: string, partition: number, message: KafkaMessage, reason: string, err: unknown, attempts: number): Promise<void> {
    await dlq.send({
      topic: dlqTopic(topic),
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...message.headers,
            'dlq-reason': reason,
            'dlq-error': errorText(err).slice(0, 1000),
            'dlq-original-topic': topic,
            'dlq-original-partition': String(partition),
            'dlq-original-offset': message.offset,
            'dlq-attempts': String(attempts),
            'dlq-consumer-group': opts.groupId,
            'dlq-at': new Date().toISOString(),
          },
        },
      ],
    });
    log?.warn({ topic, partition, offset: message.offset, reason, err: errorText(err) }, 'event dead-lettered');
  }

  return {
    consumer,
    async start() {
      await dlq.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: opts.topics, fromBeginning: opts.fromBeginning ?? false });
      await consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          let event: EventEnvelope;
          try {
            event = decodeEnvelope(message.value);
          } catch (err) {
            await deadLetter(topic, partition, message, 'invalid_envelope', err, 0);
            return;
          }
          const handler = opts.handlers[event.type];
          if (!handler) {
            if ((opts.onUnknownType ?? 'ignore') === 'dlq') await deadLetter(topic, partition, message, 'unknown_type', new Error(`no handler for ${event.type}`), 0);
            else log?.debug({ topic, type: event.type, id: event.id }, 'event type not handled here; skipped');
            return;
          }
          let attempts = 0;
          try {
            await retry(
              async ({ attempt }) => {
                attempts = attempt;
                await handler(event, { topic, partition, offset: message.offset, headers: message.headers ?? {}, attempt });
              },
              { name: `event:${event.type}`, maxAttempts, baseDelayMs: opts.retryBaseDelayMs ?? 100, maxDelayMs: 2_000, isRetryable: (e) => !(e instanceof InvalidEventError) },
            );
          } catch (err) {
            log?.error({ topic, type: event.type, id: event.id, attempts, err: errorText(err) }, 'event handler failed');
            await deadLetter(topic, partition, message, err instanceof InvalidEventError ? 'invalid_event' : 'handler_failed', err, attempts);
          }
        },
      });
    },
    async stop() {
      await consumer.disconnect();
      if (ownProducer) await dlq.disconnect();
    },
  };
}
