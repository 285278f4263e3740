// The API's metrics. Names follow Alertmanager's where the meaning is the same, so existing
// Alertmanager dashboards keep working: alertmanager_alerts_received_total{status},
// alertmanager_alerts_invalid_total, alertmanager_http_request_duration_seconds{handler,method,code}.
import { Counter, Histogram, type Registry } from 'prom-client';

export interface ApiMetrics {
  received: Counter<'status'>;
  invalid: Counter;
  requests: Histogram<'handler' | 'method' | 'code'>;
  rejected: Counter<'reason'>;
  acks: Counter;
}

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  // a second createApi on the same registry (a test, a reload) reuses the metric instead of throwing
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function apiMetrics(registry: Registry): ApiMetrics {
  const registers = [registry];
  return {
    received: reuse(registry, 'alertmanager_alerts_received_total', () => new Counter({ name: 'alertmanager_alerts_received_total', help: 'Alerts received through the v2 API, by status (firing or resolved).', labelNames: ['status'] as const, registers })),
    invalid: reuse(registry, 'alertmanager_alerts_invalid_total', () => new Counter({ name: 'alertmanager_alerts_invalid_total', help: 'Alerts refused by the v2 API as invalid.', registers })),
    requests: reuse(registry, 'alertmanager_http_request_duration_seconds', () =>
      new Histogram({ name: 'alertmanager_http_request_duration_seconds', help: 'HTTP request latency by route, method and status code.', labelNames: ['handler', 'method', 'code'] as const, buckets: [0.005, 0.025, 0.1, 0.5, 2, 10], registers }),
    ),
    rejected: reuse(registry, 'lantern_alerting_api_rejected_total', () => new Counter({ name: 'lantern_alerting_api_rejected_total', help: 'Requests answered 4xx, by reason (bad_request, too_large, unsupported_type, not_found, unauthorized, forbidden).', labelNames: ['reason'] as const, registers })),
    acks: reuse(registry, 'lantern_alerting_acks_total', () => new Counter({ name: 'lantern_alerting_acks_total', help: 'Groups acknowledged through signed links.', registers })),
  };
}

export function rejectionReason(status: number): string | undefined {
  switch (status) {
    case 400: return 'bad_request';
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 405: return 'method_not_allowed';
    case 413: return 'too_large';
    case 415: return 'unsupported_type';
    default: return status >= 400 && status < 500 ? 'other' : undefined;
  }
}
