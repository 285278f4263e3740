// STUB: replaced by the real component. Keeps the registry and typecheck whole meanwhile.
import { z } from 'zod';
import type { ProcessorFactory } from '../../../pipeline/types.js';

export const factory: ProcessorFactory<Record<string, unknown>> = {
  kind: 'processor',
  type: 'servicegraph',
  signals: ['traces', 'logs', 'metrics'],
  configSchema: z.record(z.string(), z.unknown()),
  create() {
    throw new Error('processor servicegraph is not implemented yet');
  },
};
