// A test exporter, type `test_slow_sink`: like `test_sink` (it records into the same `sink(key)`), but
// each consume first waits `delay_ms`, at most `concurrency` at a time (0: unbounded), like a slow
// backend with few connections (overload tests); with `queue`, consume resolves as soon as the data is
// queued in memory and one worker delivers the queue at that pace (an exporter with an in-memory sending
// queue: what piles up when the backend is slower than the input); `strip_attributes` records items without their
// attributes, so what the sink keeps does not dominate the process's memory; and it may be told to
// refuse particular batches (`refuseIf(key, predicate)`, for partial-refusal tests).
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

const configSchema = z.strictObject({
  key: z.string().optional(),
  delay_ms: z.number().nonnegative().default(0),
  concurrency: z.number().int().nonnegative().default(0),
  strip_attributes: z.boolean().default(false),
  queue: z.boolean().default(false),
});

/** At most `limit` holders at a time (0: no limit); the others wait in arrival order. */
function semaphore(limit: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (limit > 0 && active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

export const slowSinkFactory: ExporterFactory<z.output<typeof configSchema>> = {
  kind: 'exporter',
  type: 'test_slow_sink',
  signals: ['traces', 'logs', 'metrics'],
  configSchema,
  create({ id, config }) {
    const key = config.key ?? id;
    const s = sink(key);
    const exclusive = semaphore(config.concurrency);
    const keep = <T>(item: T): T => (config.strip_attributes ? { ...item, attributes: {} } : item);
    const deliver = async (signal: Signal, data: unknown[]) => {
      if (config.delay_ms > 0) await sleep(config.delay_ms);
      if (s.refuse || predicates.get(key)?.(signal, data)) throw new RefusedError('test slow sink refuses');
      const kept = data.map(keep);
      for (const item of kept) (s[signal] as unknown[]).push(item);
      (s.batches[signal] as unknown[]).push(kept);
    };
    const queue: { signal: Signal; data: unknown[] }[] = [];
    let worker: Promise<void> | undefined;
    const drain = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await deliver(next.signal, next.data).catch(() => undefined);
      worker = undefined;
    };
    return {
      consumer<S extends Signal>(signal: S): Consumer<S> {
        return {
          consume: async (data: SignalData[S]) => {
            if (!config.queue) return exclusive(() => deliver(signal, data as unknown[]));
            queue.push({ signal, data: data as unknown[] });
            worker ??= drain();
          },
        };
      },
      async shutdown() {
        await worker;
        s.shutdowns++;
      },
    };
  },
};

registerFactory(slowSinkFactory);
