// Export*ServiceResponse: a 200 may still carry partial_success (some items rejected). The sender must
// not retry those; we log and count them.
import { otlpType } from '../../../otlp/codec.js';
import type { Signal } from '../../../pipeline/types.js';

const RESPONSE = {
  traces: { type: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse', field: 'rejectedSpans' },
  logs: { type: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse', field: 'rejectedLogRecords' },
  metrics: { type: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse', field: 'rejectedDataPoints' },
} as const;

export interface PartialSuccess {
  rejected: number;
  message: string;
}

/** The partial success of a 2xx response body, if it reports rejected items; unreadable bodies count as full success. */
export function partialSuccess(signal: Signal, body: Buffer, contentType: string): PartialSuccess | undefined {
  if (body.length === 0) return undefined;
  let raw: Record<string, unknown>;
  try {
    if (/^application\/json/i.test(contentType)) raw = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    else if (/^application\/(x-)?protobuf/i.test(contentType)) {
      const type = otlpType(RESPONSE[signal].type);
      raw = type.toObject(type.decode(body), { longs: String }) as Record<string, unknown>;
    } else return undefined;
  } catch {
    return undefined;
  }
  const ps = raw?.partialSuccess as Record<string, unknown> | undefined;
  if (!ps || typeof ps !== 'object') return undefined;
  const rejected = Number(ps[RESPONSE[signal].field] ?? 0);
  const message = typeof ps.errorMessage === 'string' ? ps.errorMessage : '';
  if (!(rejected > 0) && !message) return undefined;
  return { rejected: Number.isFinite(rejected) ? rejected : 0, message };
}
