// A test exporter, type `test_slow_sink`: like `test_sink` (it records into the same `sink(key)`), but
// each consume first waits `delay_ms` (a slow backend, for overload tests) and may be told to refuse
// particular batches (`refuseIf(key, predicate)`, for partial-refusal tests).
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { RefusedError } from '../../src/pipeline/errors.js';
import { registerFactory } from '../../src/pipeline/registry.js';
import type { Consumer, ExporterFactory, Signal, SignalData } from '../../src/pipeline/types.js';
import { sink } from './sink.js';

type Predicate = (signal: Signal, data: unknown[]) => boolean;
const predicates = new Map<string, Predicate>();

/** Makes slow sink `key` refuse (RefusedError) every batch for which `predicate` is true. */
export function refuseIf(key: string, predicate: Predicate | undefined): void {
  if (predicate) predicates.set(key, predicate);
  else predicates.delete(key);
}

export const slowSinkFactory: ExporterFactory<{ key?: string | undefined; delay_ms: number }> = {
  kind: 'exporter',
  type: 'test_slow_sink',
  signals: ['traces', 'logs', 'metrics'],
  configSchema: z.strictObject({ key: z.string().optional(), delay_ms: z.number().nonnegative().default(0) }),
  create({ id, config }) {
    const key = config.key ?? id;
    const s = sink(key);
    return {
      consumer<S extends Signal>(signal: S): Consumer<S> {
        return {
          async consume(data: SignalData[S]) {
            if (config.delay_ms > 0) await sleep(config.delay_ms);
            if (s.refuse || predicates.get(key)?.(signal, data)) throw new RefusedError('test slow sink refuses');
            (s[signal] as unknown[]).push(...data);
            (s.batches[signal] as unknown[]).push(data);
          },
        };
      },
      async shutdown() {
        s.shutdowns++;
      },
    };
  },
};

registerFactory(slowSinkFactory);
