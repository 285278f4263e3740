// Turns spans into Jaeger SPM's RED series: calls per (service, span name, kind, status, dimensions)
// and a duration histogram in milliseconds, both with exemplars pointing at a recent span.
import type { Registry } from 'prom-client';
import type { DecodedSpan, SpanKindName, StatusCodeName } from '../../../otlp/types.js';
import { attributeString, derivedCounter, derivedHistogram, durationNs, sanitizeName, type DerivedCounter, type DerivedHistogram, type Labels } from '../../derived/metrics.js';
import { cardinalityLimit, type SpanMetricsConfig } from './config.js';

const KIND: Record<SpanKindName, string> = {
  unspecified: 'SPAN_KIND_UNSPECIFIED',
  internal: 'SPAN_KIND_INTERNAL',
  server: 'SPAN_KIND_SERVER',
  client: 'SPAN_KIND_CLIENT',
  producer: 'SPAN_KIND_PRODUCER',
  consumer: 'SPAN_KIND_CONSUMER',
};
const STATUS: Record<StatusCodeName, string> = { unset: 'STATUS_CODE_UNSET', ok: 'STATUS_CODE_OK', error: 'STATUS_CODE_ERROR' };

// \u0000 cannot be confused with the text of a name in practice; keys are never shown to anyone
const SEP = '\u0000';
const OVERFLOW_KEY = '\u0001overflow';
const OVERFLOW_LABELS: Labels = { otel_metric_overflow: 'true' };

interface Dimension {
  name: string;
  label: string;
  default: string | undefined;
}

/** A metric name under the namespace: `traces.span.metrics` + `calls` → traces_span_metrics_calls. */
export const metricName = (namespace: string, name: string) => sanitizeName(namespace ? `${namespace}.${name}` : name);

export class SpanMetricsRecorder {
  readonly calls: DerivedCounter;
  readonly duration: DerivedHistogram;
  private readonly dims: Dimension[];
  private readonly limit: number;
  private readonly exemplars: boolean;

  /** `onOverflow(n)`: n spans went to the overflow series because the cap was reached. */
  constructor(
    registry: Registry,
    config: SpanMetricsConfig,
    private readonly onOverflow: (n: number) => void,
  ) {
    const base = metricName(config.namespace, '');
    this.calls = derivedCounter(registry, `${base}calls_total`, 'Spans counted per service, span name, kind and status (spanmetrics).');
    this.duration = derivedHistogram(registry, `${base}duration_milliseconds`, 'Span durations in milliseconds (spanmetrics).', config.histogram.explicit.buckets);
    this.calls.expirationMs = this.duration.expirationMs = config.metrics_expiration;
    this.dims = config.dimensions.map((d) => ({ name: d.name, label: sanitizeName(d.name), default: d.default }));
    this.limit = cardinalityLimit(config);
    this.exemplars = config.exemplars.enabled;
  }

  record(spans: readonly DecodedSpan[]): void {
    const now = Date.now();
    let overflowed = 0;
    for (const span of spans) {
      const service = span.resource.attributes['service.name'];
      // like the connector: a span whose resource has no service.name is not metered
      if (typeof service !== 'string') continue;
      let key = service + SEP + span.name + SEP + span.kind + SEP + span.status.code;
      for (const d of this.dims) key += SEP + this.dimensionValue(span, d);
      let calls = this.calls.find(key);
      let duration = calls && this.duration.find(key);
      if (!calls || !duration) {
        if (!this.calls.has(key) && this.calls.size >= this.limit) {
          key = OVERFLOW_KEY;
          overflowed++;
        }
        const labels = key === OVERFLOW_KEY ? OVERFLOW_LABELS : this.labelsOf(span, service);
        calls = this.calls.seriesFor(key, labels);
        duration = this.duration.seriesFor(key, labels);
      } else if (key === OVERFLOW_KEY) overflowed++;
      const ms = durationNs(span.startTimeUnixNano, span.endTimeUnixNano) / 1e6;
      if (this.exemplars && span.traceId) {
        calls.addTraced(1, now, span.traceId, span.spanId);
        duration.observeTraced(ms, now, span.traceId, span.spanId);
      } else {
        calls.add(1, now);
        duration.observe(ms, now);
      }
    }
    if (overflowed > 0) this.onOverflow(overflowed);
  }

  private dimensionValue(span: DecodedSpan, d: Dimension): string {
    return attributeString(span.attributes, d.name) ?? attributeString(span.resource.attributes, d.name) ?? d.default ?? '';
  }

  private labelsOf(span: DecodedSpan, service: string): Labels {
    const labels: Labels = { service_name: service, span_name: span.name, span_kind: KIND[span.kind], status_code: STATUS[span.status.code] };
    for (const d of this.dims) {
      const v = this.dimensionValue(span, d);
      // an empty label is the same as no label to Prometheus: leave it out so the two never make two series
      if (v !== '') labels[d.label] = v;
    }
    return labels;
  }
}
