import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { OtlpProtocol } from '../config.js';

/** OTLP/HTTP span exporter: protobuf by default, JSON when OTEL_EXPORTER_OTLP_PROTOCOL=http/json. */
export function createSpanExporter(url: string, protocol: OtlpProtocol): SpanExporter {
  return protocol === 'http/json' ? new OtlpJsonExporter({ url }) : new OtlpProtoExporter({ url });
}
