// prometheus: serves, on GET /metrics (default 127.0.0.1:8889), the derived metrics of
// host.derivedMetrics (spanmetrics, servicegraph: what Jaeger SPM and the service graph query) and every
// metric that reaches it through a metrics pipeline, in Prometheus text or OpenMetrics with exemplars.
import type { ExporterFactory } from '../../../pipeline/types.js';
import { configSchema, type PrometheusConfig } from './config.js';
import { PrometheusExporter } from './exporter.js';

export const factory: ExporterFactory<PrometheusConfig> = {
  kind: 'exporter',
  type: 'prometheus',
  signals: ['metrics'],
  configSchema,
  create({ id, config, host }) {
    return new PrometheusExporter(id, config, host);
  },
};
