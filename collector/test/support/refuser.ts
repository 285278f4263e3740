// A test exporter that always fails in a configured way, registered as type `test_refuser`: a
// RefusedError (optionally resourceExhausted, with a Retry-After) or a PermanentError. For testing how
// receivers answer each kind of pipeline failure.
import { z } from 'zod';
import { PermanentError, RefusedError } from '../../src/pipeline/errors.js';
import { registerFactory } from '../../src/pipeline/registry.js';
import type { Consumer, ExporterFactory, Signal } from '../../src/pipeline/types.js';

const configSchema = z.strictObject({
  kind: z.enum(['refused', 'permanent']).default('refused'),
  resource_exhausted: z.boolean().default(false),
  retry_after_seconds: z.number().default(1),
});

export const refuserFactory: ExporterFactory<z.output<typeof configSchema>> = {
  kind: 'exporter',
  type: 'test_refuser',
  signals: ['traces', 'logs', 'metrics'],
  configSchema,
  create({ config }) {
    const fail = (): never => {
      if (config.kind === 'permanent') throw new PermanentError('test refuser: this data can never be accepted');
      throw new RefusedError('test refuser refuses', { resourceExhausted: config.resource_exhausted, retryAfterSeconds: config.retry_after_seconds });
    };
    return {
      consumer<S extends Signal>(_signal: S): Consumer<S> {
        return { consume: async () => fail() };
      },
      async shutdown() {},
    };
  },
};

registerFactory(refuserFactory);
