// A test receiver, type `test_source`: tests push data straight into the pipelines through it.
import { z } from 'zod';
import { registerFactory } from '../../src/pipeline/registry.js';
import type { Consumer, ReceiverFactory, Signal } from '../../src/pipeline/types.js';

const sources = new Map<string, { [S in Signal]?: Consumer<S> }>();

/** The consumers of receiver `id`; throws if it is not running. */
export function source(id = 'test_source'): { [S in Signal]?: Consumer<S> } {
  const s = sources.get(id);
  if (!s) throw new Error(`test source ${id} is not running`);
  return s;
}

export const sourceFactory: ReceiverFactory<Record<string, never>> = {
  kind: 'receiver',
  type: 'test_source',
  signals: ['traces', 'logs', 'metrics'],
  configSchema: z.strictObject({}),
  create({ id, consumers }) {
    sources.set(id, consumers);
    return {
      async shutdown() {
        if (sources.get(id) === consumers) sources.delete(id);
      },
    };
  },
};

registerFactory(sourceFactory);
