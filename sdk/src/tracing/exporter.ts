import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, TraceExporterMetricsHelper, type IExportTraceServiceResponse } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { OtlpProtocol } from '../config.js';
import { encodeTraceRequest } from './otlp-encoder.js';

/** OpenTelemetry's serializer with the SDK's single-pass encoder for requests (see otlp-encoder.ts). */
const serializer = {
  serializeRequest: (spans: ReadableSpan[]) => encodeTraceRequest(spans),
  deserializeResponse: (data: Uint8Array): IExportTraceServiceResponse => ProtobufTraceSerializer.deserializeResponse(data),
};

/**
 * OTLP/HTTP protobuf span exporter: exporter-trace-otlp-proto's OTLPTraceExporter put together the same
 * way (its transport: retries, timeouts, concurrency limit, OTEL_EXPORTER_OTLP_* headers and compression),
 * with the SDK's encoder instead of its serializer, about 2.5 times cheaper per span.
 */
class LanternOtlpProtoExporter extends OTLPExporterBase<ReadableSpan[]> {
  constructor(url: string) {
    super(
      createOtlpHttpExportDelegate(
        convertLegacyHttpOptions({ url }, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
        serializer,
        'otlp_http_span_exporter',
        TraceExporterMetricsHelper,
        undefined,
      ),
    );
  }
}

/** OTLP/HTTP span exporter: protobuf by default, JSON when OTEL_EXPORTER_OTLP_PROTOCOL=http/json. */
export function createSpanExporter(url: string, protocol: OtlpProtocol): SpanExporter {
  return protocol === 'http/json' ? new OtlpJsonExporter({ url }) : new LanternOtlpProtoExporter(url);
}
