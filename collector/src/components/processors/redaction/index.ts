// redaction: removes attribute keys that are not allowed (fail-closed mode), masks or hashes values that
// match blocked patterns, and records what it did as audit attributes and self metrics. Follows the
// contrib redactionprocessor: resource, scope, span, span event, log record and data point attributes,
// and log bodies. Items are never modified in place (other pipelines may hold them): changed ones are copies.
import type { Processor, ProcessorCreate, ProcessorFactory, Signal, SignalData } from '../../../pipeline/types.js';
import type { DecodedLogRecord, DecodedMetric, DecodedSpan } from '../../../otlp/types.js';
import { configSchema, type RedactionConfig } from './config.js';
import { Redactor } from './redactor.js';
import { Pass } from './signals.js';

export { configSchema, type RedactionConfig } from './config.js';

export const factory: ProcessorFactory<RedactionConfig> = {
  kind: 'processor',
  type: 'redaction',
  signals: ['traces', 'logs', 'metrics'],
  configSchema,
  create: (ctx) => createProcessor(ctx),
};

function createProcessor<S extends Signal>({ id, config, host, signal, pipeline, next }: ProcessorCreate<RedactionConfig, S>): Processor<S> {
  const labels = { processor: id, pipeline };
  const masked = host.telemetry.counter('otelcol_processor_redaction_masked_total', 'Attribute and log body values masked or hashed by the redaction processor', ['processor', 'pipeline']);
  const redacted = host.telemetry.counter('otelcol_processor_redaction_redacted_total', 'Attribute keys removed by the redaction processor (not on allowed_keys)', ['processor', 'pipeline']);
  const redactor = new Redactor(config);
  return {
    async consume(data: SignalData[S]) {
      const pass = new Pass(redactor);
      const out = apply(pass, signal, data);
      if (pass.tally.masked > 0) masked.inc(labels, pass.tally.masked);
      if (pass.tally.redacted > 0) redacted.inc(labels, pass.tally.redacted);
      return next.consume(out);
    },
    async shutdown() {},
  };
}

function apply<S extends Signal>(pass: Pass, signal: S, data: SignalData[S]): SignalData[S] {
  switch (signal) {
    case 'traces':
      return (data as DecodedSpan[]).map((s) => pass.span(s)) as SignalData[S];
    case 'logs':
      return (data as DecodedLogRecord[]).map((r) => pass.log(r)) as SignalData[S];
    default:
      return (data as DecodedMetric[]).map((m) => pass.metric(m)) as SignalData[S];
  }
}
