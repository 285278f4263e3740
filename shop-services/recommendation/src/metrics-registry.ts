// Temporary: @lantern/sdk's getOrCreateCounter is not exported yet. Same semantics (prom-client global registry).
import client from 'prom-client';
import type { CounterConfiguration } from 'prom-client';

export function getOrCreateCounter<L extends string>(cfg: CounterConfiguration<L>): client.Counter<L> {
  return (client.register.getSingleMetric(cfg.name) as client.Counter<L> | undefined) ?? new client.Counter<L>(cfg);
}
