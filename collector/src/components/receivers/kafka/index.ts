// The kafka receiver: reads OTLP protobuf messages (as the kafka exporter writes them) from Kafka topics
// in a consumer group, so several collectors can share the partitions of one topic.
import type { ReceiverFactory } from '../../../pipeline/types.js';
import { configSchema, type KafkaReceiverConfig } from './config.js';
import { KafkaReceiver } from './receiver.js';

export const factory: ReceiverFactory<KafkaReceiverConfig> = {
  kind: 'receiver',
  type: 'kafka',
  signals: ['traces', 'logs', 'metrics'],
  configSchema,
  create({ id, config, host, consumers }) {
    return new KafkaReceiver(id, config, host, consumers);
  },
};
