// memory_limiter: refuses data (RefusedError → the receiver answers 503 with Retry-After) while the
// process RSS is above the soft limit, so senders back off instead of the collector being OOM-killed.
// It never buffers: place it first in every pipeline, before anything that holds data.
import { RefusedError } from '../../../pipeline/errors.js';
import { itemCount, type Processor, type ProcessorCreate, type ProcessorFactory, type Signal, type SignalData } from '../../../pipeline/types.js';
import { configSchema, type MemoryLimiterConfig } from './config.js';
import { computeLimits, totalMemoryBytes } from './limits.js';
import { freeHeapBytes, MemoryLimiter, type LimiterState } from './limiter.js';
import { acquireLimiter, type Lease } from './shared.js';

export { configSchema, type MemoryLimiterConfig } from './config.js';

/** Internal knobs, not part of the YAML: tests inject the measurement; a second type name lets them register a variant. */
export interface MemoryLimiterFactoryOptions {
  type?: string;
  /** The process RSS in bytes (default process.memoryUsage.rss). When set, the free-heap correction is off (0) unless readFreeHeap is given too. */
  readRss?: () => number;
  readFreeHeap?: () => number;
  /** Memory that percentages refer to (default: the lower of totalmem() and the cgroup limit). */
  totalMemory?: () => number;
}

const STATE_VALUE: Record<LimiterState, number> = { ok: 0, soft: 1, hard: 2 };

export function createMemoryLimiterFactory(options: MemoryLimiterFactoryOptions = {}): ProcessorFactory<MemoryLimiterConfig> {
  return {
    kind: 'processor',
    type: options.type ?? 'memory_limiter',
    signals: ['traces', 'logs', 'metrics'],
    configSchema,
    create: (ctx) => createProcessor(ctx, options),
  };
}

export const factory = createMemoryLimiterFactory();

function createProcessor<S extends Signal>(ctx: ProcessorCreate<MemoryLimiterConfig, S>, options: MemoryLimiterFactoryOptions): Processor<S> {
  const { id, config, host, signal, pipeline, next } = ctx;
  const labels = { processor: id, pipeline };
  const stateGauge = host.telemetry.gauge('otelcol_processor_memory_limiter_state', 'Memory limiter state: 0 accepting, 1 refusing (above the soft limit), 2 refusing and above the hard limit', ['processor', 'pipeline']);
  const counters = host.telemetry.processor(id, pipeline);
  // validated already by the schema; computed here so the factory's injected totalMemory applies
  const limits = computeLimits(config, options.totalMemory ?? totalMemoryBytes);
  const make = (onCheck: (state: LimiterState) => void) => {
    const gcCounter = host.telemetry.counter('otelcol_processor_memory_limiter_forced_gc_total', 'Garbage collections forced by the memory limiter', ['processor']);
    return new MemoryLimiter({
      limits,
      checkIntervalMs: config.check_interval,
      minGcIntervalSoftMs: config.min_gc_interval_when_soft_limited,
      minGcIntervalHardMs: config.min_gc_interval_when_hard_limited,
      readRss: options.readRss ?? (() => process.memoryUsage.rss()),
      readFreeHeap: options.readFreeHeap ?? (options.readRss ? () => 0 : freeHeapBytes),
      gc: (globalThis as { gc?: () => void }).gc,
      logger: host.logger.child({ processor: id }),
      onCheck,
      onGc: () => gcCounter.inc({ processor: id }),
    });
  };
  // Retry-After: by then at least one more check has run
  const retryAfterSeconds = Math.max(1, Math.ceil(config.check_interval / 1000));
  let lease: Lease | undefined;
  return {
    async start() {
      lease = acquireLimiter(host, id, make, (state) => stateGauge.set(labels, STATE_VALUE[state]));
    },
    async consume(data: SignalData[S]) {
      if (lease?.limiter.mustRefuse) {
        counters.refused(signal, itemCount(signal, data));
        throw new RefusedError(`${id}: data refused, memory usage is above the soft limit`, { retryAfterSeconds });
      }
      return next.consume(data);
    },
    async shutdown() {
      lease?.release();
      lease = undefined;
      stateGauge.remove(labels);
    },
  };
}
