// The dispatcher's and notify pipeline's metrics, named as Alertmanager names them so existing dashboards work.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** A metric already registered (two engines in one process, or a re-created dispatcher) is reused. */
function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export interface NotifyMetrics {
  notifications: Counter<'integration'>;
  failed: Counter<'integration' | 'reason'>;
  latency: Histogram<'integration'>;
}

export interface DispatchMetrics extends NotifyMetrics {
  alerts: Gauge<'state'>;
  groups: Gauge;
  leader: Gauge;
}

export function notifyMetrics(registry: Registry): NotifyMetrics {
  const registers = [registry];
  return {
    notifications: reuse(registry, 'alertmanager_notifications_total', () =>
      new Counter({ name: 'alertmanager_notifications_total', help: 'Notifications sent, by integration type.', labelNames: ['integration'] as const, registers })),
    failed: reuse(registry, 'alertmanager_notifications_failed_total', () =>
      new Counter({
        name: 'alertmanager_notifications_failed_total',
        help: 'Notifications that failed after retries, by integration type and reason (clientError: permanent; serverError: retryable until the deadline).',
        labelNames: ['integration', 'reason'] as const,
        registers,
      })),
    latency: reuse(registry, 'alertmanager_notification_latency_seconds', () =>
      new Histogram({
        name: 'alertmanager_notification_latency_seconds',
        help: 'Time to deliver a notification, retries included, by integration type.',
        labelNames: ['integration'] as const,
        buckets: [0.1, 0.5, 1, 5, 10, 15, 20],
        registers,
      })),
  };
}

/** `alertsByState` is read at scrape time (active / suppressed counts of the current firing alerts). */
export function dispatchMetrics(registry: Registry, alertsByState: () => Promise<{ active: number; suppressed: number }>): DispatchMetrics {
  const registers = [registry];
  return {
    ...notifyMetrics(registry),
    alerts: reuse(registry, 'alertmanager_alerts', () =>
      new Gauge({
        name: 'alertmanager_alerts',
        help: 'Firing alerts by state (active, or suppressed by silences, inhibition or time intervals).',
        labelNames: ['state'] as const,
        registers,
        async collect() {
          const s = await alertsByState();
          this.set({ state: 'active' }, s.active);
          this.set({ state: 'suppressed' }, s.suppressed);
        },
      })),
    groups: reuse(registry, 'alertmanager_dispatcher_aggregation_groups', () =>
      new Gauge({ name: 'alertmanager_dispatcher_aggregation_groups', help: 'Aggregation groups this replica holds (0 unless it leads).', registers })),
    leader: reuse(registry, 'lantern_leader', () =>
      new Gauge({ name: 'lantern_leader', help: '1 while this replica holds the dispatcher lease and sends notifications, else 0.', registers })),
  };
}
