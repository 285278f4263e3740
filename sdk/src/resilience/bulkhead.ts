import { BulkheadPolicy, isBulkheadRejectedError } from 'cockatiel';
import { z } from 'zod';
import { parseOptions, positiveInt, toolName } from './config.js';
import { BulkheadRejectedError } from './errors.js';
import { getOrCreateGauge } from '../metrics/registry.js';
import { metrics, spanEvent } from './telemetry.js';

export interface BulkheadOptions {
  /** Metric label and span attribute; a code-defined constant like "image-resizer". */
  name: string;
  /** At most this many calls run at once. */
  maxConcurrent: number;
  /** Calls beyond maxConcurrent wait in a FIFO queue of this size; beyond that they are rejected. Default 0. */
  maxQueue?: number;
}

export interface Bulkhead {
  /** Runs `fn` when a slot is free; rejects with {@link BulkheadRejectedError} when slots and queue are full. */
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Calls running now. */
  readonly active: number;
  /** Calls waiting for a slot. */
  readonly queued: number;
}

const schema = z.object({ name: toolName, maxConcurrent: positiveInt, maxQueue: z.number().int().min(0).default(0) });

/**
 * Live bulkheads, read when the gauges are scraped: cockatiel moves calls from queue to slot in a
 * microtask, so reading at scrape time is the only way the gauges are never stale. WeakRefs so a
 * bulkhead created per request (a mistake, but a survivable one) doesn't leak.
 */
const live = new Set<WeakRef<{ name: string; policy: BulkheadPolicy; maxConcurrent: number; maxQueue: number }>>();

function collect(read: (b: { policy: BulkheadPolicy; maxConcurrent: number; maxQueue: number }) => number) {
  return function (this: { reset(): void; set(labels: { name: string }, v: number): void }) {
    const sums = new Map<string, number>();
    for (const ref of live) {
      const b = ref.deref();
      if (!b) {
        live.delete(ref);
        continue;
      }
      sums.set(b.name, (sums.get(b.name) ?? 0) + read(b));
    }
    this.reset();
    for (const [name, v] of sums) this.set({ name }, v);
  };
}

function registerGauges(): void {
  getOrCreateGauge({
    name: 'resilience_bulkhead_active',
    help: 'Calls running inside the bulkhead',
    labelNames: ['name'],
    collect: collect((b) => b.maxConcurrent - b.policy.executionSlots),
  });
  getOrCreateGauge({
    name: 'resilience_bulkhead_queued',
    help: 'Calls waiting in the bulkhead queue',
    labelNames: ['name'],
    collect: collect((b) => b.maxQueue - b.policy.queueSlots),
  });
}

/**
 * Limits concurrency to a dependency (cockatiel's bulkhead underneath) so one slow dependency
 * can't take every socket/worker. Gauges resilience_bulkhead_active{name} and
 * resilience_bulkhead_queued{name} (read at scrape time), counter
 * resilience_bulkhead_rejections_total{name}, span event "resilience.bulkhead.rejected".
 */
export function createBulkhead(options: BulkheadOptions): Bulkhead {
  const { name, maxConcurrent, maxQueue } = parseOptions(schema, options, 'createBulkhead');
  const policy = new BulkheadPolicy(maxConcurrent, maxQueue);
  registerGauges();
  const rejections = metrics.bulkheadRejections();
  const state = { name, policy, maxConcurrent, maxQueue };
  live.add(new WeakRef(state));

  return {
    get active() {
      return state.maxConcurrent - policy.executionSlots;
    },
    get queued() {
      return state.maxQueue - policy.queueSlots;
    },
    async execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
      let started = false;
      try {
        return await policy.execute(({ signal: s }) => {
          started = true;
          return fn(s);
        }, signal);
      } catch (err) {
        // Only our own rejection; one from a bulkhead nested inside fn passes through.
        if (started || !isBulkheadRejectedError(err)) throw err;
        rejections.inc({ name });
        spanEvent('resilience.bulkhead.rejected', {
          'resilience.name': name,
          'bulkhead.max_concurrent': maxConcurrent,
          'bulkhead.max_queue': maxQueue,
        });
        throw new BulkheadRejectedError(name, maxConcurrent, maxQueue);
      }
    },
  };
}
