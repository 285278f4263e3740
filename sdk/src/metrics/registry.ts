import client from 'prom-client';
import type { CounterConfiguration, GaugeConfiguration, HistogramConfiguration, Registry } from 'prom-client';

/**
 * Get-or-create helpers for prom-client metrics. Every part of the SDK (HTTP, Kafka, resilience tools,
 * user code) registers into one registry, by default prom-client's global one, and may be set up more
 * than once in a process (tests, hot paths created lazily), so creation must be idempotent:
 * prom-client throws on a duplicate name.
 */
export function defaultRegistry(): Registry {
  return client.register;
}

function existing<T>(registry: Registry, name: string, kind: string): T | undefined {
  const found = registry.getSingleMetric(name);
  if (!found) return undefined;
  const type = (found as unknown as { type?: string }).type;
  if (type !== undefined && type !== kind) {
    throw new TypeError(`metric "${name}" is already registered as a ${type}, not a ${kind}`);
  }
  return found as T;
}

export function getOrCreateCounter<L extends string>(cfg: CounterConfiguration<L>, registry: Registry = defaultRegistry()): client.Counter<L> {
  return existing<client.Counter<L>>(registry, cfg.name, 'counter') ?? new client.Counter<L>({ ...cfg, registers: [registry] });
}

export function getOrCreateGauge<L extends string>(cfg: GaugeConfiguration<L>, registry: Registry = defaultRegistry()): client.Gauge<L> {
  return existing<client.Gauge<L>>(registry, cfg.name, 'gauge') ?? new client.Gauge<L>({ ...cfg, registers: [registry] });
}

export function getOrCreateHistogram<L extends string>(cfg: HistogramConfiguration<L>, registry: Registry = defaultRegistry()): client.Histogram<L> {
  const found = existing<client.Histogram<L>>(registry, cfg.name, 'histogram');
  if (found) return found;
  if (!cfg.enableExemplars) return new client.Histogram<L>({ ...cfg, registers: [registry] });
  // prom-client refuses exemplar metrics in a text-format registry at construction only. The shared
  // registry stays text format on purpose: renderMetrics() prints exemplars when OpenMetrics is asked for.
  const histogram = new client.Histogram<L>({ ...cfg, registers: [] });
  registry.registerMetric(histogram);
  return histogram;
}
