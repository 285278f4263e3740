import client from 'prom-client';
import type { Registry } from 'prom-client';
import { defaultRegistry } from './registry.js';

const enabled = new WeakSet<Registry>();
const MISNAMED_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * Node runtime metrics from prom-client (event-loop lag, GC duration, heap, handles, CPU, fds),
 * collected at scrape time. Idempotent: prom-client throws when called twice on one registry, and
 * both start() and koaObservability() call this.
 */
export function collectRuntimeMetrics(registry: Registry = defaultRegistry()): void {
  if (enabled.has(registry)) return;
  // another copy of this module (or user code) may already have done it
  if (registry.getSingleMetric('nodejs_eventloop_lag_seconds') === undefined) {
    client.collectDefaultMetrics({ register: registry });
    // Gauges named *_total break Prometheus naming (promtool lint fails, OpenMetrics reserves the
    // suffix for counters). Each is the sum over the by-type gauge of the same name without _total.
    for (const name of MISNAMED_GAUGES) registry.removeSingleMetric(name);
  }
  enabled.add(registry);
}
