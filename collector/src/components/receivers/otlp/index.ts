// The `otlp` receiver: OTLP/HTTP (protobuf and JSON) for traces, logs and metrics.
import type { ReceiverFactory } from '../../../pipeline/types.js';
import { configSchema, type OtlpReceiverConfig } from './config.js';
import { OtlpHttpReceiver } from './receiver.js';

export const factory: ReceiverFactory<OtlpReceiverConfig> = {
  kind: 'receiver',
  type: 'otlp',
  signals: ['traces', 'logs', 'metrics'],
  configSchema,
  create({ id, config, consumers, host }) {
    return new OtlpHttpReceiver(id, config.protocols.http, consumers, host);
  },
};
