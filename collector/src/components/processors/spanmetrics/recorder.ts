// Turns spans into Jaeger SPM's RED series: calls per (service, span name, kind, status, dimensions)
// and a duration histogram in milliseconds, both with exemplars pointing at a recent span.
import type { Registry } from 'prom-client';
import type { DecodedSpan, SpanKindName, StatusCodeName } from '../../../otlp/types.js';
import { attributeString, derivedCounter, derivedHistogram, spanDurationNs, sanitizeName, type CounterSeries, type DerivedCounter, type DerivedHistogram, type HistogramSeries, type Labels } from '../../derived/metrics.js';
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
const KIND_SLOT: Record<SpanKindName, number> = { unspecified: 0, internal: 3, server: 6, client: 9, producer: 12, consumer: 15 };
const STATUS_SLOT: Record<StatusCodeName, number> = { unset: 0, ok: 1, error: 2 };
const SLOTS = 18;

// \u0000 cannot be confused with the text of a name in practice; keys are never shown to anyone
const SEP = '\u0000';
const OVERFLOW_KEY = '\u0001overflow';
const OVERFLOW_LABELS: Labels = { otel_metric_overflow: 'true' };

interface Dimension {
  name: string;
  label: string;
  default: string | undefined;
}

/** The two series one label set updates. */
interface Pair {
  calls: CounterSeries;
  duration: HistogramSeries;
}
/** Per kind×status slot: the pair, or (with dimensions) pairs by the joined dimension values. */
type Slot = Pair | Map<string, Pair>;

/** A metric name under the namespace: `traces.span.metrics` + `calls` → traces_span_metrics_calls. */
export const metricName = (namespace: string, name: string) => sanitizeName(namespace ? `${namespace}.${name}` : name);

export class SpanMetricsRecorder {
  readonly calls: DerivedCounter;
  readonly duration: DerivedHistogram;
  private readonly dims: Dimension[];
  private readonly limit: number;
  private readonly exemplars: boolean;
  /**
   * service → span name → kind×status slot → series: the hot path resolves a span's series with
   * lookups on strings it already has, instead of building and hashing a key string per span.
   */
  private cache = new Map<string, Map<string, (Slot | undefined)[]>>();
  private cached = 0;

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
      let pair = this.cachedPair(span, service);
      if (pair === undefined) {
        pair = this.resolve(span, service);
        if (pair.calls.labels === OVERFLOW_LABELS) overflowed++;
      }
      const ms = spanDurationNs(span) / 1e6;
      if (this.exemplars && span.traceId) {
        pair.calls.addTraced(1, now, span.traceId, span.spanId);
        pair.duration.observeTraced(ms, now, span.traceId, span.spanId);
      } else {
        pair.calls.add(1, now);
        pair.duration.observe(ms, now);
      }
    }
    if (overflowed > 0) this.onOverflow(overflowed);
  }

  /** The live cached pair of the span's label set, if any. */
  private cachedPair(span: DecodedSpan, service: string): Pair | undefined {
    const slot = this.cache.get(service)?.get(span.name)?.[KIND_SLOT[span.kind] + STATUS_SLOT[span.status.code]];
    const pair = slot instanceof Map ? slot.get(this.dimensionKey(span)) : slot;
    return pair && !pair.calls.removed && !pair.duration.removed ? pair : undefined;
  }

  /** Finds or creates the series (or the overflow series beyond the cap) and caches them. */
  private resolve(span: DecodedSpan, service: string): Pair {
    const dimKey = this.dimensionKey(span);
    let key = service + SEP + span.name + SEP + span.kind + SEP + span.status.code + SEP + dimKey;
    if (!this.calls.has(key) && this.calls.size >= this.limit) key = OVERFLOW_KEY;
    const labels = key === OVERFLOW_KEY ? OVERFLOW_LABELS : this.labelsOf(span, service);
    const pair: Pair = { calls: this.calls.seriesFor(key, labels), duration: this.duration.seriesFor(key, labels) };
    // overflow label sets are not cached: there is no bound on how many there are
    if (key !== OVERFLOW_KEY) this.remember(span, service, dimKey, pair);
    return pair;
  }

  private remember(span: DecodedSpan, service: string, dimKey: string, pair: Pair): void {
    // entries of expired series are replaced when seen again; a cache grown well past the cap is dropped whole
    if (++this.cached > 2 * this.limit) {
      this.cache = new Map();
      this.cached = 1;
    }
    let byName = this.cache.get(service);
    if (!byName) this.cache.set(service, (byName = new Map()));
    let slots = byName.get(span.name);
    if (!slots) byName.set(span.name, (slots = new Array<Slot | undefined>(SLOTS)));
    const i = KIND_SLOT[span.kind] + STATUS_SLOT[span.status.code];
    if (this.dims.length === 0) {
      slots[i] = pair;
      return;
    }
    let byDims = slots[i];
    if (!(byDims instanceof Map)) slots[i] = byDims = new Map();
    byDims.set(dimKey, pair);
  }

  private dimensionKey(span: DecodedSpan): string {
    if (this.dims.length === 0) return '';
    let key = this.dimensionValue(span, this.dims[0]!);
    for (let i = 1; i < this.dims.length; i++) key += SEP + this.dimensionValue(span, this.dims[i]!);
    return key;
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
