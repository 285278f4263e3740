import type { TraceFlags} from '@opentelemetry/api';
import { context, propagation, trace, isSpanContextValid, ROOT_CONTEXT, type Context, type SpanContext } from '@opentelemetry/api';

/**
 * W3C trace context in string headers, through @opentelemetry/api's global propagator (the SDK registers
 * W3C tracecontext + baggage). When no propagator is registered (a bare test process) the active span
 * context is still written and read as a plain `traceparent`, so the outbox never loses it.
 */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

function parseTraceparent(value: string | undefined): SpanContext | undefined {
  const m = value ? TRACEPARENT.exec(value.trim()) : null;
  if (!m) return undefined;
  const sc: SpanContext = { traceId: m[1] as string, spanId: m[2] as string, traceFlags: parseInt(m[3] as string, 16) as TraceFlags, isRemote: true };
  return isSpanContextValid(sc) ? sc : undefined;
}

/** The active context as headers (traceparent, tracestate, baggage when set); empty outside any trace. */
export function captureTraceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  if (!carrier.traceparent) {
    const sc = trace.getSpanContext(ctx);
    if (sc && isSpanContextValid(sc)) carrier.traceparent = formatTraceparent(sc);
  }
  return carrier;
}

/** The context stored headers describe (the root context when they carry none). */
export function contextFromHeaders(headers: Record<string, string>): Context {
  const extracted = propagation.extract(ROOT_CONTEXT, headers);
  if (trace.getSpanContext(extracted)) return extracted;
  const sc = parseTraceparent(headers.traceparent);
  return sc ? trace.setSpanContext(extracted, sc) : extracted;
}

/** The trace id in a traceparent header value, if it is one. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return parseTraceparent(traceparent)?.traceId;
}
