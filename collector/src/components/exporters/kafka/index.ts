// The kafka exporter: writes OTLP protobuf messages to Kafka topics, every trace's spans keyed by its
// trace id, so a tier of collectors behind a kafka receiver can scale out (see README.md).
import type { ExporterFactory } from '../../../pipeline/types.js';
import { configSchema, type KafkaExporterConfig } from './config.js';
import { createKafkaExporter } from './exporter.js';

export const factory: ExporterFactory<KafkaExporterConfig> = {
  kind: 'exporter',
  type: 'kafka',
  signals: ['traces', 'logs', 'metrics'],
  configSchema,
  create({ id, config, host }) {
    return createKafkaExporter(id, config, host);
  },
};
