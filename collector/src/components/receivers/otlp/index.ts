// STUB: replaced by the real component. Keeps the registry and typecheck whole meanwhile.
import { z } from 'zod';
import type { ReceiverFactory } from '../../../pipeline/types.js';

export const factory: ReceiverFactory<Record<string, unknown>> = {
  kind: 'receiver',
  type: 'otlp',
  signals: ['traces', 'logs', 'metrics'],
  configSchema: z.record(z.string(), z.unknown()),
  create() {
    throw new Error('receiver otlp is not implemented yet');
  },
};
