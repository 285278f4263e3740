// spanmetrics: RED metrics (calls, duration) from every span, in Jaeger SPM's names, recorded into
// host.derivedMetrics and served by the prometheus exporter. Unlike the OpenTelemetry Collector's
// connector it is a pass-through processor: the spans go on to `next` unchanged. It sits before
// tail sampling, so the metrics count 100% of the traffic.
import type { Consumer, Processor, ProcessorCreate, ProcessorFactory, Signal } from '../../../pipeline/types.js';
import type { DecodedSpan } from '../../../otlp/types.js';
import { configSchema, type SpanMetricsConfig } from './config.js';
import { SpanMetricsRecorder } from './recorder.js';

export const factory: ProcessorFactory<SpanMetricsConfig> = {
  kind: 'processor',
  type: 'spanmetrics',
  signals: ['traces'],
  configSchema,
  create<S extends Signal>({ id, pipeline, config, host, next }: ProcessorCreate<SpanMetricsConfig, S>): Processor<S> {
    // only ever placed in traces pipelines (signals above): S is 'traces'
    const traces = next as unknown as Consumer<'traces'>;
    const overflow = host.telemetry.counter(
      'otelcol_processor_spanmetrics_overflow_spans_total',
      'Spans counted in the otel_metric_overflow series because aggregation_cardinality_limit was reached',
      ['processor', 'pipeline'],
    );
    let warned = false;
    const recorder = new SpanMetricsRecorder(host.derivedMetrics, config, (n) => {
      overflow.inc({ processor: id, pipeline }, n);
      if (!warned) host.logger.warn({ processor: id, pipeline }, 'spanmetrics cardinality limit reached: new label sets go to the otel_metric_overflow series');
      warned = true;
    });
    const proc: Processor<'traces'> = {
      async consume(spans: DecodedSpan[]) {
        await traces.consume(spans);
        // counted once accepted downstream: a refused batch is retried by the sender and would count twice
        recorder.record(spans);
      },
      async shutdown() {
        // the series live in host.derivedMetrics and outlive this instance
      },
    };
    return proc as unknown as Processor<S>;
  },
};
