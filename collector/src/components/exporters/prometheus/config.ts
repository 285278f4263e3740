// prometheus exporter settings, as the OpenTelemetry Collector's prometheusexporter spells them.
import { z } from 'zod';
import { duration, endpoint } from '../../../config/values.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const configSchema = z.strictObject({
  /** Where GET /metrics is served. */
  endpoint: endpoint().default({ host: '127.0.0.1', port: 8889 }),
  /** Prefix (joined with `_`) of metrics that reach the exporter through a metrics pipeline; derived metrics keep their names. */
  namespace: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a valid Prometheus metric name prefix').optional(),
  /** Labels added to every series served. */
  const_labels: z
    .record(z.string().regex(LABEL_NAME, 'must be a valid Prometheus label name'), z.string())
    .refine((l) => !Object.keys(l).some((k) => k.startsWith('__')), 'label names starting with __ are reserved')
    .default({}),
  /** A pipeline series not updated for this long disappears. */
  metric_expiration: duration().refine((ms) => ms > 0, 'must be above 0').default(300_000),
  resource_to_telemetry_conversion: z
    .strictObject({
      /** Turn every resource attribute into a label (besides job and instance). */
      enabled: z.boolean().default(false),
    })
    .prefault({}),
  /** Answer in OpenMetrics (with exemplars) when the scraper's Accept header prefers it; text 0.0.4 otherwise. */
  enable_open_metrics: z.boolean().default(true),
  /** Append type and unit suffixes (`_total`, `_seconds`, `_ratio`, …) to pipeline metric names, like the contrib exporter. */
  add_metric_suffixes: z.boolean().default(true),
});

export type PrometheusConfig = z.output<typeof configSchema>;
