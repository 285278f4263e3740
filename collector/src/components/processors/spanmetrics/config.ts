// spanmetrics settings, as the OpenTelemetry Collector's spanmetrics connector spells them.
import { z } from 'zod';
import { duration } from '../../../config/values.js';
import { sanitizeName } from '../../derived/metrics.js';

/** The connector's defaults, in milliseconds: what Jaeger SPM's latency panels expect. */
export const DEFAULT_BUCKETS_MS = [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000];

/** The labels every series carries; a dimension may not reuse one. */
export const BASE_LABELS = ['service_name', 'span_name', 'span_kind', 'status_code'] as const;

const dimension = z.strictObject({
  /** A span attribute, else a resource attribute; the label is the name with dots (and any other odd character) as `_`. */
  name: z.string().min(1),
  /** Used when neither has the attribute; without it, the label is left out. */
  default: z.string().optional(),
});

export const configSchema = z
  .strictObject({
    histogram: z
      .strictObject({
        explicit: z
          .strictObject({
            /** Upper bounds of the duration buckets: durations ("100ms", "1s") or numbers of milliseconds. */
            buckets: z.array(duration()).min(1).default(DEFAULT_BUCKETS_MS),
          })
          .prefault({}),
      })
      .prefault({}),
    dimensions: z.array(dimension).default([]),
    /** Prefix of the metric names: `traces.span.metrics` → traces_span_metrics_calls_total. */
    namespace: z.string().default('traces.span.metrics'),
    /** Label sets per metric (default 10000); spans beyond it are counted in one series labelled otel_metric_overflow="true". */
    aggregation_cardinality_limit: z.number().int().min(1).optional(),
    /** Older spelling of the same cap (the connector's LRU size); aggregation_cardinality_limit wins when both are set. */
    dimensions_cache_size: z.number().int().min(1).optional(),
    exemplars: z
      .strictObject({
        /** Attach the trace and span id of a recent span to each series (and bucket); served in OpenMetrics only. */
        enabled: z.boolean().default(true),
      })
      .prefault({}),
    /** Series not updated for this long disappear; 0 keeps them forever. */
    metrics_expiration: duration().default(0),
  })
  .superRefine((c, ctx) => {
    const b = c.histogram.explicit.buckets;
    if (b.some((v, i) => i > 0 && v <= b[i - 1]!)) {
      ctx.addIssue({ code: 'custom', path: ['histogram', 'explicit', 'buckets'], message: 'bucket bounds must be strictly increasing' });
    }
    const seen = new Set<string>(BASE_LABELS);
    c.dimensions.forEach((d, i) => {
      const label = sanitizeName(d.name);
      if (seen.has(label)) ctx.addIssue({ code: 'custom', path: ['dimensions', i, 'name'], message: `"${d.name}" gives label ${label}, which is already used` });
      seen.add(label);
    });
  });

export type SpanMetricsConfig = z.output<typeof configSchema>;

export const DEFAULT_CARDINALITY_LIMIT = 10_000;

/** The cap in force: aggregation_cardinality_limit, else dimensions_cache_size, else 10000. */
export const cardinalityLimit = (c: SpanMetricsConfig): number => c.aggregation_cardinality_limit ?? c.dimensions_cache_size ?? DEFAULT_CARDINALITY_LIMIT;
