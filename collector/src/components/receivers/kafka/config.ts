// The kafka receiver's configuration, with the OpenTelemetry Collector's key names
// (receiver/kafkareceiver): brokers, client_id, group_id, topic, initial_offset, encoding, ….
import { z } from 'zod';
import { duration } from '../../../config/values.js';
import { connectionKeys, DEFAULT_TOPICS, encoding } from '../../../kafka/client.js';
import type { Signal } from '../../../pipeline/types.js';

const perSignal = z.strictObject({ topic: z.string().min(1).optional(), encoding: encoding().optional() }).prefault({});

export const configSchema = z
  .strictObject({
    ...connectionKeys,
    /** Members of one group share the partitions: run several collectors with the same group_id to scale out. */
    group_id: z.string().min(1).default('lantern-collector'),
    /** One topic for every signal this receiver feeds (the messages' otlp-signal header tells them apart). */
    topic: z.string().min(1).optional(),
    encoding: encoding().default('otlp_proto'),
    traces: perSignal,
    logs: perSignal,
    metrics: perSignal,
    /** Where a group without a committed offset starts. */
    initial_offset: z.enum(['latest', 'earliest']).default('latest'),
    session_timeout: duration().default(10_000),
    heartbeat_interval: duration().default(3000),
    /** Bytes per fetch request (kafkajs maxBytes); a partition's record batch larger than this is still returned whole. */
    max_fetch_size: z.number().int().min(1).default(1_048_576),
    /** How long the broker holds a fetch open waiting for data; also how soon a resumed partition is read again. */
    max_fetch_wait: duration().default(250),
  })
  .refine((c) => c.heartbeat_interval < c.session_timeout, { message: 'heartbeat_interval must be shorter than session_timeout', path: ['heartbeat_interval'] });

export type KafkaReceiverConfig = z.output<typeof configSchema>;

/** The topic a signal is read from: `<signal>.topic`, else `topic`, else the collector's default for the signal. */
export function topicOf(config: KafkaReceiverConfig, signal: Signal): string {
  return config[signal].topic ?? config.topic ?? DEFAULT_TOPICS[signal];
}
