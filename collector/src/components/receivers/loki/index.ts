// The `loki` receiver: Loki's push API (JSON and snappy protobuf) into the logs pipelines.
import type { ReceiverFactory } from '../../../pipeline/types.js';
import { configSchema, type LokiReceiverConfig } from './config.js';
import { LokiReceiver } from './receiver.js';

export const factory: ReceiverFactory<LokiReceiverConfig> = {
  kind: 'receiver',
  type: 'loki',
  signals: ['logs'],
  configSchema,
  create({ id, config, consumers, host }) {
    // the pipeline core only starts a receiver listed in a pipeline, and only logs pipelines may list this one
    return new LokiReceiver(id, config, consumers.logs!, host);
  },
};
