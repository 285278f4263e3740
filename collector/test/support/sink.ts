// A test exporter that keeps what reaches it, registered as type `test_sink`. Its config can make it
// refuse (to test back-pressure); `sink(id)` reads what an instance received.
import { z } from 'zod';
import { RefusedError } from '../../src/pipeline/errors.js';
import { registerFactory } from '../../src/pipeline/registry.js';
import type { Consumer, ExporterFactory, Signal, SignalData } from '../../src/pipeline/types.js';

export interface Sink {
  traces: SignalData['traces'];
  logs: SignalData['logs'];
  metrics: SignalData['metrics'];
  /** Batches in arrival order, per signal. */
  batches: { [S in Signal]: SignalData[S][] };
  /** When set, consume() rejects with RefusedError. */
  refuse: boolean;
  shutdowns: number;
}

const sinks = new Map<string, Sink>();

/** The sink of exporter `id` (`test_sink` or `test_sink/name`), created on first use. */
export function sink(id = 'test_sink'): Sink {
  let s = sinks.get(id);
  if (!s) {
    s = { traces: [], logs: [], metrics: [], batches: { traces: [], logs: [], metrics: [] }, refuse: false, shutdowns: 0 };
    sinks.set(id, s);
  }
  return s;
}

export const sinkFactory: ExporterFactory<{ key?: string | undefined }> = {
  kind: 'exporter',
  type: 'test_sink',
  signals: ['traces', 'logs', 'metrics'],
  configSchema: z.strictObject({ key: z.string().optional() }),
  create({ id, config }) {
    const s = sink(config.key ?? id);
    return {
      consumer<S extends Signal>(signal: S): Consumer<S> {
        return {
          async consume(data: SignalData[S]) {
            if (s.refuse) throw new RefusedError('test sink refuses');
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

registerFactory(sinkFactory);
