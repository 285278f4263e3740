// STUB: replaced by the real component. Keeps the registry and typecheck whole meanwhile.
import { z } from 'zod';
import type { ExporterFactory } from '../../../pipeline/types.js';

export const factory: ExporterFactory<Record<string, unknown>> = {
  kind: 'exporter',
  type: 'prometheus',
  signals: ['traces', 'logs', 'metrics'],
  configSchema: z.record(z.string(), z.unknown()),
  create() {
    throw new Error('exporter prometheus is not implemented yet');
  },
};
