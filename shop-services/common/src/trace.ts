import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';

/** The active span's trace id, or undefined outside a (sampled or unsampled) valid trace. */
export function currentTraceId(): string | undefined {
  const span = trace.getSpan(context.active());
  const sc = span?.spanContext();
  return sc && trace.isSpanContextValid(sc) ? sc.traceId : undefined;
}

/**
 * Runs one background run's work in an INTERNAL span of its own, ended when the work ends; a throw
 * marks it ERROR (exception recorded) and is rethrown. The SDK traces SQL and Redis only under a
 * parent span, so this span is what makes the run's statements visible: callers open it after an
 * untraced check found work, so a poll that finds nothing leaves no trace.
 */
export function inJobSpan<T>(tracer: Tracer, name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      recordFailure(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Marks a run failed (exception and ERROR status): also for a failure the run catches and leaves for its next time. */
export function recordFailure(span: Span, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  span.recordException(err instanceof Error ? err : message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
