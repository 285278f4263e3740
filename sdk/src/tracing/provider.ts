import { NodeSDK } from '@opentelemetry/sdk-node';
import { hostDetector, processDetector } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Config } from '../config.js';
import { createSpanExporter } from './exporter.js';
import { createInstrumentations } from './instrumentations.js';
import { createResource } from './resource.js';
import { createSampler } from './sampler.js';
import { enableUndiciSpans } from './undici-spans.js';

/**
 * For OTEL_TRACES_EXPORTER=none. NodeSDK registers no tracer provider at all when it gets no span
 * processor, which would leave logs without trace ids and histograms without exemplars; this keeps
 * real (sampled, recording) spans that are simply not exported.
 */
const discardSpans: SpanProcessor = {
  onStart: () => undefined,
  onEnd: () => undefined,
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

export interface TracingHandle {
  /** Exports every finished span still buffered, then stops the exporter. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry NodeSDK for traces only. Metrics are prom-client and logs are pino,
 * so NodeSDK's own metric readers and log processors are switched off explicitly (left unset,
 * NodeSDK would create OTLP exporters for both from the environment).
 */
export function startTracing(config: Config): TracingHandle {
  const sdk = new NodeSDK({
    resource: createResource(config),
    // envDetector is left out on purpose: config.ts already parsed OTEL_RESOURCE_ATTRIBUTES with validation
    resourceDetectors: [hostDetector, processDetector],
    sampler: createSampler(config.sampler, config.samplerArg),
    spanProcessors: config.tracesExporter === 'none' ? [discardSpans] : [new BatchSpanProcessor(createSpanExporter(config.tracesEndpoint, config.otlpProtocol))],
    instrumentations: createInstrumentations(config),
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  // after start(): the client spans' tracer is the provider start() registered
  enableUndiciSpans();
  let done: Promise<void> | undefined;
  return {
    shutdown() {
      // TracerProvider.shutdown() force-flushes the BatchSpanProcessor before closing the exporter
      done ??= sdk.shutdown();
      return done;
    },
  };
}
