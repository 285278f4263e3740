// The collector's own health metrics (served on :8888), named like the OpenTelemetry Collector's
// (otelcol_receiver_accepted_spans_total, otelcol_exporter_queue_size, …) so its dashboards and alerts carry over.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ITEM_NAME, type Signal } from '../pipeline/types.js';

type Labels = Record<string, string>;

export class SelfTelemetry {
  readonly registry = new Registry();
  private readonly metrics = new Map<string, Counter | Gauge | Histogram>();

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    // process_* and nodejs_* (RSS, heap, event-loop lag): the memory limiter's effect is visible here
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'otelcol_' });
  }

  /** A counter, created on first use; later calls with the same name return it (label names must match). */
  counter(name: string, help: string, labelNames: readonly string[]): Counter {
    return this.get(name, () => new Counter({ name, help, labelNames, registers: [this.registry] }));
  }

  gauge(name: string, help: string, labelNames: readonly string[]): Gauge {
    return this.get(name, () => new Gauge({ name, help, labelNames, registers: [this.registry] }));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: number[]): Histogram {
    return this.get(name, () => new Histogram({ name, help, labelNames, buckets, registers: [this.registry] }));
  }

  /** Standard per-signal counters of a receiver: accepted and refused items. */
  receiver(id: string, transport: string) {
    const labels = (signal: Signal): Labels => ({ receiver: id, transport, signal });
    return {
      accepted: (signal: Signal, n: number) => this.itemCounter('receiver', 'accepted', signal, ['receiver', 'transport', 'signal']).inc(labels(signal), n),
      refused: (signal: Signal, n: number) => this.itemCounter('receiver', 'refused', signal, ['receiver', 'transport', 'signal']).inc(labels(signal), n),
    };
  }

  /** Standard per-signal counters of a processor: items dropped on purpose (sampling, filtering). */
  processor(id: string, pipeline: string) {
    return {
      dropped: (signal: Signal, n: number) => this.itemCounter('processor', 'dropped', signal, ['processor', 'pipeline']).inc({ processor: id, pipeline }, n),
      refused: (signal: Signal, n: number) => this.itemCounter('processor', 'refused', signal, ['processor', 'pipeline']).inc({ processor: id, pipeline }, n),
    };
  }

  /** Standard per-signal metrics of an exporter: sent, failed (given up after retries), queue depth and capacity. */
  exporter(id: string) {
    const queueSize = this.gauge('otelcol_exporter_queue_size', 'Items waiting in the exporter queue', ['exporter', 'signal']);
    const queueCapacity = this.gauge('otelcol_exporter_queue_capacity', 'Capacity of the exporter queue, in items', ['exporter', 'signal']);
    return {
      sent: (signal: Signal, n: number) => this.itemCounter('exporter', 'sent', signal, ['exporter']).inc({ exporter: id }, n),
      failed: (signal: Signal, n: number) => this.itemCounter('exporter', 'send_failed', signal, ['exporter']).inc({ exporter: id }, n),
      enqueueFailed: (signal: Signal, n: number) => this.itemCounter('exporter', 'enqueue_failed', signal, ['exporter']).inc({ exporter: id }, n),
      queueSize: (signal: Signal, n: number) => queueSize.set({ exporter: id, signal }, n),
      queueCapacity: (signal: Signal, n: number) => queueCapacity.set({ exporter: id, signal }, n),
    };
  }

  /** Removes every series (between test runs in one process). */
  reset(): void {
    this.registry.resetMetrics();
  }

  private itemCounter(kind: string, verb: string, signal: Signal, labelNames: string[]): Counter {
    const unit = ITEM_NAME[signal];
    return this.counter(`otelcol_${kind}_${verb}_${unit}_total`, `${unit.replace('_', ' ')} ${verb.replace('_', ' ')} by the ${kind}`, labelNames);
  }

  private get<T extends Counter | Gauge | Histogram>(name: string, make: () => T): T {
    let m = this.metrics.get(name);
    if (!m) {
      m = make();
      this.metrics.set(name, m);
    }
    return m as T;
  }
}
