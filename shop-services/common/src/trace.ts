import { trace, context } from '@opentelemetry/api';

/** The active span's trace id, or undefined outside a (sampled or unsampled) valid trace. */
export function currentTraceId(): string | undefined {
  const span = trace.getSpan(context.active());
  const sc = span?.spanContext();
  return sc && trace.isSpanContextValid(sc) ? sc.traceId : undefined;
}
