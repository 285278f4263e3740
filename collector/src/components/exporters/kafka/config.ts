// The kafka exporter's configuration, with the OpenTelemetry Collector's key names (exporter/kafkaexporter).
import { z } from 'zod';
import { duration, retryOnFailure, sendingQueue } from '../../../config/values.js';
import { connectionKeys, DEFAULT_TOPICS, encoding } from '../../../kafka/client.js';
import type { Signal } from '../../../pipeline/types.js';

const perSignal = z.strictObject({ topic: z.string().min(1).optional(), encoding: encoding().optional() }).prefault({});

export const configSchema = z.strictObject({
  ...connectionKeys,
  /** One topic for every signal (the otlp-signal header tells them apart); `<signal>.topic` wins. */
  topic: z.string().min(1).optional(),
  encoding: encoding().default('otlp_proto'),
  traces: perSignal,
  logs: perSignal,
  metrics: perSignal,
  /**
   * Key every trace's message by its trace id, so all spans of a trace land in one partition and so reach
   * one consumer of a group: what tail sampling behind a kafka receiver needs. Default true here (false
   * upstream) because that scale-out is why this exporter exists.
   */
  partition_traces_by_id: z.boolean().default(true),
  /** Key log records that carry a trace id by it (records without one are sent unkeyed). */
  partition_logs_by_trace_id: z.boolean().default(true),
  producer: z
    .strictObject({
      /** kafkajs ships gzip only (snappy, lz4, zstd need codecs it does not bundle). */
      compression: z.enum(['none', 'gzip']).default('none'),
      /** A request that encodes larger is split into several messages (the broker's default limit is 1 MB). */
      max_message_bytes: z.number().int().min(1024).default(1_000_000),
    })
    .prefault({}),
  /** Per attempt to produce. */
  timeout: duration().default(5000),
  retry_on_failure: retryOnFailure(),
  sending_queue: sendingQueue(),
});

export type KafkaExporterConfig = z.output<typeof configSchema>;

export function topicOf(config: KafkaExporterConfig, signal: Signal): string {
  return config[signal].topic ?? config.topic ?? DEFAULT_TOPICS[signal];
}
